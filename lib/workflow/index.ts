// The face of the workflow: the service and its types, then what the module needs to provide it.
export { EmailWorkflowService } from './email-workflow.service';
export type {
  EmailRecipient,
  SendEmailRequest,
  RenderEmailRequest,
  SendEmailResult,
  TokenInspection,
} from './email-workflow.types';
export { EMAIL_USER_DIRECTORY } from './user-directory';
export type { EmailUser, EmailUserDirectory } from './user-directory';
export { WORKFLOW_SETTINGS, resolveWorkflowOptions } from './workflow.options';
export type { LinkOptions, WorkflowOptions, WorkflowSettings } from './workflow.options';
export { EmailSendPipeline } from './send.pipeline';
export { DeliverabilityDiagnostics } from './deliverability.diagnostics';
export { DeliveryDiagnostics } from './delivery.diagnostics';
export { TemplateChecks } from './template.checks';
export { TemplatePreviews } from './template.previews';
export {
  AccountFlowSupport,
  EmailChangeFlow,
  EmailVerificationFlow,
  FLOW_SETTINGS,
  longestCodeTtl,
  NewSignInNotice,
  PasswordResetFlow,
  resolveFlowOptions,
  SignInFlow,
} from './flows';
export type { FlowModuleOptions, FlowOptions, FlowSettings, NewSignInDetails, NewSignInNoticeResult, ProofMethod } from './flows';
