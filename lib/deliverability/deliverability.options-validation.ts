import { IsArray, IsOptional, IsString, Max } from 'class-validator';
import type { OptionsProblem } from '../errors';
import { dtoProblems, rule, WholeNumber } from '../options/options.validator';
import { isDnsServer } from './dns.servers';

const SERVERS = rule('must be a list of DNS server addresses', "use e.g. ['1.1.1.1', '127.0.0.1:5353', '[2001:db8::53]:53']");
const TIMEOUT = rule('must be a whole number of milliseconds from 1 to 60000', 'use e.g. 5000');

class DnsDto {
  @IsOptional() @IsArray(SERVERS) @IsString({ ...SERVERS, each: true }) servers?: string[];
  @WholeNumber(1, TIMEOUT.message as string, 'use e.g. 5000') @Max(60_000, TIMEOUT) timeout?: number;
}

/** Problems of the `dns` option, each naming the field and the fix. */
export function dnsOptionsProblems(dns: unknown): OptionsProblem[] {
  if (dns === undefined) return [];
  if (typeof dns !== 'object' || dns === null || Array.isArray(dns)) {
    return [{ path: 'dns', problem: 'must be an object', fix: "use e.g. dns: { servers: ['1.1.1.1'], timeout: 5000 }" }];
  }
  const problems = dtoProblems(DnsDto, dns, 'dns');
  const { servers } = dns as { servers?: unknown };
  if (Array.isArray(servers) && problems.every((problem) => problem.path !== 'dns.servers')) {
    servers.forEach((server, index) => {
      if (typeof server === 'string' && !isDnsServer(server)) {
        problems.push({ path: `dns.servers[${index}]`, problem: 'is not an IP address (with an optional port)', fix: "use e.g. '1.1.1.1' or '127.0.0.1:5353'; a host name cannot be one" });
      }
    });
  }
  return problems;
}
