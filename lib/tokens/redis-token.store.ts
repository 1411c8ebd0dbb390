import type { RedisClient } from '../redis';
import { boundedRedisCall } from '../redis';
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
  local state = redis.call('HGET', key, 'state')
  return (state == 'claimed' or state == 'applying') and redis.call('HGET', key, 'claimId') == claimId
end
local function now()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end`;

// ARGV: claimId, prefix, windowMs.
const CLAIM = `${SIBLINGS}
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'unknown' end
if state == 'used' or state == 'applying' then return 'used' end
if state == 'revoked' then return state end
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

// ARGV: claimId, prefix, '1' to keep the siblings.
const COMMIT = `${SIBLINGS}
if redis.call('HGET', KEYS[1], 'state') ~= 'claimed' or redis.call('HGET', KEYS[1], 'claimId') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'applying')
if ARGV[3] ~= '1' then
  for _, key in ipairs(siblings(KEYS[1], ARGV[2])) do
    local state = redis.call('HGET', key, 'state')
    if state == 'active' or state == 'claimed' then redis.call('HSET', key, 'state', 'revoked', 'revokedBy', ARGV[1]) end
  end
end
return 1`;

const MARK_USED = `
if redis.call('HGET', KEYS[1], 'state') ~= 'applying' or redis.call('HGET', KEYS[1], 'claimId') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'used')
return 1`;

// A superseded token (a newer request's email was queued meanwhile) is revoked rather than freed.
const RELEASE = `${SIBLINGS}
if not held(KEYS[1], ARGV[1]) then return 0 end
local function freed(key)
  return redis.call('HGET', key, 'superseded') == '1' and 'revoked' or 'active'
end
local committed = redis.call('HGET', KEYS[1], 'state') == 'applying'
redis.call('HSET', KEYS[1], 'state', freed(KEYS[1]))
if committed then
  for _, key in ipairs(siblings(KEYS[1], ARGV[2])) do
    if redis.call('HGET', key, 'state') == 'revoked' and redis.call('HGET', key, 'revokedBy') == ARGV[1] then
      redis.call('HSET', key, 'state', freed(key))
      redis.call('HDEL', key, 'revokedBy')
    end
  end
end
return 1`;

// KEYS: the user's sets, one per purpose. ARGV: token key prefix, '1' to revoke tokens being
// redeemed too, the generation below which tokens are superseded ('' for all), then the hashes kept.
const REVOKE_ALL = `
local keep = {}
for i = 4, #ARGV do keep[ARGV[i]] = true end
local below = tonumber(ARGV[3])
for _, set in ipairs(KEYS) do
  for _, hash in ipairs(redis.call('SMEMBERS', set)) do
    local key = ARGV[1] .. hash
    if not keep[hash] and (not below or tonumber(redis.call('HGET', key, 'generation') or '0') < below) then
      local state = redis.call('HGET', key, 'state')
      if below and state then redis.call('HSET', key, 'superseded', '1') end
      if state == 'active' or ((state == 'claimed' or state == 'applying') and ARGV[2] == '1') then redis.call('HSET', key, 'state', 'revoked') end
    end
  end
end
return 1`;

// Microseconds of Redis' clock, strictly above the last one given: ordered across every process.
const NEXT_GENERATION = `
local time = redis.call('TIME')
local at = tonumber(time[1]) * 1000000 + tonumber(time[2])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if at <= last then at = last + 1 end
redis.call('SET', KEYS[1], string.format('%.0f', at), 'PX', ARGV[1])
return string.format('%.0f', at)`;

// ARGV: value, ttlMs, 'any' | 'absent' | 'equals', expected value.
const WRITE_COUNTER = `
local current = redis.call('GET', KEYS[1])
if ARGV[3] == 'absent' and current then return 0 end
if ARGV[3] == 'equals' and current ~= ARGV[4] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

const NOT_DONE = 'The request did not complete.';
/** How long the last generation is kept: a later one is larger anyway, as Redis' clock moves on. */
const GENERATION_KEEP_MS = 3_600_000;

/**
 * Token hashes in Redis, shared by every process. Records outlive their expiry by `retentionMs`
 * so an old link is answered "expired" or "already used" rather than "unknown".
 * Key layout: `<prefix>:token:<hash>` (hash), `<prefix>:user-tokens:<purpose>:<userId>` (set),
 * `<prefix>:token-generation:<purpose>:<userId>` and `<prefix>:code-counter:<keyed name>` (strings).
 * Each call settles within `commandTimeoutMs`, with QueueUnavailableError when Redis does not answer.
 */
export class RedisTokenStore implements TokenStore {
  constructor(
    private readonly redis: RedisClient,
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
        .del(this.tokenKey(hash))
        .hset(this.tokenKey(hash), {
          userId: record.userId,
          purpose: record.purpose,
          email: record.email,
          expiresAt: String(record.expiresAt),
          state: record.state,
          ...(record.mac === undefined ? {} : { mac: record.mac }),
          ...(record.sealed === undefined ? {} : { sealed: record.sealed }),
          ...(record.generation === undefined ? {} : { generation: String(record.generation) }),
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
    return recordOf(await this.bounded(() => this.redis.hgetall(this.tokenKey(hash))));
  }

  async findAll(userId: string, purpose: TokenPurpose): Promise<Array<{ hash: string; record: TokenRecord }>> {
    return this.bounded(async () => {
      const hashes = await this.redis.smembers(this.userKey(userId, purpose));
      // One round trip for all of them, not one per token.
      const replies = (await hashes.reduce((batch, hash) => batch.hgetall(this.tokenKey(hash)), this.redis.pipeline()).exec()) ?? [];
      return hashes.flatMap((hash, index) => {
        const record = recordOf((replies[index]?.[1] ?? {}) as Record<string, string>);
        return record ? [{ hash, record }] : [];
      });
    });
  }

  async nextGeneration(userId: string, purpose: TokenPurpose): Promise<number> {
    const key = `${this.prefix}:token-generation:${purpose}:${userId}`;
    return Number(await this.bounded(() => this.redis.eval(NEXT_GENERATION, 1, key, String(GENERATION_KEEP_MS))));
  }

  async claim(hash: string, claimId: string, windowMs: number): Promise<ClaimOutcome> {
    return (await this.script(CLAIM, hash, claimId, String(windowMs))) as ClaimOutcome;
  }

  async renew(hash: string, claimId: string): Promise<boolean> {
    return (await this.script(RENEW, hash, claimId)) === 1;
  }

  async commit(hash: string, claimId: string, options: { keepSiblings?: boolean } = {}): Promise<boolean> {
    return (await this.script(COMMIT, hash, claimId, options.keepSiblings ? '1' : '0')) === 1;
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

  async revokeAll(userId: string, purposes: readonly TokenPurpose[], keepHashes: readonly string[], options: { claimed?: boolean; olderThan?: number } = {}): Promise<void> {
    if (purposes.length === 0) return;
    const sets = purposes.map((purpose) => this.userKey(userId, purpose));
    const below = options.olderThan === undefined ? '' : String(options.olderThan);
    await this.bounded(() => this.redis.eval(REVOKE_ALL, sets.length, ...sets, `${this.prefix}:token:`, options.claimed ? '1' : '0', below, ...keepHashes));
  }

  async readCounter(key: string): Promise<string | undefined> {
    return (await this.bounded(() => this.redis.get(this.counterKey(key)))) ?? undefined;
  }

  async writeCounter(key: string, value: string, ttlMs: number, expected?: string | null): Promise<boolean> {
    const mode = expected === undefined ? 'any' : expected === null ? 'absent' : 'equals';
    const written = await this.bounded(() => this.redis.eval(WRITE_COUNTER, 1, this.counterKey(key), value, String(ttlMs), mode, expected ?? ''));
    return written === 1;
  }

  private counterKey(key: string): string {
    return `${this.prefix}:code-counter:${key}`;
  }
}

/** A record as stored, or undefined for a missing key. */
function recordOf(fields: Record<string, string>): TokenRecord | undefined {
  if (!fields.state) return undefined;
  return {
    userId: fields.userId,
    purpose: fields.purpose as TokenPurpose,
    email: fields.email,
    expiresAt: Number(fields.expiresAt),
    state: fields.state as TokenRecord['state'],
    mac: fields.mac,
    ...(fields.sealed === undefined ? {} : { sealed: fields.sealed }),
    ...(fields.generation === undefined ? {} : { generation: Number(fields.generation) }),
  };
}
