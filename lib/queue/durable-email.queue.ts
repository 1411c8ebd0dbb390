import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { PayloadCipher } from '../crypto';
import { checkRedis, endConnection, boundedRedisCall, withTimeout, RedisOutageLog } from '../redis';
import type { RedisClient, RedisConnection } from '../redis';
import { QueueUnavailableError } from '../errors';
import { AccountRequestHandler, AccountRequestHandlers, AccountRequestPayload, isAccountRequest, StoredAccountRequest } from './account-requests';
import { DeliveryFailure, DeliveryHandedBack, boundFields, EmailJob, SealedEmailParts, StoredEmailJob } from '../delivery';
import type { EmailDeliveryWorker } from '../delivery';
import { EMAIL_WORKFLOW_QUEUE_NAME, EmailQueueStatus, EnqueueResult, RedisEmailQueue } from './email-queue';
import type { FailureRedactor } from './failure.redactor';
import { jobIdFor } from './idempotency';
import type { RedisQueueSettings } from './queue.options';
import type { DriverJob, QueueDriver } from './queue-driver';

/**
 * Durable delivery on Redis, whichever queue library (QueueDriver) carries the jobs. Jobs hold the
 * template name in clear, the recipient and the variables sealed with AES-256-GCM and bound to the
 * clear fields; the worker renders. Every process on the same Redis shares the work.
 */
export class DurableEmailQueue implements RedisEmailQueue {
  readonly durable = true;
  private readonly logger = new Logger('EmailWorkflow');
  private readonly accountRequests: AccountRequestHandlers;

  /** Set at the first moment of shutdown: from then on a job that reaches the worker is handed back. */
  private stopping = false;

  /** Whether to wait for a replica after each write: set where a failover is expected (Sentinel). */
  private readonly replicated: boolean;

  private constructor(
    private readonly driver: QueueDriver,
    private readonly connection: RedisConnection,
    private readonly worker: EmailDeliveryWorker,
    private readonly cipher: PayloadCipher,
    private readonly redactor: FailureRedactor,
    private readonly settings: RedisQueueSettings,
  ) {
    this.accountRequests = new AccountRequestHandlers(cipher, settings.backoff, this.logger);
    this.replicated = settings.waitForReplica ?? (connection.target.kind === 'single' && connection.target.options.sentinels !== undefined);
  }

  get redis(): RedisClient {
    return this.driver.client;
  }

  get keyPrefix(): string {
    return `${this.settings.prefix}:${EMAIL_WORKFLOW_QUEUE_NAME}`;
  }

  get driverQueue(): object {
    return this.driver.driverQueue;
  }

  /** Every Redis connection the queue holds now, whichever library opened it (for diagnostics). */
  clients(): readonly RedisClient[] {
    return this.driver.clients();
  }

  /**
   * Checks Redis through an opened driver (see checkRedis): unreachable or mis-set fails the boot with
   * its own error, an evicting memory policy warns.
   */
  static async open(
    driver: QueueDriver,
    connection: RedisConnection,
    settings: RedisQueueSettings,
    worker: EmailDeliveryWorker,
    cipher: PayloadCipher,
    redactor: FailureRedactor,
  ): Promise<DurableEmailQueue> {
    const { where } = connection;
    // Listening from the start: an error with no listener would end the process. Until the boot check
    // passes, a failure is the boot's error alone.
    let outages: RedisOutageLog | undefined;
    driver.onError((error) => outages?.onError(error));
    try {
      await checkRedis(driver.client, connection.target, { where, prefix: settings.prefix, timeoutMs: settings.commandTimeout });
    } catch (error) {
      // A graceful close waits for a connection that never comes; drop the connections instead.
      driver.disconnect();
      await connection.end();
      throw error;
    }
    const instance = new DurableEmailQueue(driver, connection, worker, cipher, redactor, settings);
    outages = new RedisOutageLog(where, () => driver.clients(), instance.logger);
    await instance.warnIfEvicting(where);
    return instance;
  }

  async enqueue(job: EmailJob, idempotencyKey?: string): Promise<EnqueueResult> {
    this.assertConnected();
    const { context, to, ...fields } = job;
    const visible: Omit<StoredEmailJob, 'sealed'> = this.settings.recipientInClear ? { ...fields, recipient: to.address } : fields;
    const stored: StoredEmailJob = { ...visible, sealed: this.cipher.seal({ to, context } satisfies SealedEmailParts, boundFields(visible)) };
    // The library's own ids unless a key is given: a custom jobId halves Bull's enqueue rate.
    const jobId = idempotencyKey ? jobIdFor(idempotencyKey) : undefined;
    // The look-up and the add share one deadline: send() waits commandTimeout at most, key or not.
    return this.bounded(async () => {
      if (jobId && (await this.driver.hasJob(jobId))) return { id: jobId, duplicate: true };
      const id = await this.driver.add(stored, jobId);
      await this.untilReplicated();
      return { id, duplicate: false };
    }, 'The email may or may not be queued: send again with an idempotencyKey to be sure it goes out once.');
  }

  async enqueueAccountRequest(kind: string, payload: AccountRequestPayload): Promise<string> {
    this.assertConnected();
    // An id of its own, never reused, keys the email the request leads to (see AccountRequestHandler).
    const jobId = `account-request-${randomUUID()}`;
    const stored = this.accountRequests.seal(kind, payload);
    await this.bounded(async () => {
      await this.driver.add(stored, jobId);
      await this.untilReplicated();
    }, 'The request may or may not be stored: ask again if no email arrives.');
    return jobId;
  }

  handleAccountRequests(kind: string, handler: AccountRequestHandler): void {
    this.accountRequests.register(kind, handler);
  }

  async status(): Promise<EmailQueueStatus> {
    return this.bounded(async () => {
      const counts = await this.driver.counts();
      return {
        durable: true,
        ...counts,
        paused: this.worker.isPaused() || (await this.driver.isPaused()),
        pausedTenants: this.worker.pausedTenants(),
      };
    }, 'The queue status could not be read.');
  }

  start(): void {
    if (!this.settings.worker) return;
    this.driver.process(this.settings.concurrency, (job) =>
      isAccountRequest(job.data) ? this.carryOut(job as DriverJob<StoredAccountRequest>) : this.process(job as DriverJob<StoredEmailJob>),
    );
  }

  /**
   * Takes no job from now on, then hands back the emails held at a closed gate: untried and with no
   * attempt spent, they wait in Redis for any other worker to take at once.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    // Bounded: with Redis gone there is nothing to take anyway, and the held emails must still go back.
    await withTimeout(this.driver.pauseLocally(), this.settings.commandTimeout, () => new Error('timeout')).catch(() => undefined);
    this.worker.releaseHeld();
  }

  async close(): Promise<void> {
    await this.stop();
    const closing = this.driver.close();
    await withTimeout(closing, this.settings.shutdownTimeout, () => new Error('timeout')).catch(async () => {
      // The library keeps waiting for the hung send; drop the connections instead. The job's lock
      // lapses and another worker picks it up.
      closing.catch(() => undefined);
      this.logger.warn('In-flight emails did not finish in time; Redis keeps them and another worker will send them.');
      const clients = this.driver.clients();
      this.driver.disconnect();
      await Promise.all(clients.map((client) => endConnection(client)));
    });
  }

  /**
   * Under Sentinel, a write is known to survive a failover only once a replica has it: WAIT for one,
   * at most half of commandTimeout (the rest is the write's own). Unconfirmed, the call fails like an
   * unanswered one (the caller's outcome says it may or may not be queued): the node may be a demoted
   * master that has not heard yet, whose writes the resync discards, and from here that cannot be told
   * apart from a master that lost its replicas.
   */
  private async untilReplicated(): Promise<void> {
    if (!this.replicated) return;
    const waitMs = Math.max(1, Math.floor(this.settings.commandTimeout / 2));
    if (Number(await this.redis.call('WAIT', '1', String(waitMs))) < 1) {
      throw new Error(`no replica of ${this.connection.where} confirmed the write within ${waitMs} ms, so a failover could lose it`);
    }
  }

  /**
   * Under Sentinel, a job fetched from a master that was just demoted (it has not heard yet) would be
   * sent, and its completion discarded by the resync, so the new master hands it out again: a second
   * email. Before sending, the fetch must be confirmed by a replica (WAIT on the connection that made
   * it); unconfirmed, the job goes back untried.
   */
  private async confirmFetched(): Promise<void> {
    const client = this.replicated ? this.driver.fetchConnection?.() : undefined;
    if (client === undefined) return;
    const waitMs = String(Math.max(1, Math.floor(this.settings.commandTimeout / 2)));
    const confirmed = await withTimeout(client.call('WAIT', '1', waitMs), this.settings.commandTimeout, () => new Error('timeout')).then(
      (acknowledged) => Number(acknowledged) >= 1,
      () => false,
    );
    if (!confirmed) throw new DeliveryHandedBack('No replica confirmed the fetch of this email (a failover under way); it stays queued');
  }

  /** Not connected: nothing is sent to Redis, so the error can say nothing was queued. */
  private assertConnected(): void {
    const { status } = this.driver.client;
    if (status !== 'ready') throw new QueueUnavailableError(`the Redis connection is ${status}`);
  }

  private async process(job: DriverJob<StoredEmailJob>): Promise<void> {
    const { sealed: _sealed, recipient: _recipient, ...visible } = job.data;
    const attempt = job.attemptsMade + 1;
    try {
      // Fetched as shutdown began (the library takes the next job when one completes): not ours to try any more.
      if (this.stopping) throw new DeliveryHandedBack('The worker is shutting down; the email stays queued');
      await this.confirmFetched();
      await this.worker.deliver({
        id: job.id,
        job: { ...visible, ...this.openSealed(job, attempt) },
        attempt,
        maxAttempts: job.opts.attempts ?? this.settings.attempts,
        queuedAt: job.timestamp,
      });
    } catch (error) {
      // The library stores what it is given in Redis (reason, stack trace): addresses go as keyed hashes.
      const stored = this.redactor.storable(error);
      // Untried (shutdown, or held at a closed gate): back to waiting with no attempt spent.
      if (stored instanceof DeliveryHandedBack) return job.handBack(stored);
      if (stored instanceof DeliveryFailure && !stored.willRetry) await job.discard();
      throw stored;
    }
  }

  /** An account request; like an email, one fetched as shutdown began goes back untried (see process). */
  private async carryOut(job: DriverJob<StoredAccountRequest>): Promise<void> {
    if (this.stopping) return job.handBack(new DeliveryHandedBack('The worker is shutting down; the request stays queued'));
    try {
      await this.accountRequests.run(job, this.settings.attempts);
    } catch (error) {
      // An app callback's error often names the address it was given; stored like an email's (see process).
      throw this.redactor.storable(error);
    }
  }

  /**
   * A payload sealed under another `secret`, or whose clear fields were edited in Redis, can never be
   * trusted here: fail it for good, saying why, before anything is sent. The recipient is sealed too,
   * so the failure cannot name it.
   */
  private openSealed(job: DriverJob<StoredEmailJob>, attempt: number): SealedEmailParts {
    const { sealed, ...visible } = job.data;
    try {
      return this.cipher.open<SealedEmailParts>(sealed, boundFields(visible));
    } catch {
      const reason =
        'The queued email cannot be decrypted: it was altered in Redis (a clear field or the sealed part edited), or the process that queued it used a different `secret`. Fix: give every process on this Redis the same secret, and keep Redis writable only by them.';
      this.logger.error(`Email ${job.id}: ${reason}`);
      const { messageId, template, tenant } = visible;
      return this.worker.reportUndeliverable({ id: job.id, messageId, template, to: '', tenant }, attempt, reason);
    }
  }

  /** Runs `call` on the queue's Redis within `commandTimeout`; see boundedRedisCall. */
  private bounded<T>(call: () => Promise<T>, outcome: string): Promise<T> {
    return boundedRedisCall(this.redis, this.settings.commandTimeout, call, outcome);
  }

  private async warnIfEvicting(where: string): Promise<void> {
    try {
      const [, policy] = (await this.bounded(() => this.redis.config('GET', 'maxmemory-policy'), 'The policy was not read.')) as [string, string];
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
