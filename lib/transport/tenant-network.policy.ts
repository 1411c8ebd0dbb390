import { BlockList, isIP, isIPv4 } from 'node:net';

/**
 * Addresses a tenant's SMTP settings may not reach: everything that is not a globally routed unicast
 * address (IANA's IPv4 and IPv6 special-purpose registries), and the cloud metadata endpoints.
 * `[address, prefix length]`.
 */
const NON_PUBLIC_IPV4: Array<[string, number]> = [
  ['0.0.0.0', 8], // "this network"; connecting to 0.0.0.0 reaches the local host
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT (also Alibaba Cloud's metadata, 100.100.100.200)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, with the AWS/GCP/Azure/OpenStack metadata at 169.254.169.254
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments (Oracle Cloud metadata at 192.0.0.192)
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay anycast (deprecated)
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and the broadcast address 255.255.255.255
  ['168.63.129.16', 32], // Azure's platform endpoint (WireServer): public-looking, but the host's own
];

const NON_PUBLIC_IPV6: Array<[string, number]> = [
  ['::', 96], // unspecified (::), loopback (::1) and the deprecated IPv4-compatible ::a.b.c.d
  ['64:ff9b:1::', 48], // NAT64 for local use
  ['100::', 64], // discard-only
  ['2001::', 32], // Teredo tunnels
  ['2001:2::', 48], // benchmarking
  ['2001:10::', 28], // ORCHID (deprecated)
  ['2001:20::', 28], // ORCHIDv2
  ['2001:db8::', 32], // documentation
  ['3fff::', 20], // documentation
  ['fc00::', 7], // unique-local, with the AWS metadata at fd00:ec2::254
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];

/**
 * The IPv4 address that an IPv6 address carries and leads to: NAT64 (64:ff9b::/96) and 6to4
 * (2002::/16). IPv4-mapped addresses (::ffff:a.b.c.d) need nothing here: BlockList matches them
 * against the IPv4 rules itself.
 */
function embeddedIpv4(address: string): string | undefined {
  const groups = expandIpv6(address);
  if (!groups) return undefined;
  const v4 = (high: number, low: number) => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
  if (groups[0] === 0x64 && groups[1] === 0xff9b && groups.slice(2, 6).every((group) => group === 0)) return v4(groups[6], groups[7]);
  if (groups[0] === 0x2002) return v4(groups[1], groups[2]);
  return undefined;
}

/** The eight 16-bit groups of an IPv6 address (a dotted IPv4 tail included). */
function expandIpv6(address: string): number[] | undefined {
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1].split('.').map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const parse = (part: string | undefined) => (part ? part.split(':').map((group) => parseInt(group, 16)) : []);
  const start = parse(head);
  const end = parse(tail);
  const groups = tail === undefined ? start : [...start, ...new Array<number>(8 - start.length - end.length).fill(0), ...end];
  return groups.length === 8 && groups.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff) ? groups : undefined;
}

/** A CIDR range, `10.0.0.0/8` or `fd00::/8`, parsed; undefined when it is not one. */
export function parseCidr(text: unknown): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  if (typeof text !== 'string') return undefined;
  const match = /^([^/\s]+)\/(\d{1,3})$/.exec(text.trim());
  const version = match ? isIP(match[1]) : 0;
  if (!match || version === 0 || match[1].includes('%')) return undefined;
  const prefix = Number(match[2]);
  if (prefix > (version === 4 ? 32 : 128)) return undefined;
  return { address: match[1], prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

function blockListOf(ranges: Array<{ address: string; prefix: number; family: 'ipv4' | 'ipv6' }>): BlockList {
  const list = new BlockList();
  for (const { address, prefix, family } of ranges) list.addSubnet(address, prefix, family);
  return list;
}

/**
 * Which addresses a tenant's transport may connect to: public ones, and those in the ranges the app
 * allows (`tenantTransports.allowPrivateNetworks`, already validated).
 */
export class TenantNetworkPolicy {
  private readonly refused = blockListOf([
    ...NON_PUBLIC_IPV4.map(([address, prefix]) => ({ address, prefix, family: 'ipv4' as const })),
    ...NON_PUBLIC_IPV6.map(([address, prefix]) => ({ address, prefix, family: 'ipv6' as const })),
  ]);
  private readonly allowed: BlockList;

  constructor(allowPrivateNetworks: readonly string[] = []) {
    this.allowed = blockListOf(allowPrivateNetworks.map((cidr) => parseCidr(cidr)).filter((range) => range !== undefined));
  }

  /** Whether a connection to this IP address is allowed. Anything that is not a plain IP address is not. */
  permits(address: string): boolean {
    const version = isIP(address);
    // A zone id (fe80::1%eth0) makes BlockList answer false for every rule: refuse rather than let it through.
    if (version === 0 || address.includes('%')) return false;
    const family = version === 4 ? 'ipv4' : 'ipv6';
    if (this.allowed.check(address, family)) return true;
    if (this.refused.check(address, family)) return false;
    const embedded = version === 6 ? embeddedIpv4(address) : undefined;
    return embedded === undefined || (isIPv4(embedded) && this.permits(embedded));
  }
}
