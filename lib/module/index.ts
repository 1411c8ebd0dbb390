export { EmailWorkflowModule } from './email-workflow.module';
export type { EmailWorkflowModuleAsyncOptions, EmailWorkflowModuleExtras } from './email-workflow.module-definition';
export type {
  EmailWorkflowModuleOptions,
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
} from './email-workflow.options';
