import type { TestingModule } from '@nestjs/testing';
import { Queue as BullMqQueue } from 'bullmq';
import Bull from 'bull';
import Redis from 'ioredis';
import { EMAIL_WORKFLOW_QUEUE_NAME, EmailQueueDriver } from 'nestjs-email-workflow';
import { EMAIL_QUEUE } from '../../lib/queue/email-queue';
import type { DurableEmailQueue } from '../../lib/queue/durable-email.queue';
import { REDIS_URL } from './redis';

/** Every durable driver: the queue suites run once per driver (describe.each). */
export const QUEUE_DRIVERS: readonly EmailQueueDriver[] = ['bull', 'bullmq'];

/** What the suites read of a driver's queue object (the one under the queue token), the same on Bull and BullMQ. */
export interface InspectableQueue {
  getJobCounts(): Promise<Record<string, number>>;
  getActiveCount(): Promise<number>;
  getWaiting(): Promise<Array<{ attemptsMade: number; stacktrace: string[]; data: { messageId?: string } }>>;
}

/** A queue object of the driver's own library on `prefix`, opened beside the module's, to look at its jobs. */
export function inspectQueue(driver: EmailQueueDriver, prefix: string): InspectableQueue & { close(): Promise<void> } {
  if (driver === 'bull') return new Bull(EMAIL_WORKFLOW_QUEUE_NAME, REDIS_URL, { prefix }) as unknown as InspectableQueue & { close(): Promise<void> };
  const connection = new Redis(REDIS_URL);
  const queue = new BullMqQueue(EMAIL_WORKFLOW_QUEUE_NAME, { connection, prefix });
  return Object.assign(queue, {
    close: async () => {
      await BullMqQueue.prototype.close.call(queue);
      connection.disconnect();
    },
  }) as unknown as InspectableQueue & { close(): Promise<void> };
}

/** Every Redis connection of a booted module's durable queue, on either driver (they open lazily: read it again later). */
export function queueClients(moduleRef: TestingModule): () => readonly Redis[] {
  const queue = moduleRef.get<DurableEmailQueue>(EMAIL_QUEUE);
  return () => queue.clients() as readonly Redis[];
}

/** How many connections a driver's queue holds once its worker runs. */
export const WORKER_CONNECTIONS: Record<EmailQueueDriver, number> = { bull: 2, bullmq: 3 };
