import { DependencyMissingError } from '../errors';
import { requireOptional } from '../optional-packages';

/** mailauth's resolver option: `dns.promises.resolve`'s signature. */
type Resolve = (name: string, type: string) => Promise<unknown[]>;

/** What mailauth's SPF evaluation returns, as far as the checks read it. */
export interface SpfEvaluation {
  status: { result: 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'permerror' | 'temperror'; comment?: string };
}

/** What mailauth's getDmarcRecord returns: the record's tags, lower-cased keys; false when there is none. */
export type DmarcRecord = Record<string, string | number | boolean> & { rr: string; isOrgRecord: boolean };

/** The parts of mailauth (MIT) the checks use, with the types they are used with. */
export interface Mailauth {
  spf(options: { sender: string; ip: string; helo?: string; mta: string; resolver: Resolve }): Promise<SpfEvaluation>;
  getDmarcRecord(domain: string, resolver: Resolve): Promise<DmarcRecord | false>;
  /** The DKIM key record at `name`, parsed and checked (base64, version, key type); rejects with a code otherwise. */
  getPublicKey(type: 'DKIM', name: string, minBitLength: number, resolver: Resolve): Promise<{ publicKey: string; modulusLength?: number }>;
  /** The entry of `domains` aligned with `fromDomain` in relaxed mode (same organisational domain, by the Public Suffix List). */
  getAlignment(fromDomain: string, domains: Array<{ domain: string }>, strict: false): { domain: string } | false;
}

let loaded: Mailauth | undefined;

/**
 * mailauth, an optional peer: loaded with the first deliverability diagnosis, never when the library is imported.
 * Its SPF, DMARC and key-record modules are loaded alone, not its main entry, which loads ARC, BIMI and an HTTP
 * client the checks do not use.
 */
export function loadMailauth(): Mailauth {
  loaded ??= requireOptional(
    'mailauth/lib/spf',
    () => {
      const tools = require('mailauth/lib/tools') as Pick<Mailauth, 'getPublicKey' | 'getAlignment'>;
      return {
        spf: (require('mailauth/lib/spf') as Pick<Mailauth, 'spf'>).spf,
        getDmarcRecord: require('mailauth/lib/dmarc/get-dmarc-record') as Mailauth['getDmarcRecord'],
        getPublicKey: tools.getPublicKey,
        getAlignment: tools.getAlignment,
      };
    },
    () => new DependencyMissingError('mailauth', 'The deliverability checks (SPF, DKIM, DMARC)'),
  );
  return loaded;
}
