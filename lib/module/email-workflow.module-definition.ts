import { ConfigurableModuleBuilder } from '@nestjs/common';
import { EMAIL_WORKFLOW_MODULE_OPTIONS } from './email-workflow.constants';
import type { EmailWorkflowModuleOptions } from './email-workflow.options';

export interface EmailWorkflowModuleExtras {
  /** Register the module globally so every module can inject EmailWorkflowService. @default false */
  isGlobal?: boolean;
}

const { ConfigurableModuleClass, ASYNC_OPTIONS_TYPE } = new ConfigurableModuleBuilder<EmailWorkflowModuleOptions>({
  moduleName: 'EmailWorkflow',
  optionsInjectionToken: EMAIL_WORKFLOW_MODULE_OPTIONS,
})
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createEmailWorkflowOptions')
  .setExtras<EmailWorkflowModuleExtras>({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();

export const ConfigurableEmailWorkflowModule = ConfigurableModuleClass;
export type EmailWorkflowModuleAsyncOptions = typeof ASYNC_OPTIONS_TYPE;
