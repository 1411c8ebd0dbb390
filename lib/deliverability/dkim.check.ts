import { createPrivateKey, createPublicKey, KeyObject } from 'node:crypto';
import { FixTerms, normalDomain, ok, problem, txtRecord, warning } from './check.results';
import type { DeliverabilityCheck, DeliverabilityRequest } from './deliverability.types';
import { DnsClient, DnsUnanswered } from './dns.client';
import type { Mailauth } from './mailauth.loader';

/** Receivers ignore signatures made with shorter RSA keys (RFC 8301). */
const MIN_KEY_BITS = 1024;
const RECOMMENDED_KEY_BITS = 2048;

export interface DkimContext {
  dns: DnsClient;
  terms: FixTerms;
  dkim?: DeliverabilityRequest['dkim'];
  fromDomain: string;
}

/** The `dkim` check, and the signing domain when signatures will verify (what DMARC can align on). */
export interface DkimOutcome {
  check: DeliverabilityCheck;
  verifiedDomain?: string;
}

/** The public half of the configured key as a DKIM record holds it (`p=`), with its type and size. */
function publicKeyOf(privateKey: KeyObject): { type: string; bits?: number; p: string; spki: Buffer } {
  const publicKey = createPublicKey(privateKey);
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const type = publicKey.asymmetricKeyType ?? 'rsa';
  // An Ed25519 record holds the raw 32-byte key (RFC 8463), the end of the SPKI; an RSA record the whole SPKI.
  const p = (type === 'ed25519' ? spki.subarray(-32) : spki).toString('base64');
  return { type, bits: publicKey.asymmetricKeyDetails?.modulusLength, p, spki };
}

function notConfigured(context: DkimContext): DkimOutcome {
  const { fromDomain, terms } = context;
  const fix =
    terms.dkimKey === 'dkim.privateKey'
      ? `Sign with DKIM: set dkim: { domainName: '${fromDomain}', keySelector, privateKey } and publish its public key at <keySelector>._domainkey.${fromDomain}`
      : `If your app signs with DKIM, pass ${terms.dkim} to check its key; if not, set dkim in its module options and publish the public key`;
  return {
    check: warning(
      'dkim',
      'DKIM_NOT_CONFIGURED',
      `Mail is not DKIM-signed: DMARC then rests on SPF alone (the envelope domain must align with ${fromDomain}), and SPF fails when mail is forwarded`,
      fix,
    ),
  };
}

/** The `dkim` check: the key published under the selector exists, parses, and is the public half of the configured key. */
export async function checkDkim(context: DkimContext, mailauth: Mailauth): Promise<DkimOutcome> {
  const { dkim, dns, terms } = context;
  if (!dkim) return notConfigured(context);
  const domain = normalDomain(dkim.domainName);
  const name = `${dkim.keySelector}._domainkey.${domain}`;
  const key = publicKeyOf(createPrivateKey(dkim.privateKey));
  const record = dkimKeyRecord(dkim.privateKey, name);
  const publish = `Publish the public key of ${terms.dkimKey} at ${name}`;

  const published = (await dns.txt(name)).filter((text) => /(?:^|;)\s*p=/i.test(text) || /^\s*v=DKIM1/i.test(text));
  if (published.length === 0) {
    return { check: problem('dkim', 'DKIM_RECORD_MISSING', `No DKIM key at ${name}: receivers cannot verify the signature, so DKIM fails`, publish, record) };
  }
  if (published.length > 1) {
    return {
      check: problem('dkim', 'DKIM_RECORD_INVALID', `${published.length} DKIM records at ${name}: receivers use one of them, unpredictably`, `Keep one record at ${name}: this one`, record),
    };
  }
  let found: { publicKey: string };
  try {
    found = await mailauth.getPublicKey('DKIM', name, 1, dns.resolve);
  } catch (error) {
    // mailauth's own refusals carry a code (EINVALIDVAL, …); anything else is not about the record.
    if (error instanceof DnsUnanswered || (error as { code?: string }).code === undefined) throw error;
    const revoked = /(?:^|;)\s*p=\s*(?:;|$)/i.test(published[0]);
    const why = revoked ? 'its p= is empty (the key is revoked)' : (error as Error).message.replace(/\$\{keyType\}/, 'not RSA or Ed25519');
    return { check: problem('dkim', 'DKIM_RECORD_INVALID', `The DKIM record at ${name} does not hold a usable key: ${why}`, `Replace it with the public key of ${terms.dkimKey}`, record) };
  }
  if (!createPublicKey(found.publicKey).export({ type: 'spki', format: 'der' }).equals(key.spki)) {
    return {
      check: problem(
        'dkim',
        'DKIM_KEY_MISMATCH',
        `The key at ${name} is not the public key of ${terms.dkimKey}: every signature fails`,
        `${publish} (or sign with the private key of the published one)`,
        record,
      ),
    };
  }
  const size = key.bits ? `${key.bits}-bit ` : '';
  const newKey = `Generate a ${RECOMMENDED_KEY_BITS}-bit key (openssl genrsa -out dkim.pem ${RECOMMENDED_KEY_BITS}), sign with it under a new selector and publish its public key there`;
  if (key.bits !== undefined && key.bits < MIN_KEY_BITS) {
    return { check: problem('dkim', 'DKIM_KEY_TOO_SHORT', `${name} holds a ${size}key: receivers ignore signatures made with keys under ${MIN_KEY_BITS} bits`, newKey) };
  }
  const verifiedDomain = domain;
  if (key.bits !== undefined && key.bits < RECOMMENDED_KEY_BITS) {
    return { check: warning('dkim', 'DKIM_KEY_SHORT', `${name} holds a ${size}key, which verifies, but ${RECOMMENDED_KEY_BITS} bits are recommended`, newKey), verifiedDomain };
  }
  return { check: ok('dkim', `${name}: the ${size}${key.type.toUpperCase()} key matches ${terms.dkimKey}`), verifiedDomain };
}

/** The DKIM record that publishes the public half of `privateKey` at `name`. */
export function dkimKeyRecord(privateKey: string, name: string): string {
  const key = publicKeyOf(createPrivateKey(privateKey));
  return txtRecord(name, `v=DKIM1; k=${key.type}; p=${key.p}`);
}
