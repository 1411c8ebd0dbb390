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
export * from './errors';
