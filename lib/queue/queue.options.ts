import type { QueueOptions } from 'bull';

export interface EmailRetryBackoff {
  /** Delay before the second attempt, in ms; it doubles each attempt. @default 5000 */
  delay?: number;
  /** Upper bound of one delay, in ms. @default 3600000 (1 hour) */
  maxDelay?: number;
}

/**
 * Delivery queue. With `redis`, Bull on Redis: durable and shared by every process.
 * With `redis: false` (or `queue: false`), an in-process queue with the same retry semantics:
 * not durable, for development and tests.
 */
export interface EmailQueueOptions {
  /** `redis://[:password@]host:port[/db]`, ioredis options, or `false` for the in-process queue. */
  redis: false | string | NonNullable<QueueOptions['redis']>;
  /** Key prefix. For Redis Cluster use a hash tag, e.g. `{email}`. @default 'bull' */
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
  /** Most ms to wait for in-flight sends at shutdown. @default 10000 */
  shutdownTimeout?: number;
  /** How often, in ms, a paused delivery re-checks the SMTP server. @default 30000 */
  probeInterval?: number;
  /** Bull advanced settings (lockDuration, stalledInterval, …), passed through. */
  settings?: QueueOptions['settings'];
}
