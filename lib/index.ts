import { EmailEventSubscriptions } from './events';
import type { ProofMethod } from './module';
export { EmailWorkflowModule } from './module';
export type {
  EmailWorkflowModuleOptions,
  EmailWorkflowModuleAsyncOptions,
  EmailWorkflowModuleExtras,
  BrandOptions,
  LinkOptions,
  HtmlEncoding,
  TemplateOptions,
  TokenOptions,
  CodeOptions,
  FlowOptions,
  ProofMethod,
  DkimOptions,
  TenantTransportOptions,
  EmailMetricsOptions,
  MeterProviderLike,
  DnsOptions,
} from './module';
export { EmailWorkflowService, EMAIL_USER_DIRECTORY } from './workflow';
export type {
  EmailRecipient,
  SendEmailRequest,
  RenderEmailRequest,
  SendEmailResult,
  TokenInspection,
  EmailUser,
  EmailUserDirectory,
  NewSignInDetails,
  NewSignInNoticeResult,
} from './workflow';
export type { TokenPurpose, TokenRecord, TokenState, TokenStore, ClaimOutcome, RateLimitRule } from './tokens';
export type { RenderedEmail, TemplateContext, TemplatePreview, TemplateFinding, TemplateCheckId } from './templates';
export { EmailTemplates, EMAIL_TEMPLATE_STORE } from './templates';
export type {
  EmailTemplateStore,
  StoredTemplate,
  StoredTemplateEntry,
  TemplateDraft,
  TemplateOrigin,
  TemplateProblem,
  TemplateProblemCode,
  TemplateField,
  TemplateValidation,
  TemplatePreviewResult,
  TemplatePreviewOptions,
  RenderedTemplate,
  TemplateSkip,
  TemplateSkipReason,
} from './templates';
export type {
  EmailTransportOption,
  SmtpTransportOptions,
  SmtpSecurity,
  SmtpAuthOptions,
  SmtpPoolOptions,
  SmtpTlsOptions,
  TransportOption,
  CustomTransportOption,
  SesTransportOption,
  SesTransportOptions,
  MailTransport,
  MailTransportJob,
  MailMessage,
  MailAddress,
  MailMessageDkim,
  TransportCheck,
  DeliveryReceipt,
} from './transport';
export { EmailEvent, EmailEventSubscriptions, OnEmailEvent, BeforeEmailSend } from './events';
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
  UserEmailEvent,
  PasswordResetRequestedEvent,
  SignInRequestedEvent,
  EmailChangeRequestedEvent,
  EmailChangedEvent,
  EmailChangeRevertedEvent,
  EmailSuppressedEvent,
  EmailCancelledEvent,
  EmailReportEvent,
  ReportIgnoredEvent,
  IgnoredReportReason,
  TemplateSkippedEvent,
  OutgoingEmail,
  BeforeEmailSendHook,
} from './events';
export { EmailSuppressions } from './suppression';
export type { Suppression, SuppressionDetails, SuppressionReason, SuppressionOptions } from './suppression';
export { parseBounce, MAX_BOUNCE_SIZE } from './bounces';
export type { BounceReport, BounceRecipient, BounceType, BounceAction } from './bounces';
export type { BounceOptions, BounceImapOptions } from './bounces';
export { EmailBounceProcessor, BounceMailbox } from './bounce-mailbox';
export type {
  BounceProcessingResult,
  BounceReaderStatus,
  BounceReaderState,
  ProviderEvent,
  ProviderEventResult,
  ProviderEventType,
} from './bounce-mailbox';
export { EmailDeliveryLog } from './delivery-log';
export type { DeliveryEventType, DeliveryLogQuery, DeliveryRecord, DeliveryStep, DeliveryLogOptions } from './delivery-log';
export { EMAIL_WORKFLOW_QUEUE_NAME } from './queue';
export type { EmailQueueDriver, EmailQueueOptions, EmailQueueStatus } from './queue';
export type { EmailRetryBackoff } from './delivery';
export type { EmailRedisOptions, EmailRedisCluster, ConnectionRole } from './redis';
export type {
  TransportDiagnosis,
  DiagnosisStep,
  DiagnosisStepName,
  DiagnosisFailure,
  DiagnosisFailureCode,
} from './diagnostics';
export type {
  DeliverabilityDiagnosis,
  DeliverabilityCheck,
  DeliverabilityCheckName,
  DeliverabilityCode,
  DeliverabilityStatus,
} from './deliverability';
export { encryptCredential } from './crypto';
export type { SmtpFailureKind } from './errors';
export {
  EmailWorkflowErrorCode,
  EmailWorkflowError,
  InvalidOptionsError,
  TemplateNotFoundError,
  TemplateInvalidError,
  TemplateVariableMissingError,
  InvalidRecipientError,
  EmailDeliveryError,
  TenantHostRefusedError,
  QueueUnavailableError,
  RedisSetupError,
  InvalidTokenError,
  RateLimitedError,
  UserDirectoryMissingError,
  FlowNotConfiguredError,
  InvalidHeaderError,
  TestEmailCancelledError,
  DevInboxInProductionError,
  InvalidArgumentError,
  InvalidContextError,
  DevInboxDependencyMissingError,
  DependencyMissingError,
} from './errors';
export type { OptionsProblem, InvalidTokenReason, RedisSetupProblem } from './errors';

// Renamed in 0.2; the old names stay for one minor version.
/** @deprecated Use EmailEventSubscriptions (the service; EmailEvent is the enum of event names); removed in 0.3. */
export const EmailEvents = EmailEventSubscriptions;
/** @deprecated Use EmailEventSubscriptions (the service; EmailEvent is the enum of event names); removed in 0.3. */
export type EmailEvents = EmailEventSubscriptions;
/** @deprecated Use ProofMethod ('link' | 'code' | 'both': how the user proves the address); removed in 0.3. */
export type EmailDelivery = ProofMethod;
