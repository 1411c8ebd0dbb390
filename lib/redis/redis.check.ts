import { QueueUnavailableError, RedisSetupError } from '../errors';
import { withTimeout } from './bounded-call';
import { isCluster } from './redis.connection';
import { hasHashTag } from './redis.options';
import type { RedisClient, RedisTarget } from './redis.options';

/** Node's codes for a certificate it does not trust or that does not name the host. */
const UNTRUSTED_CERTIFICATE = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** An error reduced to what can be shown: ioredis' ReplyError carries the command's arguments (an AUTH password). */
export function safeError(error: unknown): { name: string; message: string; code?: string } {
  const { name = 'Error', message = String(error), code } = (error ?? {}) as { name?: string; message?: string; code?: unknown };
  return typeof code === 'string' ? { name, message, code } : { name, message };
}

/** A Redis error as the library's own: a set-up problem with its fix, or Redis unavailable. No argument of the failed command is kept. */
export function setupErrorOf(error: unknown, where: string): RedisSetupError | QueueUnavailableError {
  // A cluster client that reached no node says only "Failed to refresh slots cache": the reason is the last node's.
  const lastNodeError = (error as { lastNodeError?: unknown } | undefined)?.lastNodeError;
  if (lastNodeError !== undefined) return setupErrorOf(lastNodeError, where);
  const cause = safeError(error);
  const { message, code } = cause;
  if (code !== undefined && UNTRUSTED_CERTIFICATE.has(code)) {
    return new RedisSetupError('tls-untrusted', `Redis at ${where} presented a TLS certificate this process does not trust (${code}). Fix: pass the CA that signed it as tls: { ca } in queue.redis (for a managed service, its CA bundle), and connect by the name the certificate holds.`, cause);
  }
  if (/^(WRONGPASS|NOAUTH)|invalid password|invalid username-password/i.test(message)) {
    return new RedisSetupError('auth-failed', `Redis at ${where} refused the user or password (${message.split(' ')[0]}). Fix: check the user name and password in queue.redis (percent-encode @ : / in a URL).`, cause);
  }
  if (message.startsWith('NOPERM')) {
    const command = /command '?([a-z|]+)'?/i.exec(message)?.[1] ?? 'a command the library needs';
    return new RedisSetupError('no-permission', `The Redis user of queue.redis at ${where} may not run ${command} (${message}). Fix: grant it (e.g. ACL SETUSER <user> +${command.toLowerCase()}); docs/delivery.md, "Running on managed Redis", lists what each driver needs.`, cause);
  }
  if (/^(MOVED|ASK|CROSSSLOT|CLUSTERDOWN)/.test(message)) {
    return new RedisSetupError('mode-mismatch', `Redis at ${where} is a cluster node, but queue.redis names one server (${message.split(' ')[0]}). Fix: give queue.redis { cluster: { nodes: [...] } } or a list of node URLs.`, cause);
  }
  if (/cluster support disabled/i.test(message)) {
    return new RedisSetupError('mode-mismatch', `Redis at ${where} is not a cluster, but queue.redis asks for one. Fix: give queue.redis a single redis:// URL.`, cause);
  }
  if (message.startsWith('READONLY')) return readOnly(where, cause);
  if (error instanceof SilentRedis) return new QueueUnavailableError(`Redis at ${where} did not answer within ${error.timeoutMs} ms`, 'The module did not start.');
  return new QueueUnavailableError(`Redis at ${where} did not answer: ${message}`, 'The module did not start.');
}

function readOnly(where: string, cause?: { name: string; message: string }): RedisSetupError {
  return new RedisSetupError('read-only', `Redis at ${where} is a read-only replica. Fix: point queue.redis at the master, or use Sentinel (redis+sentinel://…) so the client always finds it.`, cause);
}

/** No answer and no error: a silent Redis (frozen, or a port that swallows the bytes). */
class SilentRedis extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}

/** One INFO section as fields. */
async function info(client: RedisClient, section: string): Promise<Record<string, string>> {
  const text = await client.info(section);
  return Object.fromEntries(text.split(/\r?\n/).flatMap((line) => (line.includes(':') ? [line.split(':', 2) as [string, string]] : [])));
}

/**
 * The boot check: Redis answers, the user may run what the library needs (INFO, EVAL), the set-up is
 * the kind the option names (a cluster for a cluster, with a hash-tag `prefix`), and writes land on a master. Each problem is
 * its own typed error with the fix; a Redis that stays silent is QueueUnavailableError.
 */
export async function checkRedis(client: RedisClient, target: RedisTarget, { where, prefix, timeoutMs }: { where: string; prefix: string; timeoutMs: number }): Promise<void> {
  let lastError: unknown;
  const remember = (error: unknown) => (lastError = error);
  client.on('error', remember);
  try {
    const bounded = <T>(call: Promise<T>) => withTimeout(call, timeoutMs, () => (lastError as Error | undefined) ?? new SilentRedis(timeoutMs));
    await bounded(client.ping());
    const server = await bounded(info(client, 'cluster'));
    if (server.cluster_enabled === '1' && !isCluster(client)) throw new Error('MOVED (the server runs in cluster mode)');
    // Options are checked for this before boot; the app's own client is known to be a cluster only now.
    if (isCluster(client) && !hasHashTag(prefix)) {
      throw new RedisSetupError('mode-mismatch', `The client queue.redis returns is a Redis Cluster, but queue.prefix "${prefix}" has no hash tag: the library's keys would land in different slots. Fix: set queue.prefix to e.g. "{${prefix}}".`);
    }
    await bounded(client.eval('return 1', 0));
    const replication = await bounded(info(client, 'replication'));
    if (replication.role === 'slave' && target.kind === 'single') throw readOnly(where);
  } catch (error) {
    throw error instanceof RedisSetupError ? error : setupErrorOf(error, where);
  } finally {
    client.off('error', remember);
  }
}
