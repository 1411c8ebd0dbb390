import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DeliveryFailure, DeliveryHandedBack } from '../delivery';
import type { EmailDeliveryWorker, EmailJob } from '../delivery';
import type { EmailQueue, EmailQueueStatus, EnqueueResult } from './email-queue';
import { jobIdFor } from './idempotency';
import type { QueueSettings } from './queue.options';

interface PendingTry {
  id: string;
  job: EmailJob;
  attempt: number;
  queuedAt: number;
}

interface InProcessQueueSettings {
  concurrency: number;
  attempts: number;
  shutdownTimeout: number;
  /** Idempotency keys remembered. */
  retained: number;
}

/** The in-process queue's settings: idempotency keys are remembered as long as Bull would keep completed jobs. */
export function inProcessQueueSettings(queue: QueueSettings): InProcessQueueSettings {
  return {
    concurrency: queue.concurrency,
    attempts: queue.attempts,
    shutdownTimeout: queue.shutdownTimeout,
    retained: typeof queue.removeOnComplete === 'number' ? queue.removeOnComplete : queue.removeOnComplete ? 0 : 10_000,
  };
}

/** The Redis queue's retry semantics in memory. Not durable: what is queued is lost if the process stops. */
export class InProcessEmailQueue implements EmailQueue {
  readonly durable = false;
  private readonly logger = new Logger('EmailWorkflow');
  private readonly pending: PendingTry[] = [];
  /** Given back at shutdown from a paused delivery: not tried again, since no other process can take them. */
  private readonly handedBack: PendingTry[] = [];
  private readonly active = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly seenIds = new Set<string>();
  private running = false;
  private failed = 0;

  constructor(
    private readonly worker: EmailDeliveryWorker,
    private readonly settings: InProcessQueueSettings,
  ) {}

  async enqueue(job: EmailJob, idempotencyKey?: string): Promise<EnqueueResult> {
    const id = idempotencyKey ? jobIdFor(idempotencyKey) : randomUUID();
    if (this.seenIds.has(id)) return { id, duplicate: true };
    this.remember(id);
    this.pending.push({ id, job, attempt: 1, queuedAt: Date.now() });
    this.pump();
    return { id, duplicate: false };
  }

  async status(): Promise<EmailQueueStatus> {
    return {
      durable: false,
      waiting: this.pending.length + this.handedBack.length,
      active: this.active.size,
      delayed: this.timers.size,
      failed: this.failed,
      paused: this.worker.isPaused(),
      pausedTenants: this.worker.pausedTenants(),
    };
  }

  start(): void {
    this.running = true;
    this.pump();
  }

  /**
   * Lets the emails held at a paused delivery go, untried. With no other process to hand them to, the
   * queue goes on sending the others until `close()`, as the app's own shutdown may still queue some.
   */
  async stop(): Promise<void> {
    this.worker.releaseHeld();
  }

  async close(): Promise<void> {
    this.running = false;
    await this.stop();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(this.active),
      new Promise((resolve) => (timer = setTimeout(resolve, this.settings.shutdownTimeout))),
    ]);
    clearTimeout(timer);
    this.timers.forEach(clearTimeout);
    const unsent = this.pending.length + this.handedBack.length + this.timers.size;
    if (unsent > 0) this.logger.warn(`${unsent} queued email(s) were not sent: the in-process queue is not durable.`);
  }

  private remember(id: string): void {
    this.seenIds.add(id);
    if (this.seenIds.size > this.settings.retained) this.seenIds.delete(this.seenIds.values().next().value as string);
  }

  private pump(): void {
    while (this.running && this.active.size < this.settings.concurrency && this.pending.length > 0) {
      const next = this.pending.shift() as PendingTry;
      const run: Promise<void> = this.attempt(next).finally(() => {
        this.active.delete(run);
        this.pump();
      });
      this.active.add(run);
    }
  }

  private async attempt(entry: PendingTry): Promise<void> {
    try {
      await this.worker.deliver({ ...entry, maxAttempts: this.settings.attempts });
    } catch (error) {
      if (error instanceof DeliveryHandedBack) {
        this.handedBack.push(entry);
        return;
      }
      if (!(error instanceof DeliveryFailure)) {
        this.logger.error(`Email ${entry.id} could not be processed: ${(error as Error).message}`);
        return;
      }
      if (!error.willRetry) {
        this.failed += 1;
        return;
      }
      if (!this.running) {
        this.pending.push({ ...entry, attempt: entry.attempt + 1 });
        return;
      }
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.pending.push({ ...entry, attempt: entry.attempt + 1 });
        this.pump();
      }, error.retryDelay);
      this.timers.add(timer);
    }
  }
}
