import { inspect } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { describeTarget, redisTargetOf } from '../../lib/redis';
import type { RedisTarget } from '../../lib/redis';
import { invalidOptionsError, localOptions } from '../support/module-options';

// Issue 21, points 1 to 3: every form of queue.redis, checked at boot with its fix, never echoing a password.

const PASSWORD = 'p@ss:w/rd-0123456789';
const ENCODED = encodeURIComponent(PASSWORD);

function target(redis: unknown): RedisTarget {
  const resolved = redisTargetOf(redis, 'queue.redis');
  if ('problem' in resolved) throw new Error(`unexpected problem: ${resolved.problem.problem}`);
  return resolved.value;
}

function problemOf(redis: unknown): string {
  const resolved = redisTargetOf(redis, 'queue.redis');
  if (!('problem' in resolved)) throw new Error('expected a problem');
  return `${resolved.problem.path}: ${resolved.problem.problem}. Fix: ${resolved.problem.fix}`;
}

describe('queue.redis forms', () => {
  it('redis:// and rediss:// become ioredis options, rediss:// with TLS, credentials decoded, db read', () => {
    expect(target(`redis://ada:${ENCODED}@10.0.0.1:6380/2`)).toEqual({ kind: 'single', options: { host: '10.0.0.1', port: 6380, username: 'ada', password: PASSWORD, db: 2 } });
    expect(target(`rediss://:${ENCODED}@cache.example.test`)).toEqual({ kind: 'single', options: { host: 'cache.example.test', port: 6379, password: PASSWORD, tls: { servername: 'cache.example.test' } } });
  });

  it('redis+sentinel:// lists the sentinels and the master name, with the failover detector on', () => {
    expect(target(`rediss+sentinel://:${ENCODED}@10.0.0.1:26379,10.0.0.2,[::1]:26380/mymaster/1`)).toEqual({
      kind: 'single',
      options: {
        sentinels: [
          { host: '10.0.0.1', port: 26379 },
          { host: '10.0.0.2', port: 26379 },
          { host: '::1', port: 26380 },
        ],
        name: 'mymaster',
        failoverDetector: true,
        password: PASSWORD,
        db: 1,
        tls: {},
      },
    });
    expect(target({ sentinels: [{ host: '10.0.0.1', port: 26379 }], name: 'mymaster' })).toMatchObject({ options: { failoverDetector: true } });
    expect(target({ sentinels: [{ host: '10.0.0.1', port: 26379 }], name: 'mymaster', failoverDetector: false })).toMatchObject({ options: { failoverDetector: false } });
  });

  it('a list of URLs and { cluster } are a Redis Cluster; credentials and TLS come from the first URL', () => {
    expect(target([`rediss://:${ENCODED}@10.0.0.1:7000`, '10.0.0.2:7001'])).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
      options: { redisOptions: { password: PASSWORD, tls: { servername: '10.0.0.1' } } },
    });
    expect(target({ cluster: { nodes: [{ host: '10.0.0.1', port: 7000 }], options: { scaleReads: 'master' } } })).toMatchObject({ kind: 'cluster', options: { scaleReads: 'master' } });
  });

  it('a function is the app’s own client factory', () => {
    const factory = () => new Redis({ lazyConnect: true });
    expect(target(factory)).toEqual({ kind: 'custom', create: factory });
  });

  it.each([
    ['a port past 65535', `redis://:${ENCODED}@127.0.0.1:99999`, 'port that is not a whole number'],
    ['a port that is not a number', `redis://:${ENCODED}@127.0.0.1:63x9`, 'not a valid URL'],
    ['another scheme', `http://:${ENCODED}@127.0.0.1:6379`, 'has the scheme http:'],
    ['a sentinel URL without a master name', `redis+sentinel://:${ENCODED}@10.0.0.1:26379`, 'not a Sentinel URL'],
    ['a bad database', `redis://:${ENCODED}@127.0.0.1:6379/x`, 'database that is not a whole number'],
    ['an empty cluster', [], 'lists no cluster node'],
    ['a cluster node with a bad port', [`redis://:${ENCODED}@10.0.0.1:0`], 'port that is not a whole number'],
  ])('%s is a problem with its fix, without the password', (_label, redis, expected) => {
    const text = problemOf(redis);
    expect(text).toContain(expected);
    expect(text).toContain('Fix: ');
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(ENCODED);
  });

  it('an ioredis client instance is refused with the factory as the fix', () => {
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    try {
      expect(problemOf(cluster)).toContain('pass a function that builds one each time');
    } finally {
      cluster.disconnect();
    }
  });

  it('descriptions name hosts, ports and master names, never a password', () => {
    const described = [
      target(`rediss://ada:${ENCODED}@10.0.0.1:6380/2`),
      target(`redis+sentinel://:${ENCODED}@10.0.0.1:26379,10.0.0.2:26379/mymaster`),
      target([`redis://:${ENCODED}@10.0.0.1:7000`, '10.0.0.2:7001']),
    ].map(describeTarget);
    expect(described).toEqual([
      'rediss://10.0.0.1:6380/2',
      'master "mymaster" of the sentinels redis+sentinel://10.0.0.1:26379,10.0.0.2:26379',
      'the Redis Cluster of 10.0.0.1:7000, 10.0.0.2:7001',
    ]);
    expect(described.join()).not.toContain(PASSWORD);
  });
});

describe('queue.redis at boot', () => {
  it('a bad URL is an InvalidOptionsError naming queue.redis, and nothing in it (util.inspect included) holds the password', async () => {
    const error = await invalidOptionsError(localOptions(2525, { secret: 's'.repeat(32), queue: { redis: `redis://:${ENCODED}@127.0.0.1:99999` } }));
    expect(error.problems.map((problem) => problem.path)).toEqual(['queue.redis']);
    expect(inspect(error, { depth: 10 })).not.toContain(PASSWORD);
    expect(inspect(error, { depth: 10 })).not.toContain(ENCODED);
  });

  it('a cluster with a prefix without a hash tag is refused with the braces as the fix; a Cluster factory boots the validator without TypeError', async () => {
    const error = await invalidOptionsError(localOptions(2525, { secret: 's'.repeat(32), queue: { redis: ['redis://127.0.0.1:7000'], prefix: 'email' } }));
    expect(error.problems).toEqual([expect.objectContaining({ path: 'queue.prefix', fix: expect.stringContaining('"{email}"') })]);
    const withFactory = await invalidOptionsError(localOptions(2525, { queue: { redis: () => new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true }) } }));
    expect(withFactory.problems.map((problem) => problem.path)).toEqual(['secret']);
  });
});
