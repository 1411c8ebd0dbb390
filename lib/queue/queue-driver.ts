import type { RedisClient } from '../redis';
import type { StoredAccountRequest } from './account-requests';
import type { DeliveryHandedBack, StoredEmailJob } from '../delivery';

/** What the queue holds: emails, and the account requests that lead to them. */
export type StoredJob = StoredEmailJob | StoredAccountRequest;

/** One job as a driver hands it to the shared processing (see DurableEmailQueue). */
export interface DriverJob<T extends StoredJob = StoredJob> {
  readonly id: string;
  readonly data: T;
  /** Tries already failed. */
  readonly attemptsMade: number;
  readonly opts: { attempts?: number };
  /** When it was queued, in ms since the epoch. */
  readonly timestamp: number;
  /** No retry for this job, whatever it throws next. */
  discard(): Promise<void>;
  /** Puts the job back in the waiting list untried, no attempt spent; rejects with what the processor must throw. */
  handBack(reason: DeliveryHandedBack): Promise<never>;
}

/** How many jobs are where, as the health check reports them. */
export interface DriverJobCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

/**
 * What differs between the queue libraries (Bull, BullMQ). Everything else (sealing, idempotency,
 * classification of failures, the shutdown hand-over, bounded calls) is DurableEmailQueue's, once.
 */
export interface QueueDriver {
  /** The connection for ordinary commands: enqueue, status, and the workflow's tokens and rate limits. */
  readonly client: RedisClient;
  /**
   * The connection that moves fetched jobs to active, when it is free to ask (not blocked in a fetch):
   * WAIT on it tells whether that move reached a replica. Undefined where it is not (Bull's fetch blocks).
   */
  fetchConnection?(): RedisClient | undefined;
  /** Every connection the driver holds now (they are opened lazily), for the outage log and a forced close. */
  clients(): readonly RedisClient[];
  /** The library's own queue object, for `@InjectQueue(EMAIL_WORKFLOW_QUEUE_NAME)`. */
  readonly driverQueue: object;
  /** Called with every error the library reports. */
  onError(listener: (error: Error) => void): void;
  hasJob(id: string): Promise<boolean>;
  /** Stores a job, with `jobId` when given; resolves with its id. */
  add(data: StoredJob, jobId?: string): Promise<string>;
  counts(): Promise<DriverJobCounts>;
  isPaused(): Promise<boolean>;
  /** Starts taking jobs, `concurrency` at once; a failure `run` throws is retried after its `retryDelay`. */
  process(concurrency: number, run: (job: DriverJob) => Promise<void>): void;
  /** This process takes no job from now on (other processes go on). */
  pauseLocally(): Promise<void>;
  /** Lets in-flight jobs finish and closes the connections; DurableEmailQueue bounds the wait. */
  close(): Promise<void>;
  /** Drops every connection at once (a failed boot, or a close that outlasted the shutdown timeout). */
  disconnect(): void;
}
