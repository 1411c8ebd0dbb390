import { BlockList, isIP } from 'node:net';
import { hostname } from 'node:os';
import { FixTerms, mxRecord, ok, problem, ptrRecord, reverseNameOf, warning } from './check.results';
import type { DeliverabilityCheck } from './deliverability.types';
import type { DnsClient } from './dns.client';

/** Addresses no receiver ever sees mail come from: the mail leaves through something else, with a public address. */
const UNSEEN = new BlockList();
for (const [network, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16]] as const) {
  UNSEEN.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [['::', 127], ['fc00::', 7], ['fe80::', 10]] as const) UNSEEN.addSubnet(network, prefix, 'ipv6');

function isUnseen(address: string): boolean {
  return UNSEEN.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

/** At most this many of the SMTP host's addresses, and of each one's PTR names, are followed. */
const MAX_FOLLOWED = 4;
const FQDN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/i;

/** The `bounces` check: the envelope domain receives mail, so bounces and replies to it come back. */
export async function checkBounces(dns: DnsClient, terms: FixTerms, domain: string, bounceAddress: boolean): Promise<DeliverabilityCheck> {
  const exchanges = await dns.mx(domain);
  if (exchanges.length > 0) {
    if (exchanges.every((mx) => mx.exchange === '' || mx.exchange === '.')) {
      return problem('bounces', 'BOUNCES_NO_MX', `${domain} has a null MX: it says it receives no mail, so bounces are lost`, `Point ${domain}'s MX at the server that receives its mail`, mxRecord(domain, '<your inbound mail server>.'));
    }
    const list = [...exchanges].sort((a, b) => a.priority - b.priority).map((mx) => `${mx.exchange} (${mx.priority})`);
    return ok('bounces', `${domain} receives mail: MX ${list.join(', ')}`);
  }
  const addresses = await dns.addresses(domain);
  if (addresses.length > 0) return ok('bounces', `${domain} has no MX; mail to it goes to its address ${addresses[0]} (implicit MX)`);
  return problem(
    'bounces',
    'BOUNCES_NO_MX',
    `${domain} has no MX (nor A/AAAA) record: bounces cannot come back, and many receivers refuse mail from a domain that cannot receive replies`,
    `Publish an MX record for ${domain} pointing at the server that receives its mail${bounceAddress ? ` (where ${terms.bounceAddress} is read)` : ''}`,
    mxRecord(domain, '<your inbound mail server>.'),
  );
}

/** "localhost" is never asked of DNS (RFC 6761): it is this machine. */
function isLocalhost(host: string): boolean {
  return /(?:^|\.)localhost\.?$/i.test(host);
}

/** Whether finding the SMTP host's addresses takes a DNS query (not for an address or localhost). */
export function hostNeedsLookup(host: string): boolean {
  return isIP(host) === 0 && !isLocalhost(host);
}

/** The `smtp-host` check, and the host's public addresses (what SPF is evaluated with). */
export interface SmtpHostOutcome {
  check: DeliverabilityCheck;
  publicAddresses: string[];
}

/**
 * The `smtp-host` check: the SMTP host resolves, and each public address it resolves to has a PTR naming a host
 * that resolves back to it (forward-confirmed reverse DNS). A warning, not an error: receivers check the address
 * that connects to them, which is this host's only when it delivers to them itself.
 */
export async function checkSmtpHost(dns: DnsClient, terms: FixTerms, host: string): Promise<SmtpHostOutcome> {
  const literal = isIP(host) !== 0;
  const addresses = literal ? [host] : isLocalhost(host) ? ['127.0.0.1'] : await dns.addresses(host);
  if (addresses.length === 0) {
    return {
      check: problem('smtp-host', 'SMTP_HOST_UNRESOLVED', `${host} has no A or AAAA record (asked ${dns.describe()})`, `Check ${terms.transportHost}, or publish ${host}'s A record`),
      publicAddresses: [],
    };
  }
  const publicAddresses = addresses.filter((address) => !isUnseen(address)).slice(0, MAX_FOLLOWED);
  if (publicAddresses.length === 0) {
    return {
      check: warning(
        'smtp-host',
        'SMTP_HOST_PRIVATE',
        `${host} is ${addresses.join(', ')}, a private address: receivers see the public address your mail leaves from, which cannot be checked from here`,
        "Check that address's PTR and SPF (a delivered message's Received: headers name it)",
      ),
      publicAddresses,
    };
  }
  for (const address of publicAddresses) {
    const check = await reverseCheck(dns, host, literal, address);
    if (check) return { check, publicAddresses };
  }
  const names = literal ? '' : `${host} → `;
  return { check: ok('smtp-host', `${names}${publicAddresses.join(', ')}; the PTR resolves back (forward-confirmed)`), publicAddresses };
}

/** A warning when `address` has no PTR, or none whose name resolves back to it; undefined when it does. */
async function reverseCheck(dns: DnsClient, host: string, literal: boolean, address: string): Promise<DeliverabilityCheck | undefined> {
  const names = ((await dns.orNone(reverseNameOf(address), 'PTR')) as string[]).filter((name) => name !== '').slice(0, MAX_FOLLOWED);
  const why = 'receivers that check reverse DNS junk or refuse mail this address delivers to them itself; a relay sends from its own addresses';
  const fix = `Ask whoever runs ${address} (the hosting provider sets PTR records) to set its PTR to ${literal ? 'a name that resolves back to it' : `${host}, which resolves to it`}`;
  const record = literal ? undefined : ptrRecord(address, host);
  if (names.length === 0) return warning('smtp-host', 'PTR_MISSING', `${address} has no PTR record: ${why}`, fix, record);
  const forward = await Promise.all(names.map((name) => dns.addresses(name)));
  if (forward.some((list) => list.some((found) => found.toLowerCase() === address.toLowerCase()))) return undefined;
  const resolved = forward.flat();
  return warning(
    'smtp-host',
    'PTR_MISMATCH',
    `${address} has PTR ${names.join(', ')}, which ${resolved.length > 0 ? `resolves to ${resolved.join(', ')}` : 'does not resolve'}, not back to ${address}: ${why}`,
    fix,
    record,
  );
}

/** This machine's host name, or '' where the platform has none (as nodemailer treats it). */
function machineName(): string {
  try {
    return hostname();
  } catch {
    return '';
  }
}

/** The name nodemailer sends in EHLO: its `name` option, else this machine's host name if it has a dot, else `[127.0.0.1]`. */
export function ehloNameOf(configured: string | undefined): string {
  if (configured) return configured;
  const machine = machineName();
  if (!machine.includes('.')) return '[127.0.0.1]';
  return /^\d{1,3}(?:\.\d{1,3}){3}$/.test(machine) ? `[${machine}]` : machine;
}

/** The `ehlo` check: the EHLO name is a fully qualified domain name, not a bare name or an address literal. */
export function checkEhlo(name: string, fromDomain: string): DeliverabilityCheck {
  if (FQDN.test(name)) return ok('ehlo', `EHLO ${name}`);
  const because = name === '[127.0.0.1]' ? ` (this machine's host name "${machineName()}" is not fully qualified)` : '';
  return warning(
    'ehlo',
    'EHLO_NOT_FQDN',
    `EHLO sends ${name}${because}: spam filters count a name that is not fully qualified against the message`,
    `Give the machine that sends a fully qualified host name that resolves to it, e.g. mail.${fromDomain} (hostnamectl set-hostname, or --hostname for a container)`,
  );
}
