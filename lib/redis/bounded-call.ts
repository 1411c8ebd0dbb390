import { QueueUnavailableError } from '../errors';

/**
 * Settles with `work` or, if it has not settled after `ms`, rejects with `onTimeout()`. `work` goes on
 * in the background; its late outcome is observed here, so a late rejection is never unhandled.
 */
export function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(onTimeout()), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

/** What the bound reads of an ioredis client. */
interface RedisConnection {
  readonly status: string;
}

/** ioredis statuses of a connection that was lost; a first connection still being made is not one. */
const LOST = new Set(['close', 'reconnecting', 'end']);

/**
 * Every library call on the queue's Redis goes through here, so none waits longer than `timeoutMs`:
 * the caller gets QueueUnavailableError instead, carrying `outcome` (what did not happen).
 *
 * - Connection lost (refused, reconnecting, closed): fails at once. ioredis would hold the commands in
 *   its offline queue and run them whenever Redis is back, long after the caller heard they failed
 *   (a token claimed then stays claimed, a late enqueue sends an email reported as not queued).
 * - Connected (or still making its first connection) but silent: frozen, overloaded, a dead link TCP
 *   has not noticed. Fails at the deadline; whatever Redis makes of the commands later is ignored.
 * - Any error Redis or the connection reports is a QueueUnavailableError too, with its message.
 *
 * Not ioredis' own `commandTimeout`: Bull creates the clients from one set of options, and its blocking
 * job fetch (BRPOPLPUSH, up to `drainDelay` long) would time out with it.
 */
export async function boundedRedisCall<T>(redis: RedisConnection, timeoutMs: number, call: () => Promise<T>, outcome?: string): Promise<T> {
  if (LOST.has(redis.status)) throw new QueueUnavailableError(`the Redis connection is ${redis.status}`, outcome);
  try {
    return await withTimeout(call(), timeoutMs, () => new QueueUnavailableError(`Redis did not answer within ${timeoutMs} ms`, outcome));
  } catch (error) {
    throw error instanceof QueueUnavailableError ? error : new QueueUnavailableError((error as Error).message, outcome);
  }
}
