import type { PayloadCipher } from '../crypto/payload.cipher';
import { DependencyMissingError, requireOptional } from '../errors';
import type { EmailDeliveryWorker } from './delivery.worker';
import type { RedisEmailQueue } from './email-queue';
import type { RedisQueueSettings } from './queue.options';

/**
 * Opens the durable queue. Bull is an optional peer loaded here, only when `queue.redis` is set:
 * apps on the in-process queue neither install it nor pay the fifth of a second it takes to load.
 */
export function openRedisQueue(settings: RedisQueueSettings, worker: EmailDeliveryWorker, cipher: PayloadCipher): Promise<RedisEmailQueue> {
  const { BullEmailQueue } = requireOptional(
    'bull',
    () => require('./bull-email.queue') as typeof import('./bull-email.queue'),
    (name) => new DependencyMissingError(name, 'queue.redis (the durable queue on Redis)'),
  );
  return BullEmailQueue.open(settings, worker, cipher);
}
