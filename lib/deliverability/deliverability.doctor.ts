import { domainOf, normalDomain, termsFor, unansweredCheck } from './check.results';
import type { DeliverabilityCheck, DeliverabilityCheckName, DeliverabilityDiagnosis, DeliverabilityRequest } from './deliverability.types';
import { checkDkim, DkimOutcome, dkimKeyRecord } from './dkim.check';
import { checkDmarc } from './dmarc.check';
import { DnsClient, DnsUnanswered } from './dns.client';
import { checkBounces, checkEhlo, checkSmtpHost, ehloNameOf, hostNeedsLookup, SmtpHostOutcome } from './host.checks';
import { loadMailauth, Mailauth } from './mailauth.loader';
import { checkSpf, checkSpfHost } from './spf.check';

/**
 * Checks the DNS of the sending domains the way receivers do: SPF of the envelope domain, the DKIM key, DMARC and
 * alignment with From, that bounces can come back, and the SMTP host's reverse DNS and EHLO name. Each check says
 * what it found and, when it is not ✓, what to change (a DNS record to publish where that is the fix).
 *
 * Every query is bounded by `dns.timeoutMs`; the answers every check needs first are asked at once, so a server
 * that never answers ends the diagnosis after about one timeout, each check it cost named DNS_TIMEOUT.
 */
export async function diagnoseDeliverability(request: DeliverabilityRequest): Promise<DeliverabilityDiagnosis> {
  const mailauth = loadMailauth();
  const dns = new DnsClient(request.dns.servers, request.dns.timeoutMs);
  try {
    return await diagnoseWith(request, mailauth, dns);
  } finally {
    dns.close();
  }
}

async function diagnoseWith(request: DeliverabilityRequest, mailauth: Mailauth, dns: DnsClient): Promise<DeliverabilityDiagnosis> {
  const terms = termsFor(request.audience);
  const fromDomain = domainOf(request.from);
  const envelopeFrom = request.bounceAddress ?? request.from;
  const envelopeDomain = domainOf(envelopeFrom);
  const { dkim, smtp } = request;

  /** A check, or what the DNS server's silence or error cost it. */
  const guarded = async <T>(name: DeliverabilityCheckName, run: () => Promise<T>, failed: (check: DeliverabilityCheck) => T): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      if (error instanceof DnsUnanswered) return failed(unansweredCheck(name, error, dns, terms));
      throw error;
    }
  };

  // The first answer of each check, asked together (errors are the checks' to report, from the shared answers).
  const first: Array<Promise<unknown>> = [dns.txt(envelopeDomain), dns.txt(`_dmarc.${fromDomain}`), dns.mx(envelopeDomain)];
  if (dkim) first.push(dns.txt(`${dkim.keySelector}._domainkey.${normalDomain(dkim.domainName)}`));
  if (smtp && hostNeedsLookup(smtp.host)) first.push(dns.addresses(smtp.host));
  first.forEach((answer) => answer.catch(() => undefined));

  const hostTask: Promise<SmtpHostOutcome | undefined> = smtp
    ? guarded('smtp-host', () => checkSmtpHost(dns, terms, smtp.host), (check) => ({ check, publicAddresses: [] }))
    : Promise.resolve(undefined);
  const dkimTask = guarded<DkimOutcome>('dkim', () => checkDkim({ dns, terms, dkim, fromDomain }, mailauth), (check) => ({ check }));
  const bouncesTask = guarded('bounces', () => checkBounces(dns, terms, envelopeDomain, request.bounceAddress !== undefined), (check) => check);

  const host = await hostTask;
  const ehlo = smtp ? ehloNameOf(smtp.name) : undefined;
  const spfContext = {
    dns,
    terms,
    envelopeFrom,
    envelopeDomain,
    smtp: smtp && { host: smtp.host, publicAddresses: host?.publicAddresses ?? [], ehlo: ehlo as string },
  };
  const spf = await guarded('spf', () => checkSpf(spfContext), (check): Awaited<ReturnType<typeof checkSpf>> => ({ check }));
  const spfUsable = spf.check.status !== 'problem';
  const spfHost =
    spfUsable && spf.record !== undefined
      ? await guarded('spf-host', () => checkSpfHost(spfContext, spf.record as string, mailauth), (check) => check)
      : undefined;
  const dkimOutcome = await dkimTask;
  const dmarc = await guarded(
    'dmarc',
    () =>
      checkDmarc(
        {
          dns,
          terms,
          fromDomain,
          envelopeDomain,
          dkim,
          dkimVerified: dkimOutcome.verifiedDomain,
          dkimRecordFor: dkim && ((name: string) => dkimKeyRecord(dkim.privateKey, name)),
          spfUsable,
        },
        mailauth,
      ),
    (check) => check,
  );
  const checks = [spf.check, spfHost, dkimOutcome.check, dmarc, await bouncesTask, host?.check, ehlo === undefined ? undefined : checkEhlo(ehlo, fromDomain)].filter(
    (check): check is DeliverabilityCheck => check !== undefined,
  );
  return {
    ok: checks.every((check) => check.status !== 'problem'),
    fromDomain,
    envelopeDomain,
    dnsServers: request.dns.servers && request.dns.servers.length > 0 ? [...request.dns.servers] : 'system',
    checks,
  };
}
