import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { EmailWorkflowErrorCode, InvalidTokenError } from '../../lib/errors';
import { MemoryTokenStore, RedisTokenStore } from '../../lib/tokens';
import type { TokenPurpose, TokenRecord, TokenStore } from '../../lib/tokens';
import { deleteKeys, dumpKeys, REDIS_URL, uniquePrefix } from '../support/redis';
import { TimedTokens } from '../support/timed-tokens';
import { DataSource } from 'typeorm';
import { DatabaseTokenStore } from '../../sample-app/src/database/database-token.store';
import { CounterRow, ENTITIES, TokenRow } from '../../sample-app/src/database/entities';
import { InitialSchema1765090000000 } from '../../sample-app/src/database/initial-schema.migration';
import { until } from '../support/wait';

const RETENTION_MS = 60_000;
const COMMAND_TIMEOUT_MS = 5_000;
const STALE_MS = 60_000;
const CLAIM_ID = 'claim-1';
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** A store under test, with what the checks need to look inside it. */
interface StoreUnderTest {
  store: TokenStore;
  /** Every key and value the store holds, as text. */
  contents(): Promise<string[]>;
  /** A second handle on the same data (another connection for Redis), for concurrency checks. */
  another(): TokenStore;
  close(): Promise<void>;
}

type StoreFactory = () => Promise<StoreUnderTest>;

async function memoryStore(): Promise<StoreUnderTest> {
  const store = new MemoryTokenStore(RETENTION_MS);
  return {
    store,
    async contents() {
      const records = (store as unknown as { records: Map<string, unknown> }).records;
      return [...records].flatMap(([key, value]) => [key, JSON.stringify(value)]);
    },
    another: () => store,
    async close() {},
  };
}

async function redisStore(): Promise<StoreUnderTest> {
  const prefix = uniquePrefix();
  const connections: Redis[] = [];
  const connect = () => {
    const redis = new Redis(REDIS_URL);
    connections.push(redis);
    return redis;
  };
  return {
    store: new RedisTokenStore(connect(), prefix, RETENTION_MS, COMMAND_TIMEOUT_MS),
    async contents() {
      return [...(await dumpKeys(prefix))].flat();
    },
    another: () => new RedisTokenStore(connect(), prefix, RETENTION_MS, COMMAND_TIMEOUT_MS),
    async close() {
      await deleteKeys(prefix);
      connections.forEach((redis) => redis.disconnect());
    },
  };
}

/** The sample app's store (issue 27): tokens in its database, here SQLite through sql.js in memory. */
async function sampleDatabaseStore(): Promise<StoreUnderTest> {
  const dataSource = await new DataSource({ type: 'sqljs', entities: ENTITIES, migrations: [InitialSchema1765090000000], migrationsRun: true }).initialize();
  const store = new DatabaseTokenStore(dataSource.getRepository(TokenRow), dataSource.getRepository(CounterRow));
  return {
    store,
    async contents() {
      const rows = await dataSource.getRepository(TokenRow).find();
      return rows.flatMap((row) => [row.hash, row.record]);
    },
    another: () => store,
    close: () => dataSource.destroy(),
  };
}

const STORES: Array<[string, StoreFactory]> = [
  ['MemoryTokenStore', memoryStore],
  ['RedisTokenStore', redisStore],
  ["the sample's DatabaseTokenStore", sampleDatabaseStore],
];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A fresh, store-shaped hash (the stores treat it as an opaque key). */
function newHash(): string {
  return randomBytes(32).toString('base64url');
}

function record(overrides: Partial<TokenRecord> = {}): TokenRecord {
  return {
    userId: 'u-1',
    purpose: 'verify-email',
    email: 'ada@example.test',
    expiresAt: Date.now() + 3_600_000,
    state: 'active',
    ...overrides,
  };
}

async function reasonOf(promise: Promise<unknown>): Promise<{ reason: string; code: string }> {
  const error = await promise.then(
    () => {
      throw new Error('expected an InvalidTokenError, but it resolved');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidTokenError);
  const { reason, code } = error as InvalidTokenError;
  return { reason, code };
}

describe.each(STORES)('%s contract', (_name, factory) => {
  let subject: StoreUnderTest;
  let store: TokenStore;

  beforeEach(async () => {
    subject = await factory();
    store = subject.store;
  });

  afterEach(async () => {
    await subject.close();
  });

  it('save then find returns the record; find of an unknown hash is undefined', async () => {
    const hash = newHash();
    const saved = record({ expiresAt: 1_900_000_000_123 });
    await store.save(hash, saved);

    expect(await store.find(hash)).toEqual(saved);
    expect(await store.find(newHash())).toBeUndefined();
  });

  it('find returns a copy: changing it does not change the store', async () => {
    const hash = newHash();
    await store.save(hash, record());
    const found = (await store.find(hash)) as TokenRecord;
    found.state = 'used';
    expect((await store.find(hash))?.state).toBe('active');
  });

  it("claim moves active → claimed, and a second claim is 'busy'", async () => {
    const hash = newHash();
    await store.save(hash, record());

    expect(await store.claim(hash, CLAIM_ID, STALE_MS)).toBe('claimed');
    expect((await store.find(hash))?.state).toBe('claimed');
    expect(await store.claim(hash, CLAIM_ID, STALE_MS)).toBe('busy');
    expect(await store.claim(hash, CLAIM_ID, STALE_MS)).toBe('busy');
    expect((await store.find(hash))?.state).toBe('claimed');
  });

  it('a claim older than its window can be claimed again, by the store clock', async () => {
    const hash = newHash();
    await store.save(hash, record());
    const windowMs = 100;

    expect(await store.claim(hash, 'crashed', windowMs)).toBe('claimed');
    expect(await store.claim(hash, 'next', windowMs)).toBe('busy');
    await sleep(windowMs + 20);
    expect(await store.claim(hash, 'next', windowMs)).toBe('claimed');
    // The re-claim restarted the clock.
    expect(await store.claim(hash, 'third', windowMs)).toBe('busy');
    // With a short staleness window the same claim is stale at once.
    await sleep(5);
    expect(await store.claim(hash, 'third', 1)).toBe('claimed');
  });

  it("markUsed after a claim and commit: state 'used', and every later claim answers 'used'", async () => {
    const hash = newHash();
    await store.save(hash, record());
    await store.claim(hash, CLAIM_ID, STALE_MS);
    expect(await store.commit(hash, CLAIM_ID)).toBe(true);
    expect(await store.claim(hash, 'other', STALE_MS)).toBe('used');
    await store.markUsed(hash, CLAIM_ID);

    expect((await store.find(hash))?.state).toBe('used');
    expect(await store.claim(hash, CLAIM_ID, STALE_MS)).toBe('used');
    expect(await store.claim(hash, CLAIM_ID, STALE_MS)).toBe('used');
    await store.release(hash, CLAIM_ID);
    expect((await store.find(hash))?.state).toBe('used');
  });

  it('release makes a claimed token claimable again', async () => {
    const hash = newHash();
    await store.save(hash, record());
    await store.claim(hash, CLAIM_ID, STALE_MS);
    await store.release(hash, CLAIM_ID);

    expect((await store.find(hash))?.state).toBe('active');
    expect(await store.claim(hash, CLAIM_ID, STALE_MS)).toBe('claimed');
  });

  it('release of an active token leaves it active', async () => {
    const hash = newHash();
    await store.save(hash, record());
    await store.release(hash, CLAIM_ID);
    expect((await store.find(hash))?.state).toBe('active');
  });

  it('revokeAll with olderThan revokes the active tokens of lower generations only, of that user and purpose, and marks those being redeemed superseded', async () => {
    const [older, claimedOlder, newer, usedOlder, otherPurpose, otherUser] = [newHash(), newHash(), newHash(), newHash(), newHash(), newHash()];
    await store.save(older, record({ purpose: 'reset-password', generation: 1 }));
    await store.save(claimedOlder, record({ purpose: 'reset-password', generation: 1 }));
    await store.save(newer, record({ purpose: 'reset-password', generation: 3 }));
    await store.save(usedOlder, record({ purpose: 'reset-password', state: 'used', generation: 1 }));
    await store.save(otherPurpose, record({ purpose: 'verify-email', generation: 1 }));
    await store.save(otherUser, record({ purpose: 'reset-password', userId: 'u-2', email: 'bob@example.test', generation: 1 }));
    await store.claim(claimedOlder, CLAIM_ID, STALE_MS);

    await store.revokeAll('u-1', ['reset-password'], [], { olderThan: 2 });

    expect((await store.find(older))?.state).toBe('revoked');
    expect((await store.find(newer))?.state).toBe('active');
    expect((await store.find(claimedOlder))?.state).toBe('claimed');
    expect((await store.find(usedOlder))?.state).toBe('used');
    expect((await store.find(otherPurpose))?.state).toBe('active');
    expect((await store.find(otherUser))?.state).toBe('active');
    // The one being redeemed was superseded: if its redemption fails, it is revoked, not freed.
    await store.release(claimedOlder, CLAIM_ID);
    expect((await store.find(claimedOlder))?.state).toBe('revoked');
    // A revoked token stays revoked: release and markUsed only act on a held one.
    await store.release(older, CLAIM_ID);
    expect((await store.find(older))?.state).toBe('revoked');
  });

  it('commit revokes the siblings and release after a commit gives them back, unless superseded', async () => {
    const [redeemed, sibling, supersededSibling] = [newHash(), newHash(), newHash()];
    await store.save(redeemed, record({ purpose: 'reset-password', generation: 5 }));
    await store.save(sibling, record({ purpose: 'reset-password', generation: 5 }));
    await store.save(supersededSibling, record({ purpose: 'reset-password', generation: 1 }));
    await store.claim(redeemed, CLAIM_ID, STALE_MS);
    expect(await store.commit(redeemed, CLAIM_ID)).toBe(true);
    expect((await store.find(sibling))?.state).toBe('revoked');
    expect(await store.claim(sibling, 'other', STALE_MS)).toBe('revoked');
    await store.revokeAll('u-1', ['reset-password'], [redeemed, sibling], { olderThan: 2 });

    await store.release(redeemed, CLAIM_ID);

    expect((await store.find(redeemed))?.state).toBe('active');
    expect((await store.find(sibling))?.state).toBe('active');
    expect((await store.find(supersededSibling))?.state).toBe('revoked');
  });

  it('commit with keepSiblings leaves the siblings active; commit of a claim lost to a revocation fails', async () => {
    const [revert1, revert2] = [newHash(), newHash()];
    await store.save(revert1, record({ purpose: 'revert-email-change' }));
    await store.save(revert2, record({ purpose: 'revert-email-change' }));
    await store.claim(revert1, CLAIM_ID, STALE_MS);
    expect(await store.commit(revert1, CLAIM_ID, { keepSiblings: true })).toBe(true);
    expect((await store.find(revert2))?.state).toBe('active');

    const confirm = newHash();
    await store.save(confirm, record({ purpose: 'confirm-email-change' }));
    await store.claim(confirm, 'confirming', STALE_MS);
    await store.revokeAll('u-1', ['confirm-email-change'], [], { claimed: true });
    expect(await store.commit(confirm, 'confirming')).toBe(false);
    expect(await store.renew(confirm, 'confirming')).toBe(false);
  });

  it('nextGeneration is strictly increasing, also across handles; counters swap only from the value expected', async () => {
    const generations: number[] = [];
    for (let i = 0; i < 50; i++) generations.push(await store.nextGeneration('u-1', 'sign-in'));
    expect(generations.every((generation, i) => i === 0 || generation > generations[i - 1])).toBe(true);

    expect(await store.readCounter('c')).toBeUndefined();
    expect(await store.writeCounter('c', 'one', 60_000, 'zero')).toBe(false);
    expect(await store.writeCounter('c', 'one', 60_000, null)).toBe(true);
    expect(await store.writeCounter('c', 'two', 60_000, null)).toBe(false);
    expect(await store.writeCounter('c', 'two', 60_000, 'one')).toBe(true);
    expect(await store.writeCounter('c', 'three', 60_000)).toBe(true);
    expect(await store.readCounter('c')).toBe('three');
  });

  it("claim of an unknown hash is 'unknown'", async () => {
    expect(await store.claim(newHash(), CLAIM_ID, STALE_MS)).toBe('unknown');
    await store.markUsed(newHash(), CLAIM_ID);
    await store.release(newHash(), CLAIM_ID);
  });

  it("20 concurrent claims of one token: exactly one 'claimed', the rest 'busy'", async () => {
    const hash = newHash();
    await store.save(hash, record());
    const handles = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? store : subject.another()));
    const outcomes = await Promise.all(handles.map((handle) => handle.claim(hash, CLAIM_ID, STALE_MS)));

    expect(outcomes.filter((outcome) => outcome === 'claimed')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === 'busy')).toHaveLength(19);
  });
});

describe('RedisTokenStore specifics', () => {
  let subject: StoreUnderTest;
  const prefixOf = (store: TokenStore) => (store as unknown as { prefix: string }).prefix;

  beforeEach(async () => {
    subject = await redisStore();
  });

  afterEach(async () => {
    await subject.close();
  });

  it('sets both keys to expire at expiry + retention, so Redis drops them on its own', async () => {
    const redis = new Redis(REDIS_URL);
    try {
      const hash = newHash();
      const expiresAt = Date.now() + 10_000;
      await subject.store.save(hash, record({ expiresAt }));
      const prefix = prefixOf(subject.store);
      const keys = (await redis.keys(`${prefix}:*`)).sort();
      expect(keys).toEqual([`${prefix}:token:${hash}`, `${prefix}:user-tokens:verify-email:u-1`]);
      for (const key of keys) {
        const expireAt = await redis.pexpiretime(key);
        expect(expireAt).toBe(expiresAt + RETENTION_MS);
      }
    } finally {
      redis.disconnect();
    }
  });

  it('200 concurrent claims over 10 connections on 10 tokens: one winner per token', async () => {
    const hashes = Array.from({ length: 10 }, () => newHash());
    // One user each: tokens of one user are siblings, of which only one may be claimed at a time.
    for (const [i, hash] of hashes.entries()) await subject.store.save(hash, record({ userId: `u-${i}` }));
    const handles = Array.from({ length: 10 }, () => subject.another());
    const outcomes = await Promise.all(
      hashes.flatMap((hash) => Array.from({ length: 20 }, (_, i) => handles[i % handles.length].claim(hash, CLAIM_ID, STALE_MS).then((outcome) => [hash, outcome] as const))),
    );
    for (const hash of hashes) {
      expect(outcomes.filter(([h, outcome]) => h === hash && outcome === 'claimed')).toHaveLength(1);
    }
  });
});

describe.each(STORES)('EmailTokens on %s', (_name, factory) => {
  let subject: StoreUnderTest;
  let tokens: TimedTokens;
  const key = randomBytes(32);
  const user = { id: 'u-1', email: 'ada@example.test' };

  function tokensWith(ttl: Partial<Record<TokenPurpose, number>> = {}, store: TokenStore = subject.store): TimedTokens {
    return new TimedTokens(store, key, { 'verify-email': 3_600, 'reset-password': 600, ...ttl });
  }

  beforeEach(async () => {
    subject = await factory();
    tokens = tokensWith();
  });

  afterEach(async () => {
    await subject.close();
  });

  it('issues 43-character base64url tokens that are all different, with the purpose TTL', async () => {
    const before = Date.now();
    const issued = await Promise.all(Array.from({ length: 20 }, () => tokens.issue(user, 'reset-password')));
    const after = Date.now();
    for (const { token, expiresAt } of issued) {
      expect(token).toMatch(TOKEN_SHAPE);
      expect(expiresAt.getTime()).toBeGreaterThanOrEqual(before + 600_000);
      expect(expiresAt.getTime()).toBeLessThanOrEqual(after + 600_000);
    }
    expect(new Set(issued.map(({ token }) => token)).size).toBe(20);
  });

  it('the store never holds a raw token, only its HMAC', async () => {
    const issued = [await tokens.issue(user, 'verify-email'), await tokens.issue(user, 'reset-password')];
    const contents = (await subject.contents()).join('\n');

    for (const { token } of issued) {
      expect(contents).not.toContain(token);
      expect(contents).toContain(tokens.hash(token));
      expect(tokens.hash(token)).not.toBe(token);
    }
    // The HMAC depends on the key: another key gives another hash.
    expect(tokensWith({}, subject.store).hash(issued[0].token)).toBe(tokens.hash(issued[0].token));
    expect(new TimedTokens(subject.store, randomBytes(32), { 'verify-email': 1, 'reset-password': 1 }).hash(issued[0].token)).not.toBe(
      tokens.hash(issued[0].token),
    );
  });

  it.each([
    ['user id', { userId: 'u-2' }],
    ['address hash', { email: 'another-address-hash' }],
    ['purpose', { purpose: 'verify-email' as const }],
    ['expiry', { expiresAt: Date.now() + 86_400_000 }],
    ['MAC', { mac: 'forged' }],
  ])('a record whose %s was edited in the store fails its MAC: refused as unknown, the action never runs', async (_field, edit) => {
    const { token } = await tokens.issue(user, 'reset-password');
    const hash = tokens.hash(token);
    await subject.store.save(hash, { ...((await subject.store.find(hash)) as TokenRecord), ...edit });
    const runs: string[] = [];

    await expect(tokens.inspect(token, 'reset-password')).rejects.toMatchObject({ reason: 'unknown' });
    await expect(tokens.redeem(token, 'reset-password', async (record) => void runs.push(record.userId))).rejects.toMatchObject({ reason: 'unknown' });
    expect(runs).toEqual([]);
  });

  it('a MAC from another secret does not verify', async () => {
    const { token } = await tokens.issue(user, 'verify-email');
    const other = new TimedTokens(subject.store, key, { 'verify-email': 3_600, 'reset-password': 600 }, { recordKey: randomBytes(32) });
    await expect(other.inspect(token, 'verify-email')).rejects.toMatchObject({ reason: 'unknown' });
  });

  it('inspect returns the record without using it up', async () => {
    const { token, expiresAt } = await tokens.issue(user, 'verify-email');
    const inspected = await tokens.inspect(token, 'verify-email');

    // The record holds a keyed hash of the address, never the address, and its MAC (issue 12, points 1 and 9).
    expect(inspected).toEqual({
      userId: 'u-1',
      purpose: 'verify-email',
      email: expect.not.stringContaining('ada'),
      expiresAt: expiresAt.getTime(),
      state: 'active',
      hash: tokens.hash(token),
      mac: expect.any(String),
    });
    expect(tokens.issuedTo(inspected, 'ada@example.test')).toBe(true);
    expect(tokens.issuedTo(inspected, 'bob@example.test')).toBe(false);
    await tokens.inspect(token, 'verify-email');
    expect(await tokens.redeem(token, 'verify-email', async () => 'ok')).toBe('ok');
  });

  it.each([
    ['a random well-formed token', randomBytes(32).toString('base64url')],
    ['a malformed token', 'not-a-token'],
    ['an empty string', ''],
    ['a token with a bad character', `${randomBytes(32).toString('base64url').slice(0, 42)}=`],
  ])('inspect and redeem refuse %s as unknown', async (_what, token) => {
    expect(await reasonOf(tokens.inspect(token, 'verify-email'))).toEqual({ reason: 'unknown', code: EmailWorkflowErrorCode.TokenUnknown });
    const action = jest.fn(async () => 'ran');
    expect(await reasonOf(tokens.redeem(token, 'verify-email', action))).toEqual({ reason: 'unknown', code: 'EMAIL_WORKFLOW_TOKEN_UNKNOWN' });
    expect(action).not.toHaveBeenCalled();
  });

  it('a stored hash is not a token: presenting the HMAC itself is unknown', async () => {
    const { token } = await tokens.issue(user, 'verify-email');
    expect((await reasonOf(tokens.inspect(tokens.hash(token), 'verify-email'))).code).toBe('EMAIL_WORKFLOW_TOKEN_UNKNOWN');
  });

  it('a token of the other purpose is refused as wrong-purpose, and stays usable for its own', async () => {
    const { token } = await tokens.issue(user, 'verify-email');
    expect(await reasonOf(tokens.inspect(token, 'reset-password'))).toEqual({
      reason: 'wrong-purpose',
      code: 'EMAIL_WORKFLOW_TOKEN_WRONG_PURPOSE',
    });
    const action = jest.fn(async () => undefined);
    expect((await reasonOf(tokens.redeem(token, 'reset-password', action))).code).toBe('EMAIL_WORKFLOW_TOKEN_WRONG_PURPOSE');
    expect(action).not.toHaveBeenCalled();
    await expect(tokens.redeem(token, 'verify-email', async () => 'ok')).resolves.toBe('ok');
  });

  it('an expired token is refused as expired', async () => {
    const shortLived = tokensWith({ 'verify-email': 1 });
    const { token } = await shortLived.issue(user, 'verify-email');
    await expect(shortLived.inspect(token, 'verify-email')).resolves.toMatchObject({ state: 'active' });
    // Inspecting does not use the token up, so it can be asked until the token's second is up.
    await until(() => shortLived.inspect(token, 'verify-email').then(() => false, () => true), 'the token to expire', 3_000, 50);

    expect(await reasonOf(shortLived.inspect(token, 'verify-email'))).toEqual({ reason: 'expired', code: 'EMAIL_WORKFLOW_TOKEN_EXPIRED' });
    const action = jest.fn(async () => undefined);
    expect((await reasonOf(shortLived.redeem(token, 'verify-email', action))).code).toBe('EMAIL_WORKFLOW_TOKEN_EXPIRED');
    expect(action).not.toHaveBeenCalled();
  });

  it('a used token is refused as used', async () => {
    const { token } = await tokens.issue(user, 'reset-password');
    await tokens.redeem(token, 'reset-password', async () => undefined);

    expect(await reasonOf(tokens.inspect(token, 'reset-password'))).toEqual({ reason: 'used', code: 'EMAIL_WORKFLOW_TOKEN_USED' });
    const action = jest.fn(async () => undefined);
    expect((await reasonOf(tokens.redeem(token, 'reset-password', action))).code).toBe('EMAIL_WORKFLOW_TOKEN_USED');
    expect(action).not.toHaveBeenCalled();
  });

  it('redeem passes the record to the action and returns its result', async () => {
    const { token } = await tokens.issue(user, 'reset-password');
    const result = await tokens.redeem(token, 'reset-password', async (redeemed) => ({ seen: redeemed }));
    expect(result.seen).toMatchObject({ userId: 'u-1', purpose: 'reset-password', hash: tokens.hash(token) });
    // The address as a keyed hash (issue 12, point 9).
    expect(tokens.issuedTo(result.seen, 'ada@example.test')).toBe(true);
    expect((await subject.store.find(tokens.hash(token)))?.state).toBe('used');
  });

  it('a throwing action leaves the token usable, and the error reaches the caller', async () => {
    const { token } = await tokens.issue(user, 'reset-password');
    const failure = new Error('the database is down');

    await expect(
      tokens.redeem(token, 'reset-password', async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect((await subject.store.find(tokens.hash(token)))?.state).toBe('active');
    await expect(tokens.inspect(token, 'reset-password')).resolves.toMatchObject({ state: 'active' });

    await expect(tokens.redeem(token, 'reset-password', async () => 'second try')).resolves.toBe('second try');
    expect((await reasonOf(tokens.inspect(token, 'reset-password'))).reason).toBe('used');
  });

  it('while one redeem runs, a second is refused as used; if the first fails, the token is usable again', async () => {
    const { token } = await tokens.issue(user, 'verify-email');
    let finish!: () => void;
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const first = tokens.redeem(token, 'verify-email', async () => {
      started();
      await new Promise<void>((resolve) => (finish = resolve));
      throw new Error('failed mid-way');
    });
    await running;

    const second = jest.fn(async () => undefined);
    expect((await reasonOf(tokens.redeem(token, 'verify-email', second))).code).toBe('EMAIL_WORKFLOW_TOKEN_USED');
    expect(second).not.toHaveBeenCalled();

    finish();
    await expect(first).rejects.toThrow('failed mid-way');
    await expect(tokens.redeem(token, 'verify-email', async () => 'third')).resolves.toBe('third');
  });

  it('20 concurrent redeems of one token: the action runs once', async () => {
    const { token } = await tokens.issue(user, 'reset-password');
    const action = jest.fn(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return 'done';
    });
    const instances = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? tokens : tokensWith({}, subject.another())));
    const results = await Promise.allSettled(instances.map((instance) => instance.redeem(token, 'reset-password', action)));

    expect(action).toHaveBeenCalledTimes(1);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    for (const result of results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')) {
      expect(result.reason).toBeInstanceOf(InvalidTokenError);
      expect((result.reason as InvalidTokenError).code).toBe('EMAIL_WORKFLOW_TOKEN_USED');
    }
  });

  it('redeeming voids the user’s other tokens of that purpose: they read as expired', async () => {
    const kept = await tokens.issue(user, 'reset-password');
    const sibling = await tokens.issue(user, 'reset-password');
    const verify = await tokens.issue(user, 'verify-email');
    const otherUser = await tokens.issue({ id: 'u-2', email: 'bob@example.test' }, 'reset-password');

    await tokens.redeem(kept.token, 'reset-password', async (redeemed) => redeemed);

    expect(await reasonOf(tokens.inspect(sibling.token, 'reset-password'))).toEqual({ reason: 'expired', code: 'EMAIL_WORKFLOW_TOKEN_EXPIRED' });
    expect((await reasonOf(tokens.redeem(sibling.token, 'reset-password', async () => undefined))).reason).toBe('expired');
    expect((await reasonOf(tokens.inspect(kept.token, 'reset-password'))).reason).toBe('used');
    await expect(tokens.inspect(verify.token, 'verify-email')).resolves.toMatchObject({ state: 'active' });
    await expect(tokens.inspect(otherUser.token, 'reset-password')).resolves.toMatchObject({ state: 'active', userId: 'u-2' });
  });

  it('seals a payload into the record, bound to the token and covered by the MAC, and binds the token to the address given', async () => {
    const { token } = await tokens.issue(user, 'confirm-email-change', 600, { address: 'New@Example.test', payload: 'new@example.test' });
    const record = await tokens.inspect(token, 'confirm-email-change');
    expect(record.payload).toBe('new@example.test');
    expect(tokens.issuedTo(record, 'new@example.test')).toBe(true);
    expect(tokens.issuedTo(record, user.email)).toBe(false);
    expect((await subject.contents()).join('\n')).not.toContain('new@example.test');

    // Another token's sealed value moved onto this record: the MAC no longer matches.
    const other = await tokens.issue(user, 'confirm-email-change', 600, { address: 'new@example.test', payload: 'evil@example.test' });
    const hash = tokens.hash(token);
    const stored = (await subject.store.find(hash))!;
    await subject.store.save(hash, { ...stored, sealed: (await subject.store.find(tokens.hash(other.token)))!.sealed });
    expect((await reasonOf(tokens.inspect(token, 'confirm-email-change'))).reason).toBe('unknown');
  });

  it('revokeAllOf voids the user’s active tokens of the purposes given but the one kept, and nothing else', async () => {
    const kept = await tokens.issue(user, 'revert-email-change');
    const revert = await tokens.issue(user, 'revert-email-change');
    const reset = await tokens.issue(user, 'reset-password');
    const signIn = await tokens.issue(user, 'sign-in');
    const otherUser = await tokens.issue({ id: 'u-2', email: 'bob@example.test' }, 'reset-password');

    await tokens.revokeAllOf(user.id, ['revert-email-change', 'reset-password'], tokens.hash(kept.token));

    expect((await reasonOf(tokens.inspect(revert.token, 'revert-email-change'))).reason).toBe('expired');
    expect((await reasonOf(tokens.inspect(reset.token, 'reset-password'))).reason).toBe('expired');
    await expect(tokens.inspect(kept.token, 'revert-email-change')).resolves.toMatchObject({ state: 'active' });
    await expect(tokens.inspect(signIn.token, 'sign-in')).resolves.toMatchObject({ state: 'active' });
    await expect(tokens.inspect(otherUser.token, 'reset-password')).resolves.toMatchObject({ state: 'active' });
    await tokens.revokeAllOf(user.id, ['sign-in', 'revert-email-change']);
    expect((await reasonOf(tokens.inspect(kept.token, 'revert-email-change'))).reason).toBe('expired');
    expect((await reasonOf(tokens.inspect(signIn.token, 'sign-in'))).reason).toBe('expired');
  });

  it('a code is bound to its address and purpose, and of several redemptions at once exactly one wins', async () => {
    const { code } = await tokens.issueCode(user, 'sign-in', 600);
    expect(code).toMatch(/^\d{6}$/);
    expect((await reasonOf(tokens.redeemCode('bob@example.test', code, 'sign-in', async () => 'no'))).reason).toBe('invalid-code');
    expect((await reasonOf(tokens.redeemCode(user.email, code, 'reset-password', async () => 'no'))).reason).toBe('invalid-code');
    const results = await Promise.allSettled(Array.from({ length: 3 }, () => tokens.redeemCode(' ADA@example.test', code, 'sign-in', async (record) => record.userId)));
    expect(results.filter((result) => result.status === 'fulfilled').map((result) => (result as PromiseFulfilledResult<string>).value)).toEqual(['u-1']);
    for (const result of results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')) expect(result.reason).toMatchObject({ reason: 'invalid-code' });
  });
});
