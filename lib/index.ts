export { EmailWorkflowModule, EMAIL_WORKFLOW_MODULE_OPTIONS } from './module';
export type {
  EmailWorkflowModuleOptions,
  EmailWorkflowModuleAsyncOptions,
  EmailWorkflowModuleExtras,
  BrandOptions,
  LinkOptions,
  TemplateOptions,
} from './module';
export { EmailWorkflowService } from './workflow';
export type { EmailRecipient, SendEmailRequest, RenderEmailRequest, SendEmailResult } from './workflow';
export type { RenderedEmail, TemplateContext } from './templates';
export type {
  EmailTransportOption,
  SmtpTransportOptions,
  SmtpSecurity,
  SmtpAuthOptions,
  SmtpPoolOptions,
  SmtpTlsOptions,
} from './transport';
export { EmailEvent, EmailEvents, OnEmailEvent } from './events';
export type {
  EmailIdentity,
  EmailQueuedEvent,
  EmailSentEvent,
  EmailRetryingEvent,
  EmailFailedEvent,
  DeliveryPausedEvent,
  DeliveryResumedEvent,
  EmailEventPayloads,
  EmailEventListener,
} from './events';
export { EMAIL_WORKFLOW_QUEUE_NAME } from './queue';
export type { EmailQueueOptions, EmailRetryBackoff } from './queue';
export type { SmtpFailureKind } from './transport/smtp.failure';
export * from './errors';
