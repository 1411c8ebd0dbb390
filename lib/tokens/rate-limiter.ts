import { createHmac, randomBytes } from 'node:crypto';
import type { RedisClient } from '../redis';
import { boundedRedisCall } from '../redis';

export interface RateLimitRule {
  /** Requests allowed per window. */
  limit: number;
  /** Window length in seconds. */
  windowSeconds: number;
}

interface RateLimitVerdict {
  allowed: boolean;
  /** Seconds until the window resets. */
  retryAfterSeconds: number;
}

export const EMAIL_RATE_LIMITER = 'EMAIL_WORKFLOW:RATE_LIMITER';

/**
 * Fixed-window counters, shared by every process when in Redis. A key names what is counted (it may
 * hold an address or an IP): it is stored only as an HMAC under a key derived from `secret`, so
 * whoever reads the store cannot confirm an address by hashing it.
 */
export interface RateLimiter {
  hit(key: string, rule: RateLimitRule): Promise<RateLimitVerdict>;
  /** Starts the count of `key` afresh, e.g. a code's wrong tries once a new code is issued. */
  reset(key: string): Promise<void>;
}

// INCR and the first PEXPIRE in one script, so a crash between them cannot leave a counter without expiry.
const HIT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}`;

/** Counters in Redis; each hit settles within `commandTimeoutMs`, with QueueUnavailableError when Redis does not answer. */
export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly commandTimeoutMs: number,
    private readonly hmacKey: Buffer,
  ) {}

  async hit(key: string, rule: RateLimitRule): Promise<RateLimitVerdict> {
    const counted = () => this.redis.eval(HIT, 1, `${this.prefix}:rate:${keyedName(this.hmacKey, key)}`, String(rule.windowSeconds * 1000));
    const [count, ttlMs] = (await boundedRedisCall(this.redis, this.commandTimeoutMs, counted, 'The request did not complete.')) as [number, number];
    return { allowed: count <= rule.limit, retryAfterSeconds: Math.max(1, Math.ceil(ttlMs / 1000)) };
  }

  async reset(key: string): Promise<void> {
    await boundedRedisCall(this.redis, this.commandTimeoutMs, () => this.redis.del(`${this.prefix}:rate:${keyedName(this.hmacKey, key)}`), 'The request did not complete.');
  }
}

/** Counters in process memory; the key defaults to a per-process random one, as nothing outlives the process. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  constructor(private readonly hmacKey: Buffer = randomBytes(32)) {}

  async hit(name: string, rule: RateLimitRule): Promise<RateLimitVerdict> {
    const key = keyedName(this.hmacKey, name);
    const now = Date.now();
    let window = this.windows.get(key);
    if (!window || window.resetAt <= now) {
      if (this.windows.size > 10_000) this.sweep(now);
      window = { count: 0, resetAt: now + rule.windowSeconds * 1000 };
      this.windows.set(key, window);
    }
    window.count += 1;
    return { allowed: window.count <= rule.limit, retryAfterSeconds: Math.max(1, Math.ceil((window.resetAt - now) / 1000)) };
  }

  async reset(name: string): Promise<void> {
    this.windows.delete(keyedName(this.hmacKey, name));
  }

  private sweep(now: number): void {
    for (const [key, window] of this.windows) if (window.resetAt <= now) this.windows.delete(key);
  }
}

function keyedName(hmacKey: Buffer, name: string): string {
  return createHmac('sha256', hmacKey).update(name).digest('base64url');
}
