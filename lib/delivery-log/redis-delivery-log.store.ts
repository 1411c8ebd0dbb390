import type { RedisClient } from '../redis';
import { boundedRedisCall } from '../redis';
import type { ClaimState, DeliveryLogLimits, DeliveryLogStore } from './delivery-log.types';

/**
 * Adds a step, and with an index lists the record under its address and among the recent ones. Over the
 * address's cap the oldest records are deleted with their listing, so one address cannot grow the log.
 * KEYS: record, address list, recent list. ARGV: step, retention ms, indexed ('1'/'0'), at, ref, cap,
 * recent cap, record key prefix, now.
 */
const APPEND = `
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if ARGV[3] ~= '1' then return 0 end
local oldest = tonumber(ARGV[9]) - tonumber(ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
for _, ref in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. oldest)) do redis.call('ZREM', KEYS[3], ref) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. oldest)
local extra = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[6])
if extra > 0 then
  for _, ref in ipairs(redis.call('ZRANGE', KEYS[2], 0, extra - 1)) do
    redis.call('DEL', ARGV[8] .. ref)
    redis.call('ZREM', KEYS[3], ref)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, extra - 1)
end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. oldest)
local over = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[7])
if over > 0 then redis.call('ZREMRANGEBYRANK', KEYS[3], 0, over - 1) end
redis.call('PEXPIRE', KEYS[3], ARGV[2])
return 1
`;

/** KEYS: the claim. ARGV: how long a fresh claim stays pending, in ms. Returns the state before, or 'claimed'. */
const CLAIM = `
local state = redis.call('GET', KEYS[1])
if state then return state end
redis.call('SET', KEYS[1], 'pending', 'PX', ARGV[1])
return 'claimed'
`;

/**
 * The log beside the queue's keys, under its prefix (one hash tag on a Cluster, so the script's keys share
 * a slot): `<prefix>:log:<ref>` a list of sealed steps, `<prefix>:log-to:<address key>` and
 * `<prefix>:log-recent` sorted sets of refs by queue time, `<prefix>:log-seen:<key>` one-time claims,
 * `<prefix>:log-queue-id:<key>` the sealed ref of the email a provider's queue id (keyed hash) names.
 * Every key expires after the retention. Each call settles within `commandTimeoutMs`.
 */
export class RedisDeliveryLogStore implements DeliveryLogStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly limits: DeliveryLogLimits,
    private readonly commandTimeoutMs: number,
  ) {}

  async append(ref: string, sealedStep: string, index?: { addressKey: string; at: number }): Promise<void> {
    const keys = [this.recordKey(ref), `${this.prefix}:log-to:${index?.addressKey ?? ''}`, `${this.prefix}:log-recent`];
    const args = [sealedStep, this.limits.retentionMs, index ? '1' : '0', index?.at ?? 0, ref, this.limits.perAddress, this.limits.recent, this.recordKey(''), Date.now()];
    await this.bounded(() => this.redis.eval(APPEND, keys.length, ...keys, ...args.map(String)), 'The delivery log was not written.');
  }

  async steps(ref: string): Promise<string[]> {
    return this.bounded(() => this.redis.lrange(this.recordKey(ref), 0, -1), 'The delivery log was not read.');
  }

  async refsOf(addressKey: string, since: number, limit: number): Promise<string[]> {
    return this.newestFirst(`${this.prefix}:log-to:${addressKey}`, since, limit);
  }

  async recent(limit: number): Promise<string[]> {
    return this.newestFirst(`${this.prefix}:log-recent`, 0, limit);
  }

  async claim(key: string, pendingMs: number): Promise<ClaimState> {
    const state = await this.bounded(() => this.redis.eval(CLAIM, 1, this.claimKey(key), String(pendingMs)), 'The report was not recorded.');
    return state as ClaimState;
  }

  async finish(key: string): Promise<void> {
    await this.bounded(() => this.redis.set(this.claimKey(key), 'done', 'PX', this.limits.retentionMs), 'The report was not recorded.');
  }

  async unclaim(key: string): Promise<void> {
    await this.bounded(() => this.redis.del(this.claimKey(key)), 'The report claim was not given back.');
  }

  async link(key: string, sealedRef: string): Promise<void> {
    await this.bounded(() => this.redis.set(`${this.prefix}:log-queue-id:${key}`, sealedRef, 'PX', this.limits.retentionMs), 'The delivery log was not written.');
  }

  async linked(key: string): Promise<string | undefined> {
    const sealed = await this.bounded(() => this.redis.get(`${this.prefix}:log-queue-id:${key}`), 'The delivery log was not read.');
    return sealed ?? undefined;
  }

  private newestFirst(key: string, since: number, limit: number): Promise<string[]> {
    const from = Math.max(since, Date.now() - this.limits.retentionMs);
    return this.bounded(() => this.redis.zrevrangebyscore(key, '+inf', from, 'LIMIT', 0, limit), 'The delivery log was not read.');
  }

  private recordKey(ref: string): string {
    return `${this.prefix}:log:${ref}`;
  }

  private claimKey(key: string): string {
    return `${this.prefix}:log-seen:${key}`;
  }

  private bounded<T>(call: () => Promise<T>, outcome: string): Promise<T> {
    return boundedRedisCall(this.redis, this.commandTimeoutMs, call, outcome);
  }
}
