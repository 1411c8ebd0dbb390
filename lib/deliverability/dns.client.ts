import { Resolver } from 'node:dns/promises';
import { withTimeout } from '../redis';

/** Record types the checks ask for. */
export type DnsRecordType = 'A' | 'AAAA' | 'MX' | 'TXT' | 'PTR' | 'CNAME';

/** Answers that mean "no such record": the name does not exist, or has no record of that type. */
const ABSENT = new Set(['ENOTFOUND', 'ENODATA']);

/**
 * A query the DNS server did not answer (`timedOut`) or answered with an error (SERVFAIL, REFUSED, …).
 * `code` is Node's (ETIMEOUT, ESERVFAIL, …), which mailauth reads as a temporary error.
 */
export class DnsUnanswered extends Error {
  constructor(
    readonly code: string,
    /** `TYPE name`, for the message. */
    readonly query: string,
    readonly timedOut: boolean,
  ) {
    super(`${query}: ${timedOut ? 'no answer' : code}`);
  }
}

export function isAbsent(error: unknown): boolean {
  return ABSENT.has((error as NodeJS.ErrnoException | undefined)?.code ?? '');
}

/**
 * Every DNS query of one diagnosis: through the given servers (else the system's), each bounded by `timeoutMs`
 * however the server behaves, and each asked once (checks and mailauth share answers, so a silent server costs
 * one timeout per name, not one per check that needs it).
 */
export class DnsClient {
  private readonly resolver: Resolver;
  private readonly answers = new Map<string, Promise<unknown[]>>();
  /** The first query that went unanswered: mailauth turns it into a temporary error, the checks name it. */
  unanswered?: DnsUnanswered;

  constructor(
    readonly servers: string[] | undefined,
    readonly timeoutMs: number,
  ) {
    // One try: the diagnosis must end within the bound; c-ares would otherwise retry with a doubling timeout.
    this.resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
    if (servers && servers.length > 0) this.resolver.setServers(servers);
  }

  /** Where the queries go, for messages. */
  describe(): string {
    return this.servers && this.servers.length > 0 ? this.servers.join(', ') : 'the system resolver';
  }

  /**
   * Records of a type, as `dns.promises.resolve` returns them; rejects with ENOTFOUND/ENODATA when there are
   * none and with DnsUnanswered when the server did not answer. The signature mailauth's `resolver` option takes.
   */
  readonly resolve = (name: string, type: string): Promise<unknown[]> => {
    const key = `${type.toUpperCase()} ${name.toLowerCase().replace(/\.$/, '')}`;
    let answer = this.answers.get(key);
    if (!answer) {
      answer = this.ask(name, type, key);
      this.answers.set(key, answer);
    }
    return answer;
  };

  /** TXT records, each one's strings joined; none when the name has none. */
  async txt(name: string): Promise<string[]> {
    return ((await this.orNone(name, 'TXT')) as string[][]).map((strings) => strings.join(''));
  }

  /** A and AAAA records together; none when the name has neither. */
  async addresses(name: string): Promise<string[]> {
    const [v4, v6] = await Promise.all([this.orNone(name, 'A'), this.orNone(name, 'AAAA')]);
    return [...(v4 as string[]), ...(v6 as string[])];
  }

  async mx(name: string): Promise<Array<{ exchange: string; priority: number }>> {
    return (await this.orNone(name, 'MX')) as Array<{ exchange: string; priority: number }>;
  }

  /** Drops the queries still waiting (those past their bound): nothing outlives the diagnosis. */
  close(): void {
    this.resolver.cancel();
  }

  /** Records, or none when the name has none; still rejects when the server did not answer. */
  async orNone(name: string, type: DnsRecordType): Promise<unknown[]> {
    try {
      return await this.resolve(name, type);
    } catch (error) {
      if (isAbsent(error)) return [];
      throw error;
    }
  }

  private async ask(name: string, type: string, key: string): Promise<unknown[]> {
    const timeout = () => new DnsUnanswered('ETIMEOUT', key, true);
    try {
      // c-ares has its own timeout; this bound holds even when it does not (TCP fallback, a stuck socket).
      return await withTimeout(this.resolver.resolve(name, type) as Promise<unknown[]>, this.timeoutMs, timeout);
    } catch (error) {
      if (isAbsent(error)) throw error;
      const code = (error as NodeJS.ErrnoException).code ?? 'EFAIL';
      const unanswered = error instanceof DnsUnanswered ? error : new DnsUnanswered(code, key, code === 'ETIMEOUT');
      this.unanswered ??= unanswered;
      throw unanswered;
    }
  }
}
