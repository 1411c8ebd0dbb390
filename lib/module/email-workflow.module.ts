import { Inject, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { BUILT_IN_TEMPLATES_DIR, TemplateRegistry } from '../templates';
import { SmtpTransport } from '../transport';
import { EmailWorkflowService } from '../workflow/email-workflow.service';
import { EMAIL_WORKFLOW_MODULE_OPTIONS, EMAIL_WORKFLOW_RESOLVED_OPTIONS } from './email-workflow.constants';
import { ConfigurableEmailWorkflowModule } from './email-workflow.module-definition';
import type { EmailWorkflowModuleOptions } from './email-workflow.options';
import { resolveEmailWorkflowOptions, ResolvedEmailWorkflowOptions } from './resolved-options';

/**
 * Transactional email for NestJS.
 *
 * @example
 * EmailWorkflowModule.forRoot({
 *   transport: 'smtps://user:pass@smtp.example.com',
 *   from: 'Acme <no-reply@acme.com>',
 *   brand: { name: 'Acme' },
 *   links: { verifyEmail: 'https://acme.com/verify?token={token}', resetPassword: 'https://acme.com/reset?token={token}' },
 * })
 */
@Module({
  providers: [
    {
      provide: EMAIL_WORKFLOW_RESOLVED_OPTIONS,
      useFactory: resolveEmailWorkflowOptions,
      inject: [EMAIL_WORKFLOW_MODULE_OPTIONS],
    },
    {
      provide: TemplateRegistry,
      useFactory: (options: ResolvedEmailWorkflowOptions) =>
        TemplateRegistry.load({
          dirs: [BUILT_IN_TEMPLATES_DIR, ...(options.templates.dir ? [options.templates.dir] : [])],
          defaultLocale: options.templates.defaultLocale,
          layout: { primaryColor: options.brand.primaryColor, hasLogo: Boolean(options.brand.logoUrl) },
        }),
      inject: [EMAIL_WORKFLOW_RESOLVED_OPTIONS],
    },
    {
      provide: SmtpTransport,
      useFactory: (options: ResolvedEmailWorkflowOptions) => {
        new Logger('EmailWorkflowModule').log(`Sending through ${options.transportDescription}`);
        return new SmtpTransport(options.transport);
      },
      inject: [EMAIL_WORKFLOW_RESOLVED_OPTIONS],
    },
    EmailWorkflowService,
  ],
  exports: [EmailWorkflowService],
})
export class EmailWorkflowModule extends ConfigurableEmailWorkflowModule implements OnApplicationShutdown {
  constructor(@Inject(SmtpTransport) private readonly transport: SmtpTransport) {
    super();
  }

  onApplicationShutdown(): void {
    this.transport.close();
  }
}

export type { EmailWorkflowModuleOptions };
