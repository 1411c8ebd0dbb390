export type { EmailQueueDriver, EmailQueueOptions, EmailRetryBackoff } from './queue.options';
export { EMAIL_QUEUE, EMAIL_WORKFLOW_QUEUE_NAME } from './email-queue';
export type { EmailQueue, EmailQueueStatus, RedisEmailQueue } from './email-queue';
export { EmailDeliveryWorker } from './delivery.worker';
export { composedHtml, MessageComposer } from './message.composer';
export type { ComposableEmail } from './message.composer';
export { openRedisQueue } from './redis-queue.loader';
export { FailureRedactor } from './failure.redactor';
export { InProcessEmailQueue } from './in-process-email.queue';
