import type { PayloadCipher } from '../crypto';
import type { RedisConnection } from '../redis';
import { DependencyMissingError } from '../errors';
import { requireOptional } from '../optional-packages';
import type { EmailDeliveryWorker } from '../delivery';
import type { RedisEmailQueue } from './email-queue';
import type { FailureRedactor } from './failure.redactor';
import type { RedisQueueSettings } from './queue.options';

/**
 * Opens the durable queue. The queue library (Bull by default, BullMQ with `queue.driver: 'bullmq'`)
 * is an optional peer loaded here, only when `queue.redis` is set and only the one chosen: apps
 * install just that one, and apps on the in-process queue neither, nor pay the time it takes to load.
 */
export function openRedisQueue(
  settings: RedisQueueSettings,
  connection: RedisConnection,
  worker: EmailDeliveryWorker,
  cipher: PayloadCipher,
  redactor: FailureRedactor,
): Promise<RedisEmailQueue> {
  if (settings.driver === 'bullmq') {
    const { openBullMqQueue } = requireOptional(
      'bullmq',
      () => require('./bullmq-email.queue') as typeof import('./bullmq-email.queue'),
      (name) => new DependencyMissingError(name, "queue.driver: 'bullmq' (the durable queue on BullMQ)"),
    );
    return openBullMqQueue(settings, connection, worker, cipher, redactor);
  }
  const { openBullQueue } = requireOptional(
    'bull',
    () => require('./bull-email.queue') as typeof import('./bull-email.queue'),
    (name) => new DependencyMissingError(name, 'queue.redis (the durable queue on Bull)'),
  );
  return openBullQueue(settings, connection, worker, cipher, redactor);
}
