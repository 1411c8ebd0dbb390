import type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { OptionsProblem } from '../errors';

/** A client of either kind: the library's Redis calls run on both. */
export type RedisClient = Redis | Cluster;

/** What a connection is for: commands, the queue library's pub/sub, or its blocking job fetch. */
export type ConnectionRole = 'commands' | 'subscriber' | 'blocking';

/** Redis Cluster (ElastiCache / MemoryDB cluster mode, or your own): seed nodes and ioredis' cluster options. */
export interface EmailRedisCluster {
  cluster: {
    /** Seed nodes: `{ host, port }`, `'host:port'` or `redis://` / `rediss://` URLs (credentials and TLS taken from the first). */
    nodes: Array<string | { host: string; port: number }>;
    /** ioredis `ClusterOptions`; `redisOptions` holds each node's password, username and `tls`. */
    options?: ClusterOptions;
  };
}

/**
 * Where the durable queue, the tokens and the limits live:
 * - a URL: `redis://[user:pass@]host:port[/db]`, `rediss://…` (TLS), or
 *   `redis+sentinel://[user:pass@]sentinel1:26379,sentinel2:26379/masterName[/db]` (`rediss+sentinel://` for TLS);
 * - a list of URLs: the seed nodes of a Redis Cluster;
 * - ioredis `RedisOptions` (with `sentinels` and `name` for Sentinel);
 * - `{ cluster: { nodes, options } }`;
 * - a function returning a new ioredis `Redis` or `Cluster` you build, called once per connection the
 *   library needs with its role: `'commands'`, or `'subscriber'` / `'blocking'` for the queue library,
 *   which need `maxRetriesPerRequest: null` and `enableReadyCheck: false`.
 */
export type EmailRedisOptions = string | string[] | RedisOptions | EmailRedisCluster | ((role: ConnectionRole) => RedisClient);

/** How to open connections, decided once from the option. */
export type RedisTarget =
  | { kind: 'single'; options: RedisOptions }
  | { kind: 'cluster'; nodes: ClusterNode[]; options: ClusterOptions }
  | { kind: 'custom'; create: (role: ConnectionRole) => RedisClient };

const SCHEMES = ['redis:', 'rediss:'];
/** `user:pass@` of a URL, or nothing. */
const SENTINEL_URL = /^(rediss?)\+sentinel:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/@]+)\/([^/?#]+)(?:\/(\d+))?\/?$/;

type Parsed<T> = { value: T } | { problem: OptionsProblem };

function problem(path: string, what: string, fix: string): { problem: OptionsProblem } {
  return { problem: { path, problem: what, fix } };
}

function port(text: string, path: string): Parsed<number> {
  const value = text === '' ? 6379 : Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 65_535) return problem(path, 'has a port that is not a whole number from 1 to 65535', 'write the port Redis listens on, e.g. :6379');
  return { value };
}

function decoded(text: string): string | undefined {
  if (text === '') return undefined;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function database(text: string | undefined, path: string): Parsed<number | undefined> {
  if (text === undefined || text === '' || text === '/') return { value: undefined };
  const value = Number(text.replace(/^\//, ''));
  if (!Number.isInteger(value) || value < 0) return problem(path, 'has a database that is not a whole number', 'end the URL with /0, /1, … or with nothing');
  return { value };
}

/** A `redis://` or `rediss://` URL as ioredis options. The URL is never echoed: it may hold a password. */
export function parseRedisUrl(url: string, path: string): Parsed<RedisOptions> {
  const sentinel = SENTINEL_URL.exec(url);
  if (sentinel) return parseSentinelUrl(sentinel, path);
  if (/^rediss?\+sentinel:/.test(url)) {
    return problem(path, 'is not a Sentinel URL of the form redis+sentinel://[user:pass@]host:26379[,host:26379…]/masterName', 'list the sentinels, then the master name, e.g. redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster');
  }
  const authority = /^[a-z+]+:\/\/(?:[^@/]*@)?([^/?#]*)/i.exec(url)?.[1] ?? '';
  const portText = /:(\d*)$/.exec(authority.replace(/^\[[^\]]*\]/, ''))?.[1];
  if (portText !== undefined) {
    const checked = port(portText, path);
    if ('problem' in checked) return checked;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return problem(path, 'is not a valid URL', 'use redis://[user:password@]host:port[/db] (rediss:// for TLS); percent-encode @ : / in the password');
  }
  if (!SCHEMES.includes(parsed.protocol)) return problem(path, `has the scheme ${parsed.protocol} (only redis:, rediss:, redis+sentinel: and rediss+sentinel: are Redis)`, 'use e.g. "redis://127.0.0.1:6379"');
  if (parsed.hostname === '') return problem(path, 'has no host', 'use e.g. "redis://127.0.0.1:6379"');
  const db = database(parsed.pathname, path);
  if ('problem' in db) return db;
  const options: RedisOptions = { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: parsed.port === '' ? 6379 : Number(parsed.port) };
  const username = decoded(parsed.username);
  const password = decoded(parsed.password);
  if (username !== undefined) options.username = username;
  if (password !== undefined) options.password = password;
  if (db.value !== undefined) options.db = db.value;
  if (parsed.protocol === 'rediss:') options.tls = { servername: options.host };
  return { value: options };
}

function parseSentinelUrl([, scheme, user, pass, hosts, name, db]: RegExpExecArray, path: string): Parsed<RedisOptions> {
  const sentinels: Array<{ host: string; port: number }> = [];
  for (const entry of hosts.split(',')) {
    const [, host, portText = ''] = /^(\[[^\]]+\]|[^:]+)(?::(.*))?$/.exec(entry.trim()) ?? [];
    if (!host) return problem(path, 'has an empty sentinel in its list', 'separate sentinels with commas: host1:26379,host2:26379');
    const checked = port(portText === '' ? '26379' : portText, path);
    if ('problem' in checked) return checked;
    sentinels.push({ host: host.replace(/^\[|\]$/g, ''), port: checked.value });
  }
  const options: RedisOptions = { sentinels, name: decodeURIComponent(name), failoverDetector: true };
  const username = decoded(user ?? '');
  const password = decoded(pass ?? '');
  if (username !== undefined) options.username = username;
  if (password !== undefined) options.password = password;
  if (db !== undefined) options.db = Number(db);
  if (scheme === 'rediss') options.tls = {};
  return { value: options };
}

function clusterNode(node: unknown, path: string): Parsed<{ node: ClusterNode; options?: RedisOptions }> {
  if (typeof node === 'object' && node !== null && typeof (node as { host?: unknown }).host === 'string') {
    const checked = port(String((node as { port?: unknown }).port ?? ''), path);
    return 'problem' in checked ? checked : { value: { node: { host: (node as { host: string }).host, port: checked.value } } };
  }
  if (typeof node !== 'string') return problem(path, 'must be a URL, "host:port" or { host, port }', 'use e.g. "redis://10.0.0.1:6379"');
  const parsed = parseRedisUrl(/^[a-z+]+:\/\//i.test(node) ? node : `redis://${node}`, path);
  if ('problem' in parsed) return parsed;
  const { host, port: nodePort, ...rest } = parsed.value;
  return { value: { node: { host: host as string, port: nodePort as number }, options: rest } };
}

function clusterTarget(nodes: unknown[], options: ClusterOptions, path: string): Parsed<RedisTarget> {
  if (nodes.length === 0) return problem(path, 'lists no cluster node', 'give at least one node, e.g. ["redis://10.0.0.1:6379"]');
  const resolved: ClusterNode[] = [];
  let credentials: RedisOptions | undefined;
  for (const [index, node] of nodes.entries()) {
    const checked = clusterNode(node, `${path}[${index}]`);
    if ('problem' in checked) return checked;
    resolved.push(checked.value.node);
    credentials ??= checked.value.options;
  }
  return { value: { kind: 'cluster', nodes: resolved, options: { ...options, redisOptions: { ...credentials, ...options.redisOptions } } } };
}

/** `queue.redis` checked and turned into how connections are opened; `path` names it in a problem. */
export function redisTargetOf(redis: unknown, path: string): Parsed<RedisTarget> {
  if (typeof redis === 'function') return { value: { kind: 'custom', create: redis as (role: ConnectionRole) => RedisClient } };
  if (typeof redis === 'string') {
    const parsed = parseRedisUrl(redis, path);
    return 'problem' in parsed ? parsed : { value: { kind: 'single', options: parsed.value } };
  }
  if (Array.isArray(redis)) return clusterTarget(redis, {}, path);
  if (typeof redis === 'object' && redis !== null) {
    if (typeof (redis as { duplicate?: unknown }).duplicate === 'function') {
      return problem(path, 'is an ioredis client: the library needs several connections (commands, and the queue\'s blocking and subscriber ones), not one', 'pass a function that builds one each time, e.g. redis: () => new Cluster(nodes, options)');
    }
    if ('cluster' in redis) {
      const { nodes, options = {} } = ((redis as EmailRedisCluster).cluster ?? {}) as Partial<EmailRedisCluster['cluster']>;
      if (!Array.isArray(nodes)) return problem(`${path}.cluster.nodes`, 'must be a list of nodes', 'use e.g. { cluster: { nodes: ["redis://10.0.0.1:6379"] } }');
      return clusterTarget(nodes, options, `${path}.cluster.nodes`);
    }
    const options = { ...(redis as RedisOptions) };
    if (options.port !== undefined) {
      const checked = port(String(options.port), `${path}.port`);
      if ('problem' in checked) return checked;
    }
    if (options.sentinels !== undefined) options.failoverDetector ??= true;
    return { value: { kind: 'single', options } };
  }
  return problem(path, 'must be a redis:// URL, a list of cluster node URLs, ioredis options, { cluster }, a function returning a client, or false', 'use e.g. "redis://127.0.0.1:6379"');
}

/** Whether a key prefix carries a hash tag (`{…}`), which keeps all of the library's keys in one cluster slot. */
export function hasHashTag(prefix: string): boolean {
  return /\{[^}]+\}/.test(prefix);
}

/** Where the target is, for logs and errors: hosts and ports, the master name, never a password. */
export function describeTarget(target: RedisTarget): string {
  if (target.kind === 'custom') return 'the client queue.redis returns';
  if (target.kind === 'cluster') return `the Redis Cluster of ${target.nodes.map((node) => (typeof node === 'object' ? `${node.host}:${node.port}` : String(node))).join(', ')}`;
  const { options } = target;
  const scheme = options.tls ? 'rediss' : 'redis';
  if (options.sentinels) {
    const sentinels = options.sentinels.map(({ host = '127.0.0.1', port: sentinelPort = 26379 }) => `${host}:${sentinelPort}`).join(',');
    return `master "${options.name}" of the sentinels ${scheme}+sentinel://${sentinels}`;
  }
  return `${scheme}://${options.host ?? '127.0.0.1'}:${options.port ?? 6379}${options.db ? `/${options.db}` : ''}`;
}
