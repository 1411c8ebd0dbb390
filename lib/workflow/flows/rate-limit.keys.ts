import { isIP } from 'node:net';
import { InvalidArgumentError } from '../../errors';

/**
 * What a rate limit counts, so that spellings of one address or one network share one budget. The
 * limiter stores these only as keyed hashes (tokens/rate-limiter.ts).
 */

/** An address as it is counted: trimmed, NFKC-normalised (full-width and ligature forms fold) and lower-cased. */
export function countedAddress(address: string): string {
  return address.trim().normalize('NFKC').toLowerCase();
}

/**
 * An IP as it is counted: IPv4 as is, IPv4-mapped IPv6 (`::ffff:192.0.2.1`) as its IPv4, any other
 * IPv6 as its /64, since one host is routinely given a whole /64. Throws InvalidArgumentError naming
 * `argument` for a string that is not an IP.
 */
export function countedIp(method: string, argument: string, ip: string): string {
  const bare = ip.trim();
  const version = isIP(bare);
  if (version === 4) return bare;
  if (version !== 6) throw new InvalidArgumentError(method, argument, 'an IPv4 or IPv6 address', 'a string that is not an IP address');
  const groups = expandIpv6(bare.split('%')[0]);
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.');
  }
  return `${groups.slice(0, 4).map((group) => group.toString(16)).join(':')}::/64`;
}

/** The eight 16-bit groups of an address `isIP` accepted as IPv6 (`::` expanded, a dotted IPv4 tail converted). */
function expandIpv6(address: string): number[] {
  let text = address;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string) => (part ? part.split(':').map((group) => parseInt(group, 16)) : []);
  const [head, tail] = text.split('::');
  if (tail === undefined) return parse(head);
  const [front, back] = [parse(head), parse(tail)];
  return [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
}
