import { isIP, isIPv4, isIPv6 } from 'node:net';

/**
 * Whether `server` is a DNS server as Node's resolver takes one: an IP address, with a port after `:` (IPv4) or
 * in brackets (`[2001:db8::1]:53`). Names are not: the resolver that would resolve them is the one being chosen.
 */
export function isDnsServer(server: string): boolean {
  const validPort = (port: string | undefined) => port === undefined || (/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65_535);
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(server);
  if (bracketed) return isIPv6(bracketed[1]) && validPort(bracketed[2]);
  if (isIP(server) !== 0) return true;
  const withPort = /^([\d.]+):(\d+)$/.exec(server);
  return withPort !== null && isIPv4(withPort[1]) && validPort(withPort[2]);
}
