import type { DnsClient, DnsUnanswered } from './dns.client';
import type { DeliverabilityCheck, DeliverabilityCheckName, DeliverabilityCode, FixAudience } from './deliverability.types';

/** A TXT string holds at most 255 bytes (RFC 1035, 3.3): longer values are published as several strings. */
const TXT_STRING_BYTES = 255;

/** How a fix names a setting: the module option for the API, the doctor's flag for the CLI. */
export interface FixTerms {
  dkim: string;
  dkimKey: string;
  dkimDomain: string;
  bounceAddress: string;
  dnsServers: string;
  transportHost: string;
}

const TERMS: Record<FixAudience, FixTerms> = {
  api: {
    dkim: 'dkim: { domainName, keySelector, privateKey }',
    dkimKey: 'dkim.privateKey',
    dkimDomain: 'dkim.domainName',
    bounceAddress: 'bounces.address',
    dnsServers: 'dns.servers',
    transportHost: 'transport.host',
  },
  cli: {
    dkim: '--dkim-selector and --dkim-key-file',
    dkimKey: '--dkim-key-file',
    dkimDomain: '--dkim-domain',
    bounceAddress: '--bounce-address',
    dnsServers: '--dns',
    transportHost: 'the host in --url',
  },
};

export function termsFor(audience: FixAudience): FixTerms {
  return TERMS[audience];
}

export function ok(check: DeliverabilityCheckName, found: string): DeliverabilityCheck {
  return { check, status: 'ok', found };
}

export function warning(check: DeliverabilityCheckName, code: DeliverabilityCode, found: string, fix: string, record?: string): DeliverabilityCheck {
  return { check, status: 'warning', code, found, fix, ...(record !== undefined && { record }) };
}

export function problem(check: DeliverabilityCheckName, code: DeliverabilityCode, found: string, fix: string, record?: string): DeliverabilityCheck {
  return { check, status: 'problem', code, found, fix, ...(record !== undefined && { record }) };
}

/** A check that could not be made because the DNS server did not answer, or answered with an error. */
export function unansweredCheck(check: DeliverabilityCheckName, error: DnsUnanswered, dns: DnsClient, terms: FixTerms): DeliverabilityCheck {
  if (error.timedOut) {
    return problem(
      check,
      'DNS_TIMEOUT',
      `No answer from ${dns.describe()} within ${dns.timeoutMs} ms (${error.query})`,
      `Check that this DNS server answers from here, or point ${terms.dnsServers} at one that does (e.g. 1.1.1.1)`,
    );
  }
  return problem(
    check,
    'DNS_FAILED',
    `${dns.describe()} answered ${error.code} (${error.query})`,
    `Check the zone at your DNS provider, or try another resolver with ${terms.dnsServers}`,
  );
}

/** A name as a zone file writes it: fully qualified, with the final dot. */
function fqdn(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}

/**
 * A TXT record in zone-file form, its value split into strings of at most 255 bytes (a 2048-bit DKIM key does not
 * fit in one). DNS panels that take the value in one field join the strings themselves: paste it without the quotes.
 */
export function txtRecord(name: string, value: string): string {
  const strings = value.match(new RegExp(`.{1,${TXT_STRING_BYTES}}`, 'g')) ?? [''];
  return `${fqdn(name)} TXT ${strings.map((part) => `"${part}"`).join(' ')}`;
}

export function mxRecord(name: string, exchange: string): string {
  return `${fqdn(name)} MX 10 ${exchange}`;
}

/** The in-addr.arpa / ip6.arpa name of an address (where its PTR record lives). */
export function reverseNameOf(address: string): string {
  if (!address.includes(':')) return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
  const [head, tail = ''] = address.split('::');
  const groups = (part: string) => (part ? part.split(':') : []);
  const zeros = Array<string>(8 - groups(head).length - groups(tail).length).fill('0');
  const hex = [...groups(head), ...zeros, ...groups(tail)].map((group) => group.padStart(4, '0')).join('');
  return `${hex.split('').reverse().join('.')}.ip6.arpa`;
}

export function ptrRecord(address: string, name: string): string {
  return `${fqdn(reverseNameOf(address))} PTR ${fqdn(name)}`;
}

/** A domain as compared: lower case, without a final dot. */
export function normalDomain(domain: string): string {
  return domain.trim().toLowerCase().replace(/\.$/, '');
}

/** The domain of an address (after its last @). */
export function domainOf(address: string): string {
  return normalDomain(address.slice(address.lastIndexOf('@') + 1));
}
