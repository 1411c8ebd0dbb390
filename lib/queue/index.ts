export type { EmailQueueOptions, EmailRetryBackoff } from './queue.options';
export { EMAIL_QUEUE, EMAIL_WORKFLOW_QUEUE_NAME } from './email-queue';
export type { EmailQueue, EmailQueueStatus } from './email-queue';
export type { EmailJob } from './email-job';
export { EmailDeliveryWorker } from './delivery.worker';
export { BullEmailQueue, describeRedis } from './bull-email.queue';
export { InProcessEmailQueue } from './in-process-email.queue';
