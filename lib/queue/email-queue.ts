import type { RedisClient } from '../redis';
import type { AccountRequestQueue } from './account-requests';
import type { EmailJob } from '../delivery';

export const EMAIL_QUEUE = 'EMAIL_WORKFLOW:EMAIL_QUEUE';
/** Name of the queue (Bull or BullMQ); inject it with `@InjectQueue(EMAIL_WORKFLOW_QUEUE_NAME)` for dashboards. */
export const EMAIL_WORKFLOW_QUEUE_NAME = 'email-workflow';

/** A queue's state, for health checks. */
export interface EmailQueueStatus {
  durable: boolean;
  waiting: number;
  active: number;
  /** Waiting for a retry. */
  delayed: number;
  /** Given up (permanent failures and exhausted retries) and still retained. */
  failed: number;
  /** Delivery of the default transport is paused on a configuration failure. */
  paused: boolean;
  /** Tenants whose own transport is paused. */
  pausedTenants: string[];
}

export interface EnqueueResult {
  id: string;
  /** The idempotency key was already used: nothing new was queued. */
  duplicate: boolean;
}

/** Where `send()` puts emails and where workers take them from. */
export interface EmailQueue {
  readonly durable: boolean;
  /** Resolves once the job is stored. With a key already seen, resolves with the earlier job's id. */
  enqueue(job: EmailJob, idempotencyKey?: string): Promise<EnqueueResult>;
  status(): Promise<EmailQueueStatus>;
  /** Starts taking jobs (no-op for a producer-only process). */
  start(): void;
  /**
   * At the first moment of shutdown: the emails held at a paused delivery go back to the queue untried,
   * with no attempt spent. A durable queue also takes no job from then on, for another process to.
   */
  stop(): Promise<void>;
  /** Stops (see `stop`), lets in-flight sends finish within the shutdown timeout, and closes connections. */
  close(): Promise<void>;
}

/**
 * A queue on Redis: the workflow keeps its tokens and rate limits on the same connection, and stores
 * the account requests it answered for a worker to carry out.
 */
export interface RedisEmailQueue extends EmailQueue, AccountRequestQueue {
  readonly redis: RedisClient;
  /** Prefix of the queue's keys, under which the workflow's own keys sit too. */
  readonly keyPrefix: string;
  /** The queue library's own queue object, for `@InjectQueue(EMAIL_WORKFLOW_QUEUE_NAME)`. */
  readonly driverQueue: object;
}
