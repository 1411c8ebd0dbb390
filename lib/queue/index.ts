export type { EmailQueueOptions, EmailRetryBackoff, EmailQueueAdvancedSettings } from './queue.options';
export { describeRedis } from './queue.options';
export { EMAIL_QUEUE, EMAIL_WORKFLOW_QUEUE_NAME } from './email-queue';
export type { EmailQueue, EmailQueueStatus, RedisEmailQueue } from './email-queue';
export type { EmailJob } from './email-job';
export { EmailDeliveryWorker } from './delivery.worker';
export { openRedisQueue } from './redis-queue.loader';
export { InProcessEmailQueue } from './in-process-email.queue';
