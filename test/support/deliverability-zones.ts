import { generateKeyPairSync } from 'node:crypto';
import { hostname } from 'node:os';
import type { DeliverabilityCheck, DeliverabilityDiagnosis } from 'nestjs-email-workflow';
import type { DnsRecord } from './dns-server';

/*
 * The test domains of the deliverability specs (issue 23), each with one thing wrong (or nothing), served by a
 * ThrowawayDns. Addresses are from the documentation ranges (RFC 5737): public-looking, never routed.
 */

/** A DKIM key pair: the PEM private key the app signs with, and the `p=` value of its DNS record. */
export interface DkimKey {
  privateKey: string;
  p: string;
}

export function dkimKey(bits = 2048): DkimKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    p: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  };
}

/** The base64 body of a PEM key: what must never appear in any output. */
export function pemBody(pem: string): string {
  return pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
}

export const SELECTOR = 's1';
/** The SMTP servers the test transports name (never connected to: the checks only look them up). */
export const SMTP = {
  good: { host: 'smtp.good.test', address: '192.0.2.25' },
  /** Its PTR names another host, which resolves elsewhere. */
  ptrMismatch: { host: 'smtp.ptr.test', address: '192.0.2.26' },
  /** Forward-confirmed, but outside the range the SPF records list. */
  outside: { host: 'smtp.outside.test', address: '198.51.100.7' },
};
export const PROVIDER_SPF = 'v=spf1 ip4:192.0.2.0/24 -all';
export const GOOD_SPF = 'v=spf1 include:_spf.provider.test ~all';

export interface Zones {
  records: DnsRecord[];
  /** The key good.test (and most domains) publish; the app signs with it. */
  key: DkimKey;
  /** A key published nowhere: mismatch.test's record holds another one. */
  otherKey: DkimKey;
  /** A 1024-bit key, published at short.test. */
  shortKey: DkimKey;
}

const txt = (name: string, value: string): DnsRecord => ({ type: 'TXT', name, value });
const dkimRecord = (domain: string, key: DkimKey): DnsRecord => txt(`${SELECTOR}._domainkey.${domain}`, `v=DKIM1; k=rsa; p=${key.p}`);
const mx = (name: string): DnsRecord => ({ type: 'MX', name, exchange: 'mx.good.test', priority: 10 });

/** A domain with a good SPF record, the key, a DMARC record and an MX; `overrides` replace what it says. */
function domain(name: string, key: DkimKey, dmarc = 'v=DMARC1; p=none'): DnsRecord[] {
  return [txt(name, GOOD_SPF), dkimRecord(name, key), txt(`_dmarc.${name}`, dmarc), mx(name)];
}

export function deliverabilityZones(): Zones {
  const key = dkimKey();
  const otherKey = dkimKey();
  const shortKey = dkimKey(1024);
  const records: DnsRecord[] = [
    // The provider every good record includes, and the hosts.
    txt('_spf.provider.test', PROVIDER_SPF),
    { type: 'A', name: SMTP.good.host, address: SMTP.good.address },
    { type: 'PTR', address: SMTP.good.address, name: SMTP.good.host },
    { type: 'A', name: SMTP.ptrMismatch.host, address: SMTP.ptrMismatch.address },
    { type: 'PTR', address: SMTP.ptrMismatch.address, name: 'mail.elsewhere.test' },
    { type: 'A', name: 'mail.elsewhere.test', address: '192.0.2.99' },
    { type: 'A', name: SMTP.outside.host, address: SMTP.outside.address },
    { type: 'PTR', address: SMTP.outside.address, name: SMTP.outside.host },
    { type: 'A', name: 'mx.good.test', address: '192.0.2.30' },

    // good.test: everything right, DMARC at its strictest.
    ...domain('good.test', key, 'v=DMARC1; p=reject; adkim=s; aspf=s; rua=mailto:dmarc@good.test'),
    // nospf.test: no SPF record.
    dkimRecord('nospf.test', key),
    txt('_dmarc.nospf.test', 'v=DMARC1; p=none'),
    mx('nospf.test'),
    // twospf.test: two SPF records.
    ...domain('twospf.test', key),
    txt('twospf.test', 'v=spf1 ip4:198.51.100.7 -all'),
    // deep.test: 12 lookups, no record over 4: 2 + a (4) + a1 (1) + a2 (1) + b (2) + b1 (2).
    ...domain('deep.test', key).filter((record) => !(record.type === 'TXT' && record.name === 'deep.test')),
    txt('deep.test', 'v=spf1 include:a.spf-deep.test include:b.spf-deep.test ~all'),
    txt('a.spf-deep.test', 'v=spf1 include:a1.spf-deep.test include:a2.spf-deep.test a mx -all'),
    txt('a1.spf-deep.test', 'v=spf1 a:x.spf-deep.test ip4:203.0.113.0/24 -all'),
    txt('a2.spf-deep.test', 'v=spf1 exists:y.spf-deep.test -all'),
    txt('b.spf-deep.test', 'v=spf1 include:b1.spf-deep.test mx:z.spf-deep.test -all'),
    txt('b1.spf-deep.test', 'v=spf1 a mx -all'),
    // ten.test: exactly 10 lookups: 2 + a (3) + b (5); the provider's and c's records take none.
    ...domain('ten.test', key).filter((record) => !(record.type === 'TXT' && record.name === 'ten.test')),
    txt('ten.test', 'v=spf1 include:a.spf-ten.test include:b.spf-ten.test ~all'),
    txt('a.spf-ten.test', 'v=spf1 include:_spf.provider.test a mx -all'),
    txt('b.spf-ten.test', 'v=spf1 a mx ptr exists:e.spf-ten.test include:c.spf-ten.test -all'),
    txt('c.spf-ten.test', 'v=spf1 ip4:203.0.113.0/24 -all'),
    // plusall.test: lets everyone send.
    ...domain('plusall.test', key).filter((record) => !(record.type === 'TXT' && record.name === 'plusall.test')),
    txt('plusall.test', 'v=spf1 include:_spf.provider.test +all'),
    // mismatch.test: the published key is not the one the app signs with.
    ...domain('mismatch.test', otherKey, 'v=DMARC1; p=quarantine'),
    // revoked.test: the key record is there, with an empty p= (a revoked key).
    ...domain('revoked.test', key).filter((record) => !(record.type === 'TXT' && record.name.endsWith('_domainkey.revoked.test'))),
    txt(`${SELECTOR}._domainkey.revoked.test`, 'v=DKIM1; k=rsa; p='),
    // short.test: a 1024-bit key.
    ...domain('short.test', shortKey),
    // reject.test: p=reject, signed as signer.test, bounces to bounce-host.test: nothing aligns.
    txt('reject.test', GOOD_SPF),
    txt('_dmarc.reject.test', 'v=DMARC1; p=reject'),
    mx('reject.test'),
    dkimRecord('signer.test', key),
    txt('bounce-host.test', GOOD_SPF),
    mx('bounce-host.test'),
    // strict.test: adkim=s, signed as mail.strict.test (aligned only in relaxed mode), bounces to bounce-host.test.
    txt('strict.test', GOOD_SPF),
    txt('_dmarc.strict.test', 'v=DMARC1; p=reject; adkim=s'),
    mx('strict.test'),
    dkimRecord('mail.strict.test', key),
    // nomx.test: a bounce domain that receives no mail (an SPF record, nothing else).
    txt('nomx.test', GOOD_SPF),
    // Malformed SPF: a bad address, an include that loops back, an include of a domain without SPF.
    ...['badip.test', 'loop.spf.test', 'noinclude.test'].flatMap((name) => domain(name, key).filter((record) => !(record.type === 'TXT' && record.name === name))),
    txt('badip.test', 'v=spf1 ip4:192.0.2.300 include:_spf.provider.test ~all'),
    txt('loop.spf.test', 'v=spf1 include:back.spf.test ~all'),
    txt('back.spf.test', 'v=spf1 ip4:203.0.113.9 include:loop.spf.test -all'),
    txt('noinclude.test', 'v=spf1 include:nothing-here.test ~all'),
  ];
  return { records, key, otherKey, shortKey };
}

/** Each check as `check status code` (code only when not ✓), in order: the whole verdict in one comparable list. */
export function verdicts(diagnosis: DeliverabilityDiagnosis, without: string[] = ['ehlo']): string[] {
  return diagnosis.checks
    .filter((check) => !without.includes(check.check))
    .map((check) => [check.check, check.status, check.code].filter(Boolean).join(' '));
}

export function checkOf(diagnosis: DeliverabilityDiagnosis, name: DeliverabilityCheck['check']): DeliverabilityCheck {
  const found = diagnosis.checks.find((check) => check.check === name);
  if (!found) throw new Error(`no ${name} check in ${JSON.stringify(diagnosis.checks.map((check) => check.check))}`);
  return found;
}

/** What the ehlo check must say on this machine: nodemailer sends the host name when it has a dot, else [127.0.0.1]. */
export function expectedEhlo(): string {
  return hostname().includes('.') ? 'ehlo ok' : 'ehlo warning EHLO_NOT_FQDN';
}

/** A TXT record in zone-file form as the fixes write it, split into strings of 255 characters. */
export function zoneTxt(name: string, value: string): string {
  return `${name}. TXT ${(value.match(/.{1,255}/g) ?? []).map((part) => `"${part}"`).join(' ')}`;
}
