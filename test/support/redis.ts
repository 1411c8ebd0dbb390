import Redis from 'ioredis';
import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, Server, Socket } from 'node:net';
import { freePort } from './free-port';
import { until } from './wait';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEST_SECRET = 'test-secret-of-at-least-32-bytes-0123456789';

/** A key prefix of its own per test, so suites running side by side on one Redis never meet. */
export function uniquePrefix(): string {
  return `ewtest-${randomUUID().slice(0, 8)}`;
}

/**
 * Ends a helper's own client: QUIT when connected, nothing once ended. ioredis's disconnect() on a client whose socket
 * has closed already arms a 2 s timer that nothing clears, which would keep the test worker up after the suite.
 */
async function end(redis: Redis): Promise<void> {
  if (redis.status === 'ready') await redis.quit();
  else if (redis.status !== 'end') redis.disconnect();
}

/** Every key under a prefix with its value as text (hashes, lists, sets, zsets and streams flattened). */
export async function dumpKeys(prefix: string): Promise<Map<string, string>> {
  const redis = new Redis(REDIS_URL);
  try {
    const keys = await redis.keys(`${prefix}:*`);
    const dump = new Map<string, string>();
    for (const key of keys) {
      const type = await redis.type(key);
      const value =
        type === 'hash'
          ? JSON.stringify(await redis.hgetall(key))
          : type === 'list'
            ? JSON.stringify(await redis.lrange(key, 0, -1))
            : type === 'set'
              ? JSON.stringify(await redis.smembers(key))
              : type === 'zset'
                ? JSON.stringify(await redis.zrange(key, 0, -1))
                : type === 'stream'
                  ? JSON.stringify(await redis.xrange(key, '-', '+'))
                  : String(await redis.get(key));
      dump.set(key, value);
    }
    return dump;
  } finally {
    await end(redis);
  }
}

export async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    await end(redis);
  }
}

/** A TCP proxy in front of Redis that a test can cut, to make Redis unreachable for one client only. */
export class RedisProxy {
  private readonly sockets = new Set<Socket>();
  private server?: Server;
  port = 0;

  static async start(): Promise<RedisProxy> {
    const proxy = new RedisProxy();
    proxy.port = await freePort();
    await proxy.open();
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async open(): Promise<void> {
    const target = new URL(REDIS_URL);
    this.server = createServer((client) => {
      const upstream = new Socket();
      upstream.connect(Number(target.port || 6379), target.hostname);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => this.sockets.delete(socket));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  /** Stops listening and drops every open connection. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.sockets.forEach((socket) => socket.destroy());
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export interface ThrowawayRedisOptions {
  /** Extra redis-server arguments. */
  args?: string[];
  /** A free one unless given, e.g. to start it again where clients expect it. */
  port?: number;
  /** Set as requirepass, and put in `url`. */
  password?: string;
}

/** A redis-server of the test's own, for what must not happen to the shared one: stopping it, odd settings. */
export class ThrowawayRedis {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly password: string | undefined,
  ) {}

  /** Starts redis-server and resolves once it answers PING. */
  static async start({ args = [], port, password }: ThrowawayRedisOptions = {}): Promise<ThrowawayRedis> {
    const listenOn = port ?? (await freePort());
    const serverArgs = ['--port', String(listenOn), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args];
    if (password) serverArgs.push('--requirepass', password);
    const child = spawn('redis-server', serverArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const probe = new Redis(listenOn, '127.0.0.1', { password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await until(
        async () => {
          if (child.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
          try {
            if (probe.status !== 'ready') {
              await end(probe);
              await probe.connect();
            }
            return (await probe.ping()) === 'PONG';
          } catch {
            return false;
          }
        },
        `redis-server on ${listenOn}`,
      );
    } finally {
      await end(probe);
    }
    return new ThrowawayRedis(child, listenOn, password);
  }

  get url(): string {
    return `redis://${this.password ? `:${encodeURIComponent(this.password)}@` : ''}127.0.0.1:${this.port}`;
  }

  /** Stops the server process (SIGSTOP): connections stay open and nothing is answered, as with a hung Redis. */
  freeze(): void {
    this.child.kill('SIGSTOP');
  }

  /** Lets a frozen server run again (SIGCONT); it answers what it was sent meanwhile. */
  thaw(): void {
    this.child.kill('SIGCONT');
  }

  /** Ends the server (SIGTERM, then SIGKILL after 5 s) and resolves once it has exited. */
  async stop(): Promise<void> {
    const { child } = this;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.kill('SIGTERM');
    // A frozen server only acts on the SIGTERM once it runs again.
    child.kill('SIGCONT');
    await exited;
    clearTimeout(force);
  }
}
