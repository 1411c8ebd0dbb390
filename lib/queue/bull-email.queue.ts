import { Logger } from '@nestjs/common';
import Bull, { Job, Queue, QueueOptions } from 'bull';
import type { PayloadCipher } from '../crypto';
import type { RedisClient, RedisConnection } from '../redis';
import { DeliveryFailure } from '../delivery';
import type { EmailDeliveryWorker } from '../delivery';
import { DurableEmailQueue } from './durable-email.queue';
import { EMAIL_WORKFLOW_QUEUE_NAME } from './email-queue';
import type { FailureRedactor } from './failure.redactor';
import type { RedisQueueSettings } from './queue.options';
import type { DriverJob, DriverJobCounts, QueueDriver, StoredJob } from './queue-driver';

const BACKOFF_STRATEGY = 'email-workflow';

/**
 * Bull's close() re-opens its blocking connection once the jobs in flight settle, in a promise nobody
 * awaits when they fail instead (Redis stalled, connections dropped): its "Connection is closed." would
 * be an unhandled rejection, which ends a default Node process. A failed connect is reported through
 * the client's 'error' event anyway, so here it resolves.
 */
function resolveFailedConnects(client: RedisClient): void {
  const connect = client.connect.bind(client);
  client.connect = () => connect().catch(() => undefined);
}

/** A Bull job as the shared processing sees it. */
function driverJob(job: Job<StoredJob>): DriverJob {
  return {
    id: String(job.id),
    data: job.data,
    get attemptsMade() {
      return job.attemptsMade;
    },
    opts: job.opts,
    timestamp: job.timestamp,
    discard: async () => job.discard(),
    handBack: (reason) => {
      // Bull counts every failure as an attempt and this was none: the one it is about to add is taken
      // back here, and the failure's delay of 0 puts the job straight back in the waiting list.
      job.attemptsMade -= 1;
      return Promise.reject(reason);
    },
  };
}

/** The durable queue on Bull 4 (`queue.driver: 'bull'`, the default). */
class BullDriver implements QueueDriver {
  private readonly logger = new Logger('EmailWorkflow');

  constructor(
    readonly queue: Queue<StoredJob>,
    private readonly connection: RedisConnection,
  ) {}

  get client(): RedisClient {
    return this.connection.commands();
  }

  get driverQueue(): object {
    return this.queue;
  }

  clients(): readonly RedisClient[] {
    return this.connection.clients();
  }

  onError(listener: (error: Error) => void): void {
    this.queue.on('error', listener);
  }

  async hasJob(id: string): Promise<boolean> {
    return Boolean(await this.queue.getJob(id));
  }

  async add(data: StoredJob, jobId?: string): Promise<string> {
    return String((await this.queue.add(data, { jobId })).id);
  }

  async counts(): Promise<DriverJobCounts> {
    const { waiting, active, delayed, failed } = await this.queue.getJobCounts();
    return { waiting, active, delayed, failed };
  }

  isPaused(): Promise<boolean> {
    return this.queue.isPaused();
  }

  process(concurrency: number, run: (job: DriverJob) => Promise<void>): void {
    this.queue
      .process(concurrency, (job) => run(driverJob(job)))
      .catch((error: unknown) => this.logger.error(`The email worker stopped: ${(error as Error).message}`));
  }

  /** Bull's local pause, which also cuts short the blocking wait for a job. */
  pauseLocally(): Promise<void> {
    return this.queue.pause(true, true);
  }

  async close(): Promise<void> {
    // No unhandled rejection from Bull's own close (see resolveFailedConnects).
    this.connection.clients().forEach(resolveFailedConnects);
    await this.queue.close();
    // Bull closes only the connections it made itself; these are the RedisConnection's.
    await this.connection.end(true);
  }

  disconnect(): void {
    this.connection.clients().forEach((client) => client.disconnect());
    // Bull's close() waits for connections that never come: only its timers are stopped here.
    void this.queue.close(true).catch(() => undefined);
  }
}

/** Bull's names for the connections it asks for, as the RedisConnection's roles. */
const ROLES = { client: 'commands', subscriber: 'subscriber', bclient: 'blocking' } as const;

/**
 * Opens the queue on Bull and checks Redis (see DurableEmailQueue.open). Bull is handed clients, never
 * a URL: its own URL parser ignores rediss:// and would send the password in plaintext.
 */
export function openBullQueue(
  settings: RedisQueueSettings,
  connection: RedisConnection,
  worker: EmailDeliveryWorker,
  cipher: PayloadCipher,
  redactor: FailureRedactor,
): Promise<DurableEmailQueue> {
  const options: QueueOptions = {
    prefix: settings.prefix,
    createClient: (type) => (type === 'client' ? connection.commands() : connection.open(ROLES[type])) as never,
    settings: {
      ...settings.settings,
      backoffStrategies: {
        // The worker has already chosen the delay (exponential with jitter) and put it on the error.
        [BACKOFF_STRATEGY]: (_attempts: number, error: Error) => (error as DeliveryFailure).retryDelay ?? 0,
      },
    },
    defaultJobOptions: {
      attempts: settings.attempts,
      backoff: { type: BACKOFF_STRATEGY },
      // removeOnFail stays at the library's default (false: failed jobs are kept), so no job stores it.
      removeOnComplete: settings.removeOnComplete,
    },
  };
  const queue = new Bull<StoredJob>(EMAIL_WORKFLOW_QUEUE_NAME, options);
  return DurableEmailQueue.open(new BullDriver(queue, connection), connection, settings, worker, cipher, redactor);
}
