import { Logger } from '@nestjs/common';
import Bull, { Job, Queue, QueueOptions } from 'bull';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { PayloadCipher } from '../crypto/payload.cipher';
import { QueueUnavailableError } from '../errors';
import { boundedRedisCall, withTimeout } from '../errors/bounded-call';
import { AccountRequestHandler, AccountRequestHandlers, AccountRequestPayload, isAccountRequest, StoredAccountRequest } from './account-requests';
import { DeliveryFailure, DeliveryHandedBack } from './delivery.failure';
import type { EmailDeliveryWorker } from './delivery.worker';
import { boundFields, EmailJob, SealedEmailParts, StoredEmailJob } from './email-job';
import { EMAIL_WORKFLOW_QUEUE_NAME, EmailQueueStatus, EnqueueResult, RedisEmailQueue } from './email-queue';
import { jobIdFor } from './idempotency';
import { describeRedis, RedisQueueSettings } from './queue.options';
import { RedisOutageLog } from './redis-outage.log';

const BACKOFF_STRATEGY = 'email-workflow';
/** What the queue holds: emails, and the account requests that lead to them. */
type StoredJob = StoredEmailJob | StoredAccountRequest;

/**
 * Bull's close() re-opens its blocking connection once the jobs in flight settle, in a promise nobody
 * awaits when they fail instead (Redis stalled, connections dropped): its "Connection is closed." would
 * be an unhandled rejection, which ends a default Node process. A failed connect is reported through
 * the client's 'error' event anyway, so here it resolves.
 */
function resolveFailedConnects(client: Redis): void {
  const connect = client.connect.bind(client);
  client.connect = () => connect().catch(() => undefined);
}

/**
 * Durable delivery on Bull. Jobs hold the template name in clear, the recipient and the variables
 * sealed with AES-256-GCM and bound to the clear fields; the worker renders. Every process on the same Redis shares the work.
 */
export class BullEmailQueue implements RedisEmailQueue {
  readonly durable = true;
  private readonly logger = new Logger('EmailWorkflow');
  private readonly accountRequests: AccountRequestHandlers;

  /** Set at the first moment of shutdown: from then on a job that reaches the worker is handed back. */
  private stopping = false;

  private constructor(
    readonly queue: Queue<StoredJob>,
    private readonly worker: EmailDeliveryWorker,
    private readonly cipher: PayloadCipher,
    private readonly settings: RedisQueueSettings,
  ) {
    this.accountRequests = new AccountRequestHandlers(cipher, settings.backoff, this.logger);
  }

  get redis(): Redis {
    return this.queue.client;
  }

  get keyPrefix(): string {
    return `${this.settings.prefix ?? 'bull'}:${this.queue.name}`;
  }

  get driverQueue(): object {
    return this.queue;
  }

  /** Opens the queue and checks Redis: unreachable fails the boot, an evicting memory policy warns. */
  static async open(settings: RedisQueueSettings, worker: EmailDeliveryWorker, cipher: PayloadCipher): Promise<BullEmailQueue> {
    const options: QueueOptions = {
      prefix: settings.prefix,
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
        removeOnComplete: settings.removeOnComplete,
        removeOnFail: false,
      },
    };
    const queue =
      typeof settings.redis === 'string'
        ? new Bull<StoredJob>(EMAIL_WORKFLOW_QUEUE_NAME, settings.redis, options)
        : new Bull<StoredJob>(EMAIL_WORKFLOW_QUEUE_NAME, { ...options, redis: settings.redis });
    queue.on('error', () => undefined);
    const where = describeRedis(settings.redis);
    try {
      const { commandTimeout } = settings;
      await withTimeout(queue.client.ping(), commandTimeout, () => new QueueUnavailableError(`Redis at ${where} did not answer within ${commandTimeout} ms`));
    } catch (error) {
      // close() waits for a connection that never comes; drop the clients instead.
      queue.clients.forEach((client) => client.disconnect());
      void queue.close(true).catch(() => undefined);
      throw error;
    }
    const instance = new BullEmailQueue(queue, worker, cipher, settings);
    const outages = new RedisOutageLog(where, () => queue.clients, instance.logger);
    queue.removeAllListeners('error');
    queue.on('error', (error: Error) => outages.onError(error));
    await instance.warnIfEvicting(where);
    return instance;
  }

  async enqueue(job: EmailJob, idempotencyKey?: string): Promise<EnqueueResult> {
    // Not connected: nothing is sent to Redis, so the error can say nothing was queued.
    const status = this.queue.client.status;
    if (status !== 'ready') throw new QueueUnavailableError(`the Redis connection is ${status}`);
    const { context, to, ...fields } = job;
    const visible: Omit<StoredEmailJob, 'sealed'> = this.settings.recipientInClear ? { ...fields, recipient: to.address } : fields;
    const stored: StoredEmailJob = { ...visible, sealed: this.cipher.seal({ to, context } satisfies SealedEmailParts, boundFields(visible)) };
    // Bull's own ids unless a key is given: a custom jobId halves Bull's enqueue rate.
    const jobId = idempotencyKey ? jobIdFor(idempotencyKey) : undefined;
    // The look-up and the add share one deadline: send() waits commandTimeout at most, key or not.
    return this.bounded(async () => {
      if (jobId && (await this.queue.getJob(jobId))) return { id: jobId, duplicate: true };
      const added = await this.queue.add(stored, { jobId });
      return { id: String(added.id), duplicate: false };
    }, 'The email may or may not be queued: send again with an idempotencyKey to be sure it goes out once.');
  }

  async enqueueAccountRequest(kind: string, payload: AccountRequestPayload): Promise<string> {
    const status = this.queue.client.status;
    if (status !== 'ready') throw new QueueUnavailableError(`the Redis connection is ${status}`);
    // An id of its own, never reused, keys the email the request leads to (see AccountRequestHandler).
    const jobId = `account-request-${randomUUID()}`;
    const stored = this.accountRequests.seal(kind, payload);
    await this.bounded(() => this.queue.add(stored, { jobId }), 'The request may or may not be stored: ask again if no email arrives.');
    return jobId;
  }

  handleAccountRequests(kind: string, handler: AccountRequestHandler): void {
    this.accountRequests.register(kind, handler);
  }

  async status(): Promise<EmailQueueStatus> {
    return this.bounded(async () => {
      const counts = await this.queue.getJobCounts();
      return {
        durable: true,
        waiting: counts.waiting,
        active: counts.active,
        delayed: counts.delayed,
        failed: counts.failed,
        paused: this.worker.isPaused() || (await this.queue.isPaused()),
        pausedTenants: this.worker.pausedTenants(),
      };
    }, 'The queue status could not be read.');
  }

  start(): void {
    if (!this.settings.worker) return;
    this.queue
      .process(this.settings.concurrency, (job) =>
        isAccountRequest(job.data) ? this.carryOut(job as Job<StoredAccountRequest>) : this.process(job as Job<StoredEmailJob>),
      )
      .catch((error: unknown) => this.logger.error(`The email worker stopped: ${(error as Error).message}`));
  }

  /**
   * Takes no job from now on (Bull's local pause, which also cuts short the blocking wait for one),
   * then hands back the emails held at a closed gate: untried and with no attempt spent, they wait in
   * Redis for any other worker to take at once.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    // Bounded: with Redis gone there is nothing to take anyway, and the held emails must still go back.
    await withTimeout(this.queue.pause(true, true), this.settings.commandTimeout, () => new Error('timeout')).catch(() => undefined);
    this.worker.releaseHeld();
  }

  async close(): Promise<void> {
    await this.stop();
    // No unhandled rejection from Bull's own close (see resolveFailedConnects).
    this.queue.clients.forEach(resolveFailedConnects);
    const closing = this.queue.close();
    await withTimeout(closing, this.settings.shutdownTimeout, () => new Error('timeout')).catch(async () => {
      // Bull's close() keeps waiting for the hung send; drop the connections instead. The job's lock
      // lapses and another worker picks it up.
      closing.catch(() => undefined);
      this.logger.warn('In-flight emails did not finish in time; Redis keeps them and another worker will send them.');
      await Promise.all(
        this.queue.clients.map(
          (client) =>
            new Promise<void>((resolve) => {
              if (client.status === 'end') return resolve();
              client.once('end', () => resolve());
              client.disconnect();
              // disconnect() only half-closes: a frozen Redis never answers, so 'end' would never come.
              client.stream?.destroy();
            }),
        ),
      );
    });
  }

  private async process(job: Job<StoredEmailJob>): Promise<void> {
    const { sealed: _sealed, recipient: _recipient, ...visible } = job.data;
    const attempt = job.attemptsMade + 1;
    try {
      // Fetched as shutdown began (Bull takes the next job when one completes): not ours to try any more.
      if (this.stopping) throw new DeliveryHandedBack('The worker is shutting down; the email stays queued');
      await this.worker.deliver({
        id: String(job.id),
        job: { ...visible, ...this.openSealed(job, attempt) },
        attempt,
        maxAttempts: job.opts.attempts ?? this.settings.attempts,
        queuedAt: job.timestamp,
      });
    } catch (error) {
      // Bull counts every failure as an attempt and this was none: it adds the one taken here back,
      // and the delay of 0 puts the job straight back in the waiting list, its lock released.
      if (error instanceof DeliveryHandedBack) job.attemptsMade -= 1;
      else if (error instanceof DeliveryFailure && !error.willRetry) await job.discard();
      throw error;
    }
  }

  /** An account request; like an email, one fetched as shutdown began goes back untried (see process). */
  private async carryOut(job: Job<StoredAccountRequest>): Promise<void> {
    if (this.stopping) {
      job.attemptsMade -= 1;
      throw new DeliveryHandedBack('The worker is shutting down; the request stays queued');
    }
    await this.accountRequests.run(job, this.settings.attempts);
  }

  /**
   * A payload sealed under another `secret`, or whose clear fields were edited in Redis, can never be
   * trusted here: fail it for good, saying why, before anything is sent. The recipient is sealed too,
   * so the failure cannot name it.
   */
  private openSealed(job: Job<StoredEmailJob>, attempt: number): SealedEmailParts {
    const { sealed, ...visible } = job.data;
    try {
      return this.cipher.open<SealedEmailParts>(sealed, boundFields(visible));
    } catch {
      const reason =
        'The queued email cannot be decrypted: it was altered in Redis (a clear field or the sealed part edited), or the process that queued it used a different `secret`. Fix: give every process on this Redis the same secret, and keep Redis writable only by them.';
      this.logger.error(`Email ${job.id}: ${reason}`);
      const { messageId, template, tenant } = visible;
      return this.worker.reportUndeliverable({ id: String(job.id), messageId, template, to: '', tenant }, attempt, reason);
    }
  }

  /** Runs `call` on the queue's Redis within `commandTimeout`; see boundedRedisCall. */
  private bounded<T>(call: () => Promise<T>, outcome: string): Promise<T> {
    return boundedRedisCall(this.redis, this.settings.commandTimeout, call, outcome);
  }

  private async warnIfEvicting(where: string): Promise<void> {
    try {
      const [, policy] = (await this.bounded(() => this.queue.client.config('GET', 'maxmemory-policy'), 'The policy was not read.')) as [string, string];
      if (policy && policy !== 'noeviction') {
        this.logger.warn(
          `Redis at ${where} has maxmemory-policy "${policy}": when memory runs out it may delete queued emails. Set it to "noeviction".`,
        );
      }
    } catch {
      this.logger.warn(`Could not read maxmemory-policy of Redis at ${where}; make sure it is "noeviction" so queued emails are never evicted.`);
    }
  }
}
