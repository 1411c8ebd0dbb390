import { OptionsResolution, resolveUnless } from '../options';
import { redisTargetOf } from '../redis';
import type { EmailRedisOptions, RedisTarget } from '../redis';
import { DEFAULT_BACKOFF } from '../delivery';
import type { EmailRetryBackoff } from '../delivery';

/** The queue library that carries the durable queue's jobs; each is an optional peer, installed by the app. */
export type EmailQueueDriver = 'bull' | 'bullmq';

/**
 * Delivery queue. With `redis`, Bull (or BullMQ) on Redis: durable and shared by every process.
 * With `redis: false` (or `queue: false`), an in-process queue with the same retry semantics:
 * not durable, for development and tests.
 */
export interface EmailQueueOptions {
  /**
   * Where Redis is (see `EmailRedisOptions`: a `redis://`, `rediss://` or `redis+sentinel://` URL, a
   * list of cluster node URLs, ioredis options, `{ cluster: { nodes, options } }`, or a function
   * returning your own client), or `false` for the in-process queue.
   */
  redis: false | EmailRedisOptions;
  /**
   * The library on Redis: `'bull'` (install `bull`) or `'bullmq'` (install `bullmq`). Jobs are not
   * carried over: before switching, let every process of the old driver drain its queue. @default 'bull'
   */
  driver?: EmailQueueDriver;
  /**
   * Key prefix. On a Redis Cluster it must hold a hash tag (`{…}`), so every key of the library lands
   * in one slot and its scripts and transactions can run. @default 'bull', `'{bull}'` on a cluster
   */
  prefix?: string;
  /** Emails one process sends at once. @default 5 */
  concurrency?: number;
  /** Tries per email, the first included, for transient failures. @default 8 */
  attempts?: number;
  /** Exponential backoff with jitter between tries. */
  backoff?: EmailRetryBackoff;
  /** Completed jobs kept (they back idempotency keys): a count, or `true` to keep none. @default 10000 */
  removeOnComplete?: boolean | number;
  /** `false`: this process only enqueues; dedicated worker processes send. @default true */
  worker?: boolean;
  /**
   * Also keep the recipient's address in clear in each job (`recipient`), for a queue dashboard such
   * as bull-board. It is bound to the sealed part (an edit fails the email as altered) and never used
   * to send; the display name stays sealed. Anyone who can read Redis then sees who gets which
   * email, completed jobs included. @default false
   */
  recipientInClear?: boolean;
  /** Most ms to wait for in-flight sends at shutdown. @default 10000 */
  shutdownTimeout?: number;
  /** How often, in ms, a paused delivery re-checks the SMTP server. @default 30000 */
  probeInterval?: number;
  /**
   * Most ms an email may wait to be delivered, counted from when it was queued; an email still not
   * delivered then (delivery paused, or retries spread out) fails with `email.failed` of kind
   * `expired`. Checked before each try, and while it is held at a paused delivery. @default 259200000 (3 days)
   */
  maxAge?: number;
  /**
   * Most ms any call of the library waits for Redis (queueing, idempotency look-ups, queue status,
   * tokens, rate limits, the boot check); one not answered in time rejects with QueueUnavailableError.
   * @default 5000
   */
  commandTimeout?: number;
  /**
   * Whether each write (a queued email, a stored request) waits for a replica to confirm it (Redis
   * `WAIT`), failing with QueueUnavailableError when none does within half of `commandTimeout`: what
   * makes an accepted email survive a failover, at the price of refusing sends while the master has no
   * replica. @default true under Sentinel, false otherwise
   */
  waitForReplica?: boolean;
  /** Advanced settings, passed through (under BullMQ, those it has: the lock, stalled and drain settings). */
  settings?: EmailQueueAdvancedSettings;
}

/** Bull's advanced settings (its `AdvancedSettings`), all in ms unless said otherwise; BullMQ takes the lock, stalled and drain ones. */
interface EmailQueueAdvancedSettings {
  /** How long a worker holds a job's lock before it counts as stalled. @default 30000 */
  lockDuration?: number;
  /** How often the lock is renewed. @default lockDuration / 2 */
  lockRenewTime?: number;
  /** How often stalled jobs are looked for. @default 30000 */
  stalledInterval?: number;
  /** Times a job may stall before it fails. @default 1 */
  maxStalledCount?: number;
  /** How often delayed jobs are checked for. @default 5000 */
  guardInterval?: number;
  /** Wait before processing again after an internal error. @default 5000 */
  retryProcessDelay?: number;
  /** Seconds a worker blocks waiting for a job when the queue is empty. @default 5 */
  drainDelay?: number;
}

const DEFAULT_ATTEMPTS = 8;
/** Three days: long enough to ride out an outage over a weekend. */
const DEFAULT_MAX_AGE = 3 * 24 * 3_600_000;

/** Queue settings with every default applied; `redis: false` is the in-process queue. */
export interface QueueSettings extends Omit<EmailQueueOptions, 'backoff'> {
  driver: EmailQueueDriver;
  concurrency: number;
  attempts: number;
  backoff: Required<EmailRetryBackoff>;
  removeOnComplete: boolean | number;
  worker: boolean;
  recipientInClear: boolean;
  shutdownTimeout: number;
  probeInterval: number;
  commandTimeout: number;
  maxAge: number;
}

/** Injection token of the resolved `QueueSettings`. */
export const QUEUE_SETTINGS = 'EMAIL_WORKFLOW:QUEUE_SETTINGS';

/** Whether the `queue` option asks for Redis (what else needs the module secret depends on it). */
export function requestsRedis(queue: unknown): boolean {
  return typeof queue === 'object' && queue !== null && (queue as { redis?: unknown }).redis !== false;
}

// class-validator loads at boot, when options are checked, not on require (see options/options.validator.ts).
function validation(): typeof import('./queue.options-validation') {
  return require('./queue.options-validation') as typeof import('./queue.options-validation');
}

/** Checks `queue` and applies its defaults; `queue: false` and no queue are the in-process queue. */
export function resolveQueueOptions(queue: false | EmailQueueOptions | undefined): OptionsResolution<QueueSettings> {
  return resolveUnless(validation().queueOptionsProblems(queue), () => {
    const given: Partial<EmailQueueOptions> = queue || {};
    return {
      ...given,
      redis: given.redis ?? false,
      driver: given.driver ?? 'bull',
      concurrency: given.concurrency ?? 5,
      attempts: given.attempts ?? DEFAULT_ATTEMPTS,
      backoff: { ...DEFAULT_BACKOFF, ...given.backoff },
      removeOnComplete: given.removeOnComplete ?? 10_000,
      worker: given.worker ?? true,
      recipientInClear: given.recipientInClear ?? false,
      shutdownTimeout: given.shutdownTimeout ?? 10_000,
      probeInterval: given.probeInterval ?? 30_000,
      commandTimeout: given.commandTimeout ?? 5_000,
      maxAge: given.maxAge ?? DEFAULT_MAX_AGE,
    };
  });
}

/** The durable queue's settings, defaults applied: the queue settings, with Redis known to be set. */
export type RedisQueueSettings = Pick<
  QueueSettings,
  'driver' | 'concurrency' | 'attempts' | 'backoff' | 'removeOnComplete' | 'worker' | 'recipientInClear' | 'shutdownTimeout' | 'commandTimeout' | 'waitForReplica' | 'settings'
> & { prefix: string };

/** How to reach Redis, from a `queue.redis` that passed validation; undefined for the in-process queue. */
export function queueRedisTarget({ redis }: Pick<QueueSettings, 'redis'>): RedisTarget | undefined {
  if (redis === false) return undefined;
  const resolved = redisTargetOf(redis, 'queue.redis');
  if ('problem' in resolved) throw new Error(`queue.redis ${resolved.problem.problem}`);
  return resolved.value;
}

/** The key prefix: the one given, else 'bull', or '{bull}' on a cluster (one slot for every key). */
export function queuePrefix({ prefix }: Pick<QueueSettings, 'prefix'>, target: RedisTarget | undefined): string {
  return prefix ?? (target?.kind === 'cluster' ? '{bull}' : 'bull');
}
