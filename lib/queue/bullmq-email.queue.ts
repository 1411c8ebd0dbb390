import { ConnectionOptions, Job, Queue, UnrecoverableError, WaitingError, Worker, WorkerOptions } from 'bullmq';
import type { PayloadCipher } from '../crypto';
import { releaseSentinels } from '../redis';
import type { RedisClient, RedisConnection } from '../redis';
import type { DeliveryFailure, EmailDeliveryWorker } from '../delivery';
import { DurableEmailQueue } from './durable-email.queue';
import { EMAIL_WORKFLOW_QUEUE_NAME } from './email-queue';
import type { FailureRedactor } from './failure.redactor';
import type { RedisQueueSettings } from './queue.options';
import type { DriverJob, DriverJobCounts, QueueDriver, StoredJob } from './queue-driver';

const BACKOFF_STRATEGY = 'email-workflow';
/** BullMQ wants a job name; the workflow tells its two kinds apart by their data. */
const JOB_NAME = 'email-workflow';

/** A BullMQ job as the shared processing sees it; `token` is the worker's lock on it. */
function driverJob(job: Job<StoredJob>, token: string | undefined): DriverJob & { discarded: boolean } {
  return {
    id: String(job.id),
    data: job.data,
    attemptsMade: job.attemptsMade,
    opts: job.opts,
    timestamp: job.timestamp,
    discarded: false,
    async discard() {
      this.discarded = true;
    },
    handBack: async () => {
      // Back to the waiting list with the lock released; BullMQ counts no attempt for a job moved so.
      await job.moveToWait(token);
      throw new WaitingError();
    },
  };
}

/** BullMQ's names for the settings that mean the same as Bull's (guardInterval and retryProcessDelay have none). */
function workerSettings({ settings = {} }: RedisQueueSettings): Partial<WorkerOptions> {
  const { lockDuration, lockRenewTime, stalledInterval, maxStalledCount, drainDelay } = settings;
  return Object.fromEntries(
    Object.entries({ lockDuration, lockRenewTime, stalledInterval, maxStalledCount, drainDelay }).filter(([, value]) => value !== undefined),
  );
}

/**
 * The durable queue on BullMQ (`queue.driver: 'bullmq'`). Producing goes through a Queue on a
 * connection of ours (also the workflow's, for tokens and rate limits); a Worker, with connections
 * of its own, exists only in a process that sends.
 */
class BullMqDriver implements QueueDriver {
  private worker?: Worker<StoredJob>;
  /** The worker's own connection: BullMQ runs its scripts on it, and blocks on a duplicate. */
  private workerClient?: RedisClient;
  /** The worker's blocking connection (BullMQ duplicates the one it is given), known once it has opened it. */
  private workerClients: RedisClient[] = [];
  private readonly errorListeners: Array<(error: Error) => void> = [];
  /** Jobs being processed here: close() waits for them itself, so that a forced close can still stop every timer. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly connection: RedisConnection,
    private readonly queue: Queue<StoredJob>,
    private readonly settings: RedisQueueSettings,
  ) {}

  get client(): RedisClient {
    return this.connection.commands();
  }

  get driverQueue(): object {
    return this.queue;
  }

  clients(): readonly RedisClient[] {
    return [...this.connection.clients(), ...this.workerClients];
  }

  fetchConnection(): RedisClient | undefined {
    return this.workerClient;
  }

  onError(listener: (error: Error) => void): void {
    this.errorListeners.push(listener);
    this.queue.on('error', listener);
    this.worker?.on('error', listener);
  }

  async hasJob(id: string): Promise<boolean> {
    return Boolean(await this.queue.getJob(id));
  }

  async add(data: StoredJob, jobId?: string): Promise<string> {
    return String((await this.queue.add(JOB_NAME, data, { jobId })).id);
  }

  async counts(): Promise<DriverJobCounts> {
    const { waiting = 0, active = 0, delayed = 0, failed = 0 } = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
    return { waiting, active, delayed, failed };
  }

  isPaused(): Promise<boolean> {
    return this.queue.isPaused();
  }

  process(concurrency: number, run: (job: DriverJob) => Promise<void>): void {
    const processor = async (job: Job<StoredJob>, token?: string): Promise<void> => {
      const handed = driverJob(job, token);
      const running = run(handed);
      this.inFlight.add(running);
      try {
        await running;
      } catch (error) {
        // BullMQ's word for "no retry", with the failure's own message.
        if (handed.discarded) throw new UnrecoverableError((error as Error).message);
        throw error;
      } finally {
        this.inFlight.delete(running);
      }
    };
    const worker = new Worker<StoredJob>(EMAIL_WORKFLOW_QUEUE_NAME, processor, {
      // A connection of the worker's own: its blocking fetch must wait as long as it takes.
      connection: (this.workerClient = this.connection.open('blocking')) as ConnectionOptions,
      prefix: this.settings.prefix,
      concurrency,
      ...workerSettings(this.settings),
      settings: {
        // The worker has already chosen the delay (exponential with jitter) and put it on the error.
        backoffStrategy: (_attempts, _type, error) => (error as DeliveryFailure | undefined)?.retryDelay ?? 0,
      },
    });
    this.errorListeners.forEach((listener) => worker.on('error', listener));
    this.worker = worker;
    // Its other connection is the one handed to it above, already among the RedisConnection's.
    void Promise.resolve(worker.getBackend().blockingClient)
      .then((client) => (this.workerClients = client === undefined ? [] : [client as unknown as RedisClient]))
      .catch(() => undefined);
  }

  async pauseLocally(): Promise<void> {
    await this.worker?.pause(true);
  }

  async close(): Promise<void> {
    // The jobs in flight first, which still need the connections. Not through the worker's own close():
    // once that waits, a forced one could no longer stop its lock renewals, which would keep the process up.
    await Promise.allSettled([...this.inFlight]);
    // BullMQ ends the blocking connection it made with QUIT, which would leave its sentinel connections open.
    this.workerClients.forEach(releaseSentinels);
    await this.worker?.close(true);
    await this.queue.close();
    // BullMQ closes the connections it made; these are the RedisConnection's.
    await this.connection.end(true);
  }

  disconnect(): void {
    this.connection.clients().forEach((client) => client.disconnect());
    // Forced: without waiting for the hung job, whose lock then lapses for another worker to take it.
    void this.worker?.close(true).catch(() => undefined);
    void this.queue.disconnect().catch(() => undefined);
  }
}

/** Opens the queue on BullMQ and checks Redis (see DurableEmailQueue.open). */
export function openBullMqQueue(
  settings: RedisQueueSettings,
  connection: RedisConnection,
  worker: EmailDeliveryWorker,
  cipher: PayloadCipher,
  redactor: FailureRedactor,
): Promise<DurableEmailQueue> {
  const queue = new Queue<StoredJob>(EMAIL_WORKFLOW_QUEUE_NAME, {
    connection: connection.commands() as ConnectionOptions,
    prefix: settings.prefix,
    defaultJobOptions: {
      attempts: settings.attempts,
      backoff: { type: BACKOFF_STRATEGY },
      // removeOnFail stays at the library's default (false: failed jobs are kept), so no job stores it.
      removeOnComplete: settings.removeOnComplete,
    },
  });
  return DurableEmailQueue.open(new BullMqDriver(connection, queue, settings), connection, settings, worker, cipher, redactor);
}
