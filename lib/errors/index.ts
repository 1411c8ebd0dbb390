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
} from './email-workflow.errors';
export type { OptionsProblem } from './email-workflow.errors';
