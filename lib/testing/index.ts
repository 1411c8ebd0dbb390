export { EmailWorkflowTestingModule } from './email-workflow-testing.module';
export type { EmailWorkflowTestingOptions, EmailWorkflowTestingAsyncOptions } from './email-workflow-testing.options';
export { captureEmails } from './email-workflow-testing.providers';
export type { ProviderOverriding } from './email-workflow-testing.providers';
export { TestOutbox } from './test-outbox';
export type { CapturedEmail, SentEmailMatch, OutboxWaitOptions } from './test-outbox.types';
export { EmailNotSentError } from '../errors';
export type { SentEmailSummary } from '../errors';
