import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { InvalidTokenError } from '../../lib/errors';
import { MemoryTokenStore, RedisTokenStore } from '../../lib/tokens';
import type { TokenStore } from '../../lib/tokens';
import { deleteKeys, REDIS_URL, uniquePrefix } from '../support/redis';
import { TimedTokens } from '../support/timed-tokens';
import { until } from '../support/wait';

// Issue 12, points 2 and 3: redeeming one of a user's links voids the others in the same atomic step,
// and a claim stays exclusive however long the action behind it runs.

const RETENTION_MS = 60_000;
const COMMAND_TIMEOUT_MS = 5_000;
const WINDOW_MS = 300;
const user = { id: 'u-1', email: 'ada@example.test' };
const key = randomBytes(32);

/** Two handles on one set of tokens: for Redis, two connections, as two processes would have. */
interface Stores {
  first: TokenStore;
  second: TokenStore;
  close(): Promise<void>;
}

function memoryStores(): Stores {
  const store = new MemoryTokenStore(RETENTION_MS);
  return { first: store, second: store, async close() {} };
}

function redisStores(prefix = uniquePrefix()): Stores & { prefix: string } {
  const connections = [new Redis(REDIS_URL), new Redis(REDIS_URL)];
  const [first, second] = connections.map((redis) => new RedisTokenStore(redis, prefix, RETENTION_MS, COMMAND_TIMEOUT_MS));
  return {
    prefix,
    first,
    second,
    async close() {
      await deleteKeys(prefix);
      connections.forEach((redis) => redis.disconnect());
    },
  };
}

function tokensOn(store: TokenStore, claimWindowMs = WINDOW_MS): TimedTokens {
  return new TimedTokens(store, key, { 'verify-email': 3_600, 'reset-password': 600 }, { claimWindowMs });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe.each<[string, () => Stores]>([
  ['MemoryTokenStore', memoryStores],
  ['RedisTokenStore', () => redisStores()],
])('claims on %s', (_name, open) => {
  let stores: Stores;

  beforeEach(() => {
    stores = open();
  });

  afterEach(async () => {
    await stores.close();
  });

  it('20 trials of two sibling reset links redeemed at once: exactly one wins each time, the other is void', async () => {
    const [a, b] = [tokensOn(stores.first), tokensOn(stores.second)];
    for (let trial = 0; trial < 20; trial++) {
      const links = [await a.issue(user, 'reset-password'), await a.issue(user, 'reset-password')];
      const changes = jest.fn(async () => sleep(10));
      const results = await Promise.allSettled([a.redeem(links[0].token, 'reset-password', changes), b.redeem(links[1].token, 'reset-password', changes)]);

      expect(changes).toHaveBeenCalledTimes(1);
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      const [lost] = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(lost.reason).toBeInstanceOf(InvalidTokenError);
      // Neither link works afterwards: one is used, the other voided with it.
      const states = await Promise.all(links.map(({ token }) => a.inspect(token, 'reset-password').then(() => 'usable', (e: InvalidTokenError) => e.reason)));
      expect(states.sort()).toEqual(['expired', 'used']);
    }
  });

  it('a failed redemption voids nothing: the sibling link still works', async () => {
    const tokens = tokensOn(stores.first);
    const [failing, sibling] = [await tokens.issue(user, 'reset-password'), await tokens.issue(user, 'reset-password')];
    await expect(tokens.redeem(failing.token, 'reset-password', async () => Promise.reject(new Error('password rejected')))).rejects.toThrow('password rejected');
    await expect(tokensOn(stores.second).redeem(sibling.token, 'reset-password', async () => 'changed')).resolves.toBe('changed');
    await expect(tokens.inspect(failing.token, 'reset-password')).rejects.toMatchObject({ reason: 'expired' });
  });

  it(`an action lasting 2× the claim window (${2 * WINDOW_MS} ms) admits no second redemption, of the token or a sibling`, async () => {
    const [a, b] = [tokensOn(stores.first), tokensOn(stores.second)];
    const link = await a.issue(user, 'reset-password');
    const sibling = await a.issue(user, 'reset-password');
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const first = a.redeem(link.token, 'reset-password', async () => {
      started();
      await sleep(2 * WINDOW_MS);
      return 'first';
    });
    await running;
    const second = jest.fn(async () => 'second');

    await sleep(WINDOW_MS + 50);
    await expect(b.redeem(link.token, 'reset-password', second)).rejects.toMatchObject({ reason: 'used' });
    await expect(b.redeem(sibling.token, 'reset-password', second)).rejects.toMatchObject({ reason: 'used' });
    await sleep(WINDOW_MS / 2);
    await expect(b.redeem(link.token, 'reset-password', second)).rejects.toMatchObject({ reason: 'used' });

    await expect(first).resolves.toBe('first');
    await expect(b.redeem(link.token, 'reset-password', second)).rejects.toMatchObject({ reason: 'used' });
    await expect(b.redeem(sibling.token, 'reset-password', second)).rejects.toMatchObject({ reason: 'expired' });
    expect(second).not.toHaveBeenCalled();
  });

  it('a crashed claim (claimed, never renewed) lapses after the window, and the link works again', async () => {
    const tokens = tokensOn(stores.second);
    const { token } = await tokens.issue(user, 'reset-password');
    // What a process that died mid-redemption leaves behind.
    expect(await stores.first.claim(tokens.hash(token), 'crashed', WINDOW_MS)).toBe('claimed');
    await expect(tokens.redeem(token, 'reset-password', async () => 'too soon')).rejects.toMatchObject({ reason: 'used' });

    await sleep(WINDOW_MS + 20);
    await expect(tokens.redeem(token, 'reset-password', async () => 'recovered')).resolves.toBe('recovered');
    // The crashed process's claim id no longer holds anything: it cannot undo or reuse the redemption.
    expect(await stores.first.renew(tokens.hash(token), 'crashed')).toBe(false);
    await stores.first.release(tokens.hash(token), 'crashed');
    expect((await stores.first.find(tokens.hash(token)))?.state).toBe('used');
  });
});

describe('RedisTokenStore claims are timed by Redis TIME', () => {
  let stores: ReturnType<typeof redisStores>;
  const redis = new Redis(REDIS_URL);
  const redisNow = async () => {
    const [seconds, micros] = await redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  };

  beforeEach(() => {
    stores = redisStores();
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await stores.close();
  });

  afterAll(() => redis.disconnect());

  it("records the claim at Redis' time and ignores the process clock, however far it is off", async () => {
    const tokens = tokensOn(stores.first);
    const { token } = await tokens.issue(user, 'reset-password');
    const tokenKey = `${stores.prefix}:token:${tokens.hash(token)}`;

    const before = await redisNow();
    expect(await stores.first.claim(tokens.hash(token), 'crashed', WINDOW_MS)).toBe('claimed');
    const claimedAt = Number(await redis.hget(tokenKey, 'claimedAt'));
    expect(claimedAt).toBeGreaterThanOrEqual(before);
    expect(claimedAt).toBeLessThanOrEqual(await redisNow());

    // A process whose clock runs an hour ahead would see the claim as long lapsed: it is still live.
    jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 3_600_000);
    expect(await stores.second.claim(tokens.hash(token), 'skewed', WINDOW_MS)).toBe('busy');
    jest.restoreAllMocks();

    // Recovery comes once Redis' own clock has passed the window.
    await until(async () => (await redisNow()) >= claimedAt + WINDOW_MS, 'Redis time past the claim window', 5_000);
    expect(await stores.second.claim(tokens.hash(token), 'recovering', WINDOW_MS)).toBe('claimed');
  });

  it('a claim dated by Redis time (edited in Redis) is live until Redis time passes its window', async () => {
    const tokens = tokensOn(stores.first);
    const { token } = await tokens.issue(user, 'reset-password');
    const tokenKey = `${stores.prefix}:token:${tokens.hash(token)}`;
    const claimedAt = (await redisNow()) - WINDOW_MS + 150;
    await redis.hset(tokenKey, { state: 'claimed', claimedAt: String(claimedAt), claimId: 'crashed' });

    expect(await stores.second.claim(tokens.hash(token), 'next', WINDOW_MS)).toBe('busy');
    await until(async () => (await redisNow()) >= claimedAt + WINDOW_MS, 'Redis time past the claim window', 5_000);
    expect(await stores.second.claim(tokens.hash(token), 'next', WINDOW_MS)).toBe('claimed');
  });
});
