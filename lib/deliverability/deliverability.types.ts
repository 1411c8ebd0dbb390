/** ✓ nothing to change, ⚠ mail may go to junk or the check could not tell, ✗ mail will be junked or refused. */
export type DeliverabilityStatus = 'ok' | 'warning' | 'problem';

/**
 * What a check looks at:
 * - `spf`: the SPF record of the envelope domain (the bounce address's domain, else From's).
 * - `spf-host`: whether the SMTP server's own addresses pass that record.
 * - `dkim`: the DKIM key published at `<selector>._domainkey.<domain>` against the configured private key.
 * - `dmarc`: the From domain's DMARC policy, and whether DKIM or SPF aligns with From.
 * - `bounces`: the envelope domain receives mail (MX, else A/AAAA), so bounces come back.
 * - `smtp-host`: the SMTP server's name resolves, and its addresses have a PTR that resolves back.
 * - `ehlo`: the name sent in EHLO is fully qualified.
 */
export type DeliverabilityCheckName = 'spf' | 'spf-host' | 'dkim' | 'dmarc' | 'bounces' | 'smtp-host' | 'ehlo';

/** Why a check is not ✓, stable for matching (the texts are for people). */
export type DeliverabilityCode =
  | 'SPF_MISSING'
  | 'SPF_MULTIPLE'
  | 'SPF_INVALID'
  | 'SPF_TOO_MANY_LOOKUPS'
  | 'SPF_PASS_ALL'
  | 'SPF_NEUTRAL_ALL'
  | 'SPF_HOST_NOT_PERMITTED'
  | 'DKIM_NOT_CONFIGURED'
  | 'DKIM_RECORD_MISSING'
  | 'DKIM_RECORD_INVALID'
  | 'DKIM_KEY_MISMATCH'
  | 'DKIM_KEY_TOO_SHORT'
  | 'DKIM_KEY_SHORT'
  | 'DMARC_MISSING'
  | 'DMARC_MULTIPLE'
  | 'DMARC_INVALID'
  | 'DMARC_NOT_ALIGNED'
  | 'BOUNCES_NO_MX'
  | 'SMTP_HOST_UNRESOLVED'
  | 'SMTP_HOST_PRIVATE'
  | 'PTR_MISSING'
  | 'PTR_MISMATCH'
  | 'EHLO_NOT_FQDN'
  /** The DNS server did not answer within `dns.timeout`: the check could not be made. */
  | 'DNS_TIMEOUT'
  /** The DNS server answered with an error (SERVFAIL, REFUSED, …): the check could not be made. */
  | 'DNS_FAILED';

/** One check of a deliverability diagnosis. */
export interface DeliverabilityCheck {
  check: DeliverabilityCheckName;
  status: DeliverabilityStatus;
  /** Why it is ⚠ or ✗; absent when ✓. */
  code?: DeliverabilityCode;
  /** What was found, in plain words (records quoted). */
  found: string;
  /** What to change, in the caller's terms (module options for the API, flags for the CLI); absent when ✓. */
  fix?: string;
  /** The DNS record to publish, in zone-file form, when that is the fix. */
  record?: string;
}

/** Result of `diagnoseDeliverability()`: the DNS of the sending domains, checked the way receivers check it. */
export interface DeliverabilityDiagnosis {
  /** No check is ✗ (⚠ do not count). */
  ok: boolean;
  /** The domain of From, which DMARC protects. */
  fromDomain: string;
  /** The domain of the envelope sender (Return-Path): the bounce address's, else From's. SPF is checked on it. */
  envelopeDomain: string;
  /** The DNS servers asked, or `system` for the system's resolver. */
  dnsServers: string[] | 'system';
  checks: DeliverabilityCheck[];
}

/** Who reads the fixes: `api` names module options, `cli` the doctor's flags. */
export type FixAudience = 'api' | 'cli';

/** What a deliverability diagnosis checks: the sending identity, and how mail leaves. */
export interface DeliverabilityRequest {
  /** From's bare address. */
  from: string;
  /** The bounce address (envelope sender) when mail is sent with one. */
  bounceAddress?: string;
  /** The DKIM signing settings, when mail is signed. */
  dkim?: { domainName: string; keySelector: string; privateKey: string };
  /** The SMTP server mail goes out through, with the EHLO name nodemailer sends it when one is set. */
  smtp?: { host: string; name?: string };
  dns: { servers?: string[]; timeoutMs: number };
  audience: FixAudience;
}
