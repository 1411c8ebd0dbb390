import { randomUUID } from 'node:crypto';
import { boundedRedisCall } from '../redis';
import type { RedisClient } from '../redis';
import type { ReaderLease } from './bounce-mailbox.types';

// Compare-and-act in one script: between a GET and a PEXPIRE or DEL sent apart, the lease could expire and be
// taken by another process, whose lease this one would then extend or delete.
const RENEW = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";
const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

/**
 * One reader per deployment: a key in Redis naming its holder, expiring after `ttlMs` unless renewed. A
 * process that crashed or lost Redis stops renewing, and another takes over once the key expired. Every
 * command is bounded by `commandTimeoutMs`; a Redis that fails or does not answer means "not held", so the
 * holder stops reading rather than read on beside the process that takes over.
 */
export class RedisReaderLease implements ReaderLease {
  private readonly owner = randomUUID();

  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly ttlMs: number,
    private readonly commandTimeoutMs: number,
  ) {}

  async hold(): Promise<boolean> {
    try {
      const taken = await this.bounded(() => this.redis.set(this.key, this.owner, 'PX', this.ttlMs, 'NX'));
      if (taken === 'OK') return true;
      return (await this.bounded(() => this.redis.eval(RENEW, 1, this.key, this.owner, String(this.ttlMs)))) === 1;
    } catch {
      return false;
    }
  }

  async release(): Promise<void> {
    try {
      await this.bounded(() => this.redis.eval(RELEASE, 1, this.key, this.owner));
    } catch {
      // Not released: it expires after ttlMs, and another process takes over then.
    }
  }

  private bounded<T>(call: () => Promise<T>): Promise<T> {
    return boundedRedisCall(this.redis, this.commandTimeoutMs, call);
  }
}

/** With the in-process queue there is one process: it always holds the lease. */
export class ProcessReaderLease implements ReaderLease {
  async hold(): Promise<boolean> {
    return true;
  }

  async release(): Promise<void> {}
}
