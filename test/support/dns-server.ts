import { createSocket, Socket as UdpSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, isIP, isIPv4, Server, Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { DNSResolver } from 'mailauth';
import { freePort } from './free-port';
import { ServerProcess } from './server-process';

/*
 * A real DNS server for the deliverability tests (issue 23): Debian's dnsmasq (package dnsmasq-base), run in the
 * foreground on a free loopback port with a configuration of its own in a temporary folder, never the system's.
 * It answers only the records a test gives it and NXDOMAIN for every other name (`local=/#/`): nothing is ever
 * forwarded, so the tests need no Internet. A server that cannot start makes `start()` reject with its log: a test
 * that needs it fails, it is never skipped.
 */

const DNSMASQ = process.env.DNSMASQ_BIN ?? '/usr/sbin/dnsmasq';
const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 10_000;
/** A TXT record is a list of strings of at most 255 bytes each (RFC 1035, 3.3). */
const TXT_STRING_BYTES = 255;

export type DnsRecord =
  | { type: 'A' | 'AAAA'; name: string; address: string }
  | { type: 'MX'; name: string; exchange: string; priority?: number }
  /** One TXT record; a value over 255 bytes is published as several strings of one record, as a DNS panel does. */
  | { type: 'TXT'; name: string; value: string }
  | { type: 'PTR'; address: string; name: string }
  | { type: 'CNAME'; name: string; target: string };

const NAME = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;

function checkName(name: string): string {
  if (!NAME.test(name)) throw new Error(`ThrowawayDns: "${name}" is not a DNS name this helper publishes`);
  return name.toLowerCase();
}

/** The in-addr.arpa / ip6.arpa name of an address, where its PTR record lives. */
export function reverseName(address: string): string {
  if (isIPv4(address)) return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
  if (isIP(address) !== 6) throw new Error(`ThrowawayDns: "${address}" is not an IP address`);
  const [head, tail = ''] = address.split('::');
  const groups = (part: string) => (part ? part.split(':') : []);
  const missing = 8 - groups(head).length - groups(tail).length;
  const full = [...groups(head), ...Array<string>(missing).fill('0'), ...groups(tail)].map((group) => group.padStart(4, '0')).join('');
  return `${full.split('').reverse().join('.')}.ip6.arpa`;
}

/** A TXT value as dnsmasq's quoted strings, split at 255 bytes. */
function txtStrings(value: string): string {
  if (/["\\\r\n]/.test(value) || Buffer.byteLength(value) !== value.length) {
    throw new Error('ThrowawayDns: TXT values are printable ASCII without quotes or backslashes');
  }
  const parts = value.match(new RegExp(`.{1,${TXT_STRING_BYTES}}`, 'g')) ?? [''];
  return parts.map((part) => `"${part}"`).join(',');
}

/**
 * dnsmasq's lines for the records. A and AAAA use `address=` with `local=/*.name/`: exactly that name, no
 * subdomain, and no PTR unless the test gives one (`host-record` would add a PTR of its own). Two quirks of
 * dnsmasq 2.90 with those: another type asked of such a name is NXDOMAIN, not NODATA (both are "no record" to
 * the checks and to mailauth); and a CNAME is followed only to names it holds other records for (TXT, MX, PTR).
 */
function recordLines(records: DnsRecord[]): string[] {
  const lines: string[] = [];
  const addressed = new Set<string>();
  for (const record of records) {
    switch (record.type) {
      case 'A':
      case 'AAAA': {
        const name = checkName(record.name);
        if (isIP(record.address) !== (record.type === 'A' ? 4 : 6)) throw new Error(`ThrowawayDns: ${record.address} is no ${record.type} address`);
        lines.push(`address=/${name}/${record.address}`);
        if (!addressed.has(name)) lines.push(`local=/*.${name}/`);
        addressed.add(name);
        break;
      }
      case 'MX':
        lines.push(`mx-host=${checkName(record.name)},${checkName(record.exchange)},${record.priority ?? 10}`);
        break;
      case 'TXT':
        lines.push(`txt-record=${checkName(record.name)},${txtStrings(record.value)}`);
        break;
      case 'PTR':
        lines.push(`ptr-record=${reverseName(record.address)},${checkName(record.name)}`);
        break;
      case 'CNAME':
        lines.push(`cname=${checkName(record.name)},${checkName(record.target)}`);
        break;
    }
  }
  return lines;
}

/** A resolver function as mailauth takes one (`resolver(name, rrtype)`, as `dns.promises.resolve`), asking one server only. */
export type MailauthResolver = DNSResolver;

function resolverOf(address: string, timeoutMs: number): { resolver: Resolver; resolve: MailauthResolver } {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
  resolver.setServers([address]);
  // mailauth's type names TXT and A answers; MX and PTR answers come through as resolve() gives them.
  return { resolver, resolve: (name, rrtype) => resolver.resolve(name, rrtype) as ReturnType<DNSResolver> };
}

/** A dnsmasq serving `records` on 127.0.0.1:<free port>, UDP and TCP. */
export class ThrowawayDns {
  private constructor(
    private readonly proc: ServerProcess,
    readonly port: number,
    private readonly dir: string,
  ) {}

  /** `127.0.0.1:<port>`, for `dns.servers` and `--dns`. */
  get address(): string {
    return `${HOST}:${this.port}`;
  }

  static async start(records: DnsRecord[]): Promise<ThrowawayDns> {
    const lines = recordLines(records);
    const dir = await mkdtemp(join(tmpdir(), 'ew-dns-'));
    let lastError: Error | undefined;
    // A free port can be taken between finding it and dnsmasq binding it (UDP and TCP): try another then.
    for (let attempt = 0; attempt < 3; attempt++) {
      const server = await ThrowawayDns.spawn(dir, await freePort(), lines);
      try {
        await server.untilAnswering();
        return server;
      } catch (error) {
        await server.proc.stop();
        lastError = error as Error;
        if (!/Address already in use/i.test(lastError.message)) break;
      }
    }
    await rm(dir, { recursive: true, force: true });
    throw lastError;
  }

  private static async spawn(dir: string, port: number, lines: string[]): Promise<ThrowawayDns> {
    const conf = join(dir, 'dnsmasq.conf');
    const log = join(dir, 'dnsmasq.log');
    await writeFile(log, '');
    await writeFile(
      conf,
      [
        `port=${port}`,
        `listen-address=${HOST}`,
        'bind-interfaces',
        // Only the records below: no /etc/resolv.conf upstreams, no /etc/hosts, no watching of either.
        'no-resolv',
        'no-hosts',
        'no-poll',
        // Every name not below is NXDOMAIN, answered here: never forwarded anywhere.
        'local=/#/',
        `log-facility=${log}`,
        'log-queries',
        // No pid file, and no change of user: dnsmasq otherwise drops to "nobody", which cannot read this folder.
        'pid-file=',
        `user=${userInfo().username}`,
        ...lines,
        '',
      ].join('\n'),
    );
    const proc = new ServerProcess(`dnsmasq on ${port}`, DNSMASQ, ['--keep-in-foreground', `--conf-file=${conf}`]);
    return new ThrowawayDns(proc, port, dir);
  }

  /** Resolves once a query is answered (NXDOMAIN is an answer); rejects with the log if dnsmasq exits or stays silent. */
  private async untilAnswering(): Promise<void> {
    const { resolve } = resolverOf(this.address, 200);
    let last = 'no answer yet';
    try {
      await this.proc.untilAnswers(
        async () => {
          try {
            await resolve('throwaway-dns-probe.test', 'A');
            return true;
          } catch (error) {
            last = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
            return last === 'ENOTFOUND';
          }
        },
        () => `dnsmasq to answer on ${this.address} (${last})`,
        START_TIMEOUT_MS,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}\n${await this.log()}`);
    }
  }

  /** What dnsmasq printed and logged (the queries it answered among them). */
  async log(): Promise<string> {
    const logged = await readFile(join(this.dir, 'dnsmasq.log'), 'utf8').catch(() => '');
    return `dnsmasq output:\n${this.proc.printed}\ndnsmasq log:\n${logged.slice(-6_000)}`;
  }

  /** The names asked of this server, as `TYPE name` (from its query log). */
  async queries(): Promise<string[]> {
    const logged = await readFile(join(this.dir, 'dnsmasq.log'), 'utf8').catch(() => '');
    return [...logged.matchAll(/query\[(\w+)\] (\S+) from/g)].map((match) => `${match[1]} ${match[2]}`).filter((query) => !query.includes('throwaway-dns-probe'));
  }

  /** A resolver function for mailauth (`dkimVerify`, `authenticate`) that asks this server only. */
  resolver(timeoutMs = 2_000): MailauthResolver {
    return resolverOf(this.address, timeoutMs).resolve;
  }

  /** Ends dnsmasq by its pid (SIGTERM, SIGKILL after 5 s) and removes its folder. */
  async stop(): Promise<void> {
    await this.proc.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * A "DNS server" that never answers: a UDP socket and a TCP listener on one free loopback port that take every
 * query and say nothing, like a resolver behind a firewall that drops packets. Counts what it received.
 */
export class SilentDnsServer {
  /** UDP datagrams received (each one a query). */
  datagrams = 0;
  /** TCP connections accepted (held open, never written to). */
  connections = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly udp: UdpSocket,
    private readonly tcp: Server,
    readonly port: number,
  ) {
    udp.on('message', () => (this.datagrams += 1));
    tcp.on('connection', (socket) => {
      this.connections += 1;
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  get address(): string {
    return `${HOST}:${this.port}`;
  }

  static async start(): Promise<SilentDnsServer> {
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      const udp = createSocket('udp4');
      const tcp = createServer();
      try {
        await new Promise<void>((resolve, reject) => {
          udp.once('error', reject);
          udp.bind(port, HOST, () => resolve());
        });
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(port, HOST, () => resolve());
        });
        return new SilentDnsServer(udp, tcp, port);
      } catch (error) {
        // The port was taken between finding it and binding it: let go of whatever half bound, try another.
        udp.removeAllListeners('error');
        udp.on('error', () => undefined);
        try {
          udp.close();
        } catch {
          // never bound
        }
        tcp.close(() => undefined);
        if (attempt === 2) throw error;
      }
    }
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.udp.close(() => resolve()));
    await new Promise<void>((resolve) => this.tcp.close(() => resolve()));
  }
}
