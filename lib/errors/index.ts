export { EmailWorkflowErrorCode } from './error-codes';
export {
  EmailWorkflowError,
  InvalidOptionsError,
  TemplateNotFoundError,
  TemplateInvalidError,
  TemplateVariableMissingError,
  InvalidRecipientError,
  EmailDeliveryError,
  QueueUnavailableError,
  InvalidTokenError,
  RateLimitedError,
  UserDirectoryMissingError,
  FlowNotConfiguredError,
  InvalidHeaderError,
  TestEmailCancelledError,
  DevInboxInProductionError,
  DevInboxDependencyMissingError,
  DependencyMissingError,
  EmailNotSentError,
} from './email-workflow.errors';
export { InvalidArgumentError, InvalidContextError } from './input.errors';
export { TenantHostRefusedError } from './tenant-host.error';
export type { OptionsProblem, InvalidTokenReason, SentEmailSummary, SmtpFailure, SmtpFailureKind } from './email-workflow.errors';
export { RedisSetupError } from './redis-setup.error';
export type { RedisSetupProblem } from './redis-setup.error';
