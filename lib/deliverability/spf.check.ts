import { isIPv6 } from 'node:net';
import { FixTerms, ok, problem, txtRecord, warning } from './check.results';
import type { DeliverabilityCheck } from './deliverability.types';
import type { DnsClient } from './dns.client';
import type { Mailauth } from './mailauth.loader';
import { editedRecord, isSpfRecord, mergedRecord, SPF_LOOKUP_LIMIT, spfTerms, SpfTerm, walkSpf } from './spf.record';

/** The SPF domains of well-known SMTP services, by the host name one sends through: their own documented include. */
const PROVIDER_SPF: Array<[RegExp, string]> = [
  [/(?:^|\.)(?:gmail|googlemail|google)\.com$/, '_spf.google.com'],
  [/(?:^|\.)(?:office365|outlook)\.com$/, 'spf.protection.outlook.com'],
  [/(?:^|\.)sendgrid\.net$/, 'sendgrid.net'],
  [/(?:^|\.)mailgun\.org$/, 'mailgun.org'],
  [/^email-smtp\.[a-z0-9-]+\.amazonaws\.com$/, 'amazonses.com'],
  [/(?:^|\.)postmarkapp\.com$/, 'spf.mtasv.net'],
];

/** What the SPF checks know of how mail leaves. */
export interface SpfContext {
  dns: DnsClient;
  terms: FixTerms;
  /** The envelope sender, whose domain's record is checked. */
  envelopeFrom: string;
  envelopeDomain: string;
  /** The SMTP server, and the public addresses it resolved to (none when unknown or private). */
  smtp?: { host: string; publicAddresses: string[]; ehlo: string };
}

/** The mechanism a new record should start with: the provider's include, else the SMTP server's own addresses. */
function sendersOf(smtp: SpfContext['smtp']): string {
  const host = smtp?.host.toLowerCase() ?? '';
  const provider = PROVIDER_SPF.find(([pattern]) => pattern.test(host));
  if (provider) return `include:${provider[1]}`;
  if (smtp && smtp.publicAddresses.length > 0) return smtp.publicAddresses.map((address) => `${isIPv6(address) ? 'ip6' : 'ip4'}:${address}`).join(' ');
  return "include:<your mail provider's SPF domain>";
}

/** The `spf` check: one valid record, within the lookup limit, that does not let everyone send. */
export async function checkSpf(context: SpfContext): Promise<{ check: DeliverabilityCheck; record?: string }> {
  const { dns, envelopeDomain: domain } = context;
  const records = (await dns.txt(domain)).filter(isSpfRecord);
  if (records.length === 0) {
    return {
      check: problem(
        'spf',
        'SPF_MISSING',
        `${domain} has no SPF record: receivers cannot tell your servers from a forger's, and Gmail and Yahoo junk or refuse such mail`,
        `Publish an SPF record for ${domain} listing the servers your mail leaves from`,
        txtRecord(domain, `v=spf1 ${sendersOf(context.smtp)} ~all`),
      ),
    };
  }
  if (records.length > 1) {
    return {
      check: problem(
        'spf',
        'SPF_MULTIPLE',
        `${domain} has ${records.length} SPF records (${records.map((record) => `"${record}"`).join(', ')}): receivers then fail SPF for every message (permerror)`,
        'Replace them with one record that lists every sender',
        txtRecord(domain, mergedRecord(records)),
      ),
    };
  }
  const [record] = records;
  let terms: SpfTerm[];
  try {
    terms = spfTerms(record);
  } catch (error) {
    return { check: invalid(domain, record, (error as Error).message) };
  }
  const walk = await walkSpf(dns, domain, terms);
  if (walk.invalid) return { check: invalid(domain, record, walk.invalid) };
  const counted = `${walk.stopped ? 'over ' : ''}${walk.lookups}`;
  if (walk.lookups > SPF_LOOKUP_LIMIT) {
    return {
      check: problem(
        'spf',
        'SPF_TOO_MANY_LOOKUPS',
        `"${record}" takes ${counted} DNS lookups, counting those of every include: over the limit of ${SPF_LOOKUP_LIMIT}, receivers fail SPF (permerror)`,
        'Remove the includes of services you no longer send through, or replace an include by the ip4:/ip6: ranges it lists',
      ),
      record,
    };
  }
  const all = terms.find((term) => term.kind === 'mechanism' && term.name === 'all');
  if (all?.qualifier === '+') {
    return {
      check: problem('spf', 'SPF_PASS_ALL', `"${record}" ends in ${all.text}: every server on the Internet may send as ${domain}`, 'End the record with ~all (or -all)', txtRecord(domain, editedRecord(record, { all: '~all' }))),
    };
  }
  const redirected = terms.some((term) => term.kind === 'modifier' && term.name === 'redirect');
  if (all?.qualifier === '?' || (!all && !redirected)) {
    return {
      check: warning(
        'spf',
        'SPF_NEUTRAL_ALL',
        `"${record}" ${all ? `ends in ${all.text}` : 'has no all'}: other servers get a neutral verdict, so forged mail is not marked`,
        'End the record with ~all (or -all)',
        txtRecord(domain, editedRecord(record, { all: '~all' })),
      ),
      record,
    };
  }
  return { check: ok('spf', `${domain}: "${record}" (${counted} of ${SPF_LOOKUP_LIMIT} DNS lookups)`), record };
}

function invalid(domain: string, record: string, why: string): DeliverabilityCheck {
  return problem('spf', 'SPF_INVALID', `${domain}'s SPF record "${record}" is malformed: ${why}; receivers fail SPF (permerror)`, 'Correct the record (RFC 7208 syntax)');
}

/**
 * The `spf-host` check: the SMTP server's public addresses evaluated against the record by mailauth, as a
 * receiver would. A warning only: a relay or provider often sends from addresses other than the one we connect to.
 */
export async function checkSpfHost(context: SpfContext, record: string, mailauth: Mailauth): Promise<DeliverabilityCheck | undefined> {
  const { smtp, dns, envelopeDomain: domain } = context;
  if (!smtp || smtp.publicAddresses.length === 0) return undefined;
  const verdicts = await Promise.all(
    smtp.publicAddresses.map(async (ip) => {
      const evaluation = await mailauth.spf({ sender: context.envelopeFrom, ip, helo: smtp.ehlo, mta: 'nestjs-email-workflow', resolver: dns.resolve });
      return { ip, result: evaluation.status.result };
    }),
  );
  const failing = verdicts.find((verdict) => verdict.result !== 'pass');
  if (!failing) return ok('spf-host', `${smtp.publicAddresses.join(', ')} (${smtp.host}) ${verdicts.length > 1 ? 'pass' : 'passes'} ${domain}'s SPF`);
  if (failing.result === 'temperror' && dns.unanswered) throw dns.unanswered;
  const mechanism = `${isIPv6(failing.ip) ? 'ip6' : 'ip4'}:${failing.ip}`;
  return warning(
    'spf-host',
    'SPF_HOST_NOT_PERMITTED',
    `${failing.ip} (${smtp.host}) gets "${failing.result}" from ${domain}'s SPF`,
    `If your mail leaves from ${smtp.host} itself, add ${mechanism} to the record. A relay or provider usually sends from other addresses: then include its SPF domain instead (receivers check the address that connects to them)`,
    txtRecord(domain, editedRecord(record, { add: mechanism })),
  );
}
