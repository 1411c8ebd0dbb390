import type { Redis } from 'ioredis';
import { boundedRedisCall } from '../errors/bounded-call';
import type { ClaimOutcome, TokenPurpose, TokenRecord, TokenStore } from './token.types';

// Each script is one round trip, atomic on the Redis server: state checks and transitions cannot
// interleave with another process redeeming the same token or a sibling (ARGV[2]: the key prefix,
// under which a token's siblings are found through its user's set). Claims are timed with Redis'
// own clock, so processes with skewed clocks agree on when a crashed redemption's claim lapses.
const SIBLINGS = `
local function siblings(key, prefix)
  local owner = redis.call('HMGET', key, 'userId', 'purpose')
  local keys = {}
  for _, hash in ipairs(redis.call('SMEMBERS', prefix .. 'user-tokens:' .. owner[2] .. ':' .. owner[1])) do
    if prefix .. 'token:' .. hash ~= key then table.insert(keys, prefix .. 'token:' .. hash) end
  end
  return keys
end
local function held(key, claimId)
  return redis.call('HGET', key, 'state') == 'claimed' and redis.call('HGET', key, 'claimId') == claimId
end
local function now()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end`;

// ARGV: claimId, prefix, windowMs.
const CLAIM = `${SIBLINGS}
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'unknown' end
if state == 'used' or state == 'revoked' then return state end
local at, window = now(), tonumber(ARGV[3])
local function live(key)
  return redis.call('HGET', key, 'state') == 'claimed' and at - tonumber(redis.call('HGET', key, 'claimedAt') or '0') < window
end
if live(KEYS[1]) then return 'busy' end
for _, key in ipairs(siblings(KEYS[1], ARGV[2])) do
  if live(key) then return 'busy' end
end
redis.call('HSET', KEYS[1], 'state', 'claimed', 'claimedAt', at, 'claimId', ARGV[1])
return 'claimed'`;

const RENEW = `${SIBLINGS}
if not held(KEYS[1], ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'claimedAt', now())
return 1`;

const MARK_USED = `${SIBLINGS}
if not held(KEYS[1], ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'state', 'used')
for _, key in ipairs(siblings(KEYS[1], ARGV[2])) do
  local state = redis.call('HGET', key, 'state')
  if state == 'active' or state == 'claimed' then redis.call('HSET', key, 'state', 'revoked') end
end
return 1`;

const RELEASE = `${SIBLINGS}
if held(KEYS[1], ARGV[1]) then redis.call('HSET', KEYS[1], 'state', 'active') end
return 1`;

const REVOKE_OTHERS = `
for _, hash in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if hash ~= ARGV[1] then
    local key = ARGV[2] .. hash
    if redis.call('HGET', key, 'state') == 'active' then redis.call('HSET', key, 'state', 'revoked') end
  end
end
return 1`;

// KEYS: the user's sets, one per purpose; ARGV[1]: the token key prefix; ARGV[2..]: hashes kept.
// ARGV: key prefix, '1' to revoke claimed tokens too, then the hashes to keep.
const REVOKE_ALL = `
local keep = {}
for i = 3, #ARGV do keep[ARGV[i]] = true end
for _, set in ipairs(KEYS) do
  for _, hash in ipairs(redis.call('SMEMBERS', set)) do
    if not keep[hash] then
      local key = ARGV[1] .. hash
      local state = redis.call('HGET', key, 'state')
      if state == 'active' or (state == 'claimed' and ARGV[2] == '1') then redis.call('HSET', key, 'state', 'revoked') end
    end
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
          ...(record.mac === undefined ? {} : { mac: record.mac }),
          ...(record.sealed === undefined ? {} : { sealed: record.sealed }),
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
      mac: fields.mac,
      ...(fields.sealed === undefined ? {} : { sealed: fields.sealed }),
    };
  }

  async claim(hash: string, claimId: string, windowMs: number): Promise<ClaimOutcome> {
    return (await this.script(CLAIM, hash, claimId, String(windowMs))) as ClaimOutcome;
  }

  async renew(hash: string, claimId: string): Promise<boolean> {
    return (await this.script(RENEW, hash, claimId)) === 1;
  }

  async markUsed(hash: string, claimId: string): Promise<void> {
    await this.script(MARK_USED, hash, claimId);
  }

  async release(hash: string, claimId: string): Promise<void> {
    await this.script(RELEASE, hash, claimId);
  }

  private script(source: string, hash: string, claimId: string, ...rest: string[]): Promise<unknown> {
    return this.bounded(() => this.redis.eval(source, 1, this.tokenKey(hash), claimId, `${this.prefix}:`, ...rest));
  }

  async revokeOthers(userId: string, purpose: TokenPurpose, keepHash: string): Promise<void> {
    await this.bounded(() => this.redis.eval(REVOKE_OTHERS, 1, this.userKey(userId, purpose), keepHash, `${this.prefix}:token:`));
  }

  async revokeAll(userId: string, purposes: readonly TokenPurpose[], keepHashes: readonly string[], options: { claimed?: boolean } = {}): Promise<void> {
    if (purposes.length === 0) return;
    const sets = purposes.map((purpose) => this.userKey(userId, purpose));
    await this.bounded(() => this.redis.eval(REVOKE_ALL, sets.length, ...sets, `${this.prefix}:token:`, options.claimed ? '1' : '0', ...keepHashes));
  }
}
