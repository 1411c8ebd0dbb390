import { FixTerms, normalDomain, ok, problem, txtRecord, warning } from './check.results';
import type { DeliverabilityCheck } from './deliverability.types';
import type { DnsClient } from './dns.client';
import type { Mailauth } from './mailauth.loader';

const POLICIES = ['none', 'quarantine', 'reject'];

export interface DmarcContext {
  dns: DnsClient;
  terms: FixTerms;
  fromDomain: string;
  envelopeDomain: string;
  /** The configured DKIM signing domain and selector, if any. */
  dkim?: { domainName: string; keySelector: string };
  /** The signing domain when its signatures verify (the dkim check passed). */
  dkimVerified?: string;
  /** The DKIM record to publish for the configured key under another domain. */
  dkimRecordFor?: (domain: string) => string;
  /** The envelope domain's SPF record is usable (the spf check is not ✗). */
  spfUsable: boolean;
}

/**
 * Identifier alignment (RFC 7489, 3.1): strict is the same name; relaxed the same organisational domain by the
 * Public Suffix List, asked of mailauth in relaxed mode. Strict is compared here: mailauth 4.13's getAlignment
 * does not enforce it (its strict pass compares the signer's organisational domain, then falls back to relaxed),
 * so d=mail.acme.com would pass adkim=s for From acme.com.
 */
function aligned(mailauth: Mailauth, domain: string, fromDomain: string, strict: boolean): boolean {
  if (normalDomain(domain) === fromDomain) return true;
  return !strict && mailauth.getAlignment(fromDomain, [{ domain: normalDomain(domain) }], false) !== false;
}

/** The `dmarc` check: a policy at `_dmarc.<From domain>` (or the organisational domain), and DKIM or SPF aligned with From. */
export async function checkDmarc(context: DmarcContext, mailauth: Mailauth): Promise<DeliverabilityCheck> {
  const { dns, fromDomain } = context;
  const name = `_dmarc.${fromDomain}`;
  const suggested = txtRecord(name, `v=DMARC1; p=none; rua=mailto:postmaster@${fromDomain}`);
  const exact = (await dns.txt(name)).filter((text) => /^v=DMARC1\b/i.test(text.trim()));
  if (exact.length > 1) {
    return warning('dmarc', 'DMARC_MULTIPLE', `${exact.length} DMARC records at ${name}: receivers ignore them all`, `Keep one record at ${name}`, txtRecord(name, exact[0]));
  }
  const record = await mailauth.getDmarcRecord(fromDomain, dns.resolve);
  if (!record) {
    return warning(
      'dmarc',
      'DMARC_MISSING',
      `No DMARC record at ${name} or its organisational domain: Gmail and Yahoo require one of bulk senders, and nothing tells receivers what to do with forged mail`,
      `Publish a DMARC record; start with p=none, then move to quarantine once reports show your mail aligns`,
      suggested,
    );
  }
  const where = record.isOrgRecord ? `the organisational domain's DMARC record` : name;
  const policy = String((record.isOrgRecord && record.sp) || record.p || '').toLowerCase();
  if (!POLICIES.includes(policy)) {
    return warning('dmarc', 'DMARC_INVALID', `${where} "${record.rr}" has no valid p= (none, quarantine or reject): receivers ignore it`, 'Correct the record', suggested);
  }
  const strictDkim = String(record.adkim ?? '').toLowerCase() === 's';
  const strictSpf = String(record.aspf ?? '').toLowerCase() === 's';
  const { dkimVerified, envelopeDomain, spfUsable } = context;
  const dkimAligned = dkimVerified !== undefined && aligned(mailauth, dkimVerified, fromDomain, strictDkim);
  const spfAligned = spfUsable && aligned(mailauth, envelopeDomain, fromDomain, strictSpf);
  const mode = (strict: boolean) => (strict ? 'strict' : 'relaxed');
  if (dkimAligned || spfAligned) {
    const by = [dkimAligned && `DKIM (d=${dkimVerified}, ${mode(strictDkim)})`, spfAligned && `SPF (${envelopeDomain}, ${mode(strictSpf)})`].filter(Boolean).join(' and ');
    return ok('dmarc', `${where}: p=${policy}; ${by} ${dkimAligned && spfAligned ? 'align' : 'aligns'} with ${fromDomain}`);
  }
  const enforced = policy !== 'none';
  const found = `${where} says p=${policy}, but neither DKIM nor SPF aligns with ${fromDomain} (${whyNot(context, strictDkim, strictSpf)})${
    enforced ? `: receivers ${policy === 'reject' ? 'refuse' : 'junk'} your mail` : ': with a stricter policy your mail would be junked'
  }`;
  const { fix, record: toPublish } = alignmentFix(context, strictDkim, mailauth);
  return enforced ? problem('dmarc', 'DMARC_NOT_ALIGNED', found, fix, toPublish) : warning('dmarc', 'DMARC_NOT_ALIGNED', found, fix, toPublish);
}

/** Why neither identifier aligns, in a few words each. */
function whyNot(context: DmarcContext, strictDkim: boolean, strictSpf: boolean): string {
  const { dkim, dkimVerified, fromDomain, envelopeDomain, spfUsable } = context;
  const dkimWhy = !dkim
    ? 'mail is not DKIM-signed'
    : dkimVerified === undefined
      ? `the DKIM signature of ${dkim.domainName} does not verify`
      : `DKIM signs as ${dkimVerified}${strictDkim ? ' (adkim=s wants exactly ' + fromDomain + ')' : ''}`;
  const spfWhy = !spfUsable ? `${envelopeDomain} has no usable SPF record` : `SPF covers ${envelopeDomain}${strictSpf ? ' (aspf=s wants exactly ' + fromDomain + ')' : ''}`;
  return `${dkimWhy}; ${spfWhy}`;
}

/** What makes mail align: DKIM signed as the From domain (preferred: it survives forwarding), else an aligned envelope. */
function alignmentFix(context: DmarcContext, strictDkim: boolean, mailauth: Mailauth): { fix: string; record?: string } {
  const { dkim, dkimVerified, fromDomain, envelopeDomain, terms, spfUsable } = context;
  const spfWay = aligned(mailauth, envelopeDomain, fromDomain, false)
    ? spfUsable
      ? ''
      : `; or fix the SPF record of ${envelopeDomain} (see the spf check)`
    : `; or send with a bounce address on ${fromDomain} (${terms.bounceAddress}) that its SPF covers`;
  if (!dkim) return { fix: `Sign with DKIM as ${fromDomain} (${terms.dkim})${spfWay}` };
  const signsAligned = aligned(mailauth, dkim.domainName, fromDomain, strictDkim);
  if (signsAligned && dkimVerified === undefined) return { fix: `Fix the DKIM key (see the dkim check): its domain aligns with ${fromDomain}${spfWay}` };
  return {
    fix: `Sign as ${fromDomain}: set ${terms.dkimDomain} to ${fromDomain} and publish the key at ${dkim.keySelector}._domainkey.${fromDomain}${spfWay}`,
    record: context.dkimRecordFor?.(`${dkim.keySelector}._domainkey.${fromDomain}`),
  };
}
