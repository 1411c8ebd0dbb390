export { EmailWorkflowModule } from './email-workflow.module';
export type { EmailWorkflowModuleAsyncOptions, EmailWorkflowModuleExtras } from './email-workflow.module-definition';
export type {
  EmailWorkflowModuleOptions,
  BrandOptions,
  LinkOptions,
  TemplateOptions,
  TokenOptions,
  RateLimitOptions,
  DkimOptions,
  TenantTransportOptions,
} from './email-workflow.options';
export { EMAIL_WORKFLOW_MODULE_OPTIONS } from './email-workflow.constants';
