import type { Redis } from 'ioredis';
import { boundedRedisCall } from '../errors/bounded-call';
import type { ClaimOutcome, TokenPurpose, TokenRecord, TokenStore } from './token.types';

// One round trip, atomic on the Redis server: the state check and the transition cannot interleave
// with another process redeeming the same token.
const CLAIM = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'unknown' end
if state == 'used' or state == 'revoked' then return state end
if state == 'claimed' then
  local claimedAt = tonumber(redis.call('HGET', KEYS[1], 'claimedAt') or '0')
  if tonumber(ARGV[1]) - claimedAt < tonumber(ARGV[2]) then return 'busy' end
end
redis.call('HSET', KEYS[1], 'state', 'claimed', 'claimedAt', ARGV[1])
return 'claimed'`;

const SET_STATE_IF = `
if redis.call('HGET', KEYS[1], 'state') == ARGV[1] then redis.call('HSET', KEYS[1], 'state', ARGV[2]) end
return 1`;

const REVOKE_OTHERS = `
for _, hash in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if hash ~= ARGV[1] then
    local key = ARGV[2] .. hash
    if redis.call('HGET', key, 'state') == 'active' then redis.call('HSET', key, 'state', 'revoked') end
  end
end
return 1`;

const NOT_DONE = 'The request did not complete.';

/**
 * Token hashes in Redis, shared by every process. Records outlive their expiry by `retentionMs`
 * so an old link is answered "expired" or "already used" rather than "unknown".
 * Key layout: `<prefix>:token:<hash>` (hash) and `<prefix>:user-tokens:<purpose>:<userId>` (set).
 * Each call settles within `commandTimeoutMs`, with QueueUnavailableError when Redis does not answer.
 */
export class RedisTokenStore implements TokenStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly retentionMs: number,
    private readonly commandTimeoutMs: number,
  ) {}

  private bounded<T>(call: () => Promise<T>): Promise<T> {
    return boundedRedisCall(this.redis, this.commandTimeoutMs, call, NOT_DONE);
  }

  private tokenKey(hash: string): string {
    return `${this.prefix}:token:${hash}`;
  }

  private userKey(userId: string, purpose: TokenPurpose): string {
    return `${this.prefix}:user-tokens:${purpose}:${userId}`;
  }

  async save(hash: string, record: TokenRecord): Promise<void> {
    const keepUntil = record.expiresAt + this.retentionMs;
    const userKey = this.userKey(record.userId, record.purpose);
    await this.bounded(async () => {
      const results = await this.redis
        .multi()
        .hset(this.tokenKey(hash), {
          userId: record.userId,
          purpose: record.purpose,
          email: record.email,
          expiresAt: String(record.expiresAt),
          state: record.state,
        })
        .pexpireat(this.tokenKey(hash), keepUntil)
        .sadd(userKey, hash)
        .pexpireat(userKey, keepUntil)
        .exec();
      const failed = results?.find(([error]) => error);
      if (!results || failed) throw new Error(`the token could not be stored: ${failed?.[0]?.message ?? 'transaction aborted'}`);
    });
  }

  async find(hash: string): Promise<TokenRecord | undefined> {
    const fields = await this.bounded(() => this.redis.hgetall(this.tokenKey(hash)));
    if (!fields.state) return undefined;
    return {
      userId: fields.userId,
      purpose: fields.purpose as TokenPurpose,
      email: fields.email,
      expiresAt: Number(fields.expiresAt),
      state: fields.state as TokenRecord['state'],
    };
  }

  async claim(hash: string, now: number, staleAfterMs: number): Promise<ClaimOutcome> {
    return (await this.bounded(() => this.redis.eval(CLAIM, 1, this.tokenKey(hash), String(now), String(staleAfterMs)))) as ClaimOutcome;
  }

  async markUsed(hash: string): Promise<void> {
    await this.bounded(() => this.redis.eval(SET_STATE_IF, 1, this.tokenKey(hash), 'claimed', 'used'));
  }

  async release(hash: string): Promise<void> {
    await this.bounded(() => this.redis.eval(SET_STATE_IF, 1, this.tokenKey(hash), 'claimed', 'active'));
  }

  async revokeOthers(userId: string, purpose: TokenPurpose, keepHash: string): Promise<void> {
    await this.bounded(() => this.redis.eval(REVOKE_OTHERS, 1, this.userKey(userId, purpose), keepHash, `${this.prefix}:token:`));
  }
}
