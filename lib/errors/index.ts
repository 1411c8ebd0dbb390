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
  InvalidHeaderError,
  DevInboxInProductionError,
  DevInboxDependencyMissingError,
} from './email-workflow.errors';
export type { OptionsProblem, InvalidTokenReason } from './email-workflow.errors';
