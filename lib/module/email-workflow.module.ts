import { Inject, Module, OnApplicationBootstrap, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { getQueueToken } from '@nestjs/bull-shared';
import { BounceMailbox, EmailBounceProcessor } from '../bounce-mailbox';
import { EmailDeliveryLog } from '../delivery-log';
import { EmailEventExplorer, EmailEventSubscriptions } from '../events';
import { EMAIL_QUEUE, EMAIL_WORKFLOW_QUEUE_NAME } from '../queue';
import type { EmailQueue } from '../queue';
import { EmailSuppressions } from '../suppression';
import { EmailTemplates } from '../templates';
import { TransportRegistry } from '../transport';
import {
  AccountFlowSupport,
  DeliverabilityDiagnostics,
  DeliveryDiagnostics,
  EmailChangeFlow,
  EmailWorkflowService,
  PasswordResetFlow,
  NewSignInNotice,
  EmailSendPipeline,
  SignInFlow,
  TemplateChecks,
  TemplatePreviews,
  EmailVerificationFlow,
} from '../workflow';
import { ConfigurableEmailWorkflowModule } from './email-workflow.module-definition';
import { emailWorkflowProviders } from './email-workflow.providers';
import { templateProviders } from './template.providers';

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
  imports: [DiscoveryModule],
  providers: [
    ...emailWorkflowProviders,
    ...templateProviders,
    EmailEventExplorer,
    EmailSendPipeline,
    AccountFlowSupport,
    EmailVerificationFlow,
    PasswordResetFlow,
    SignInFlow,
    EmailChangeFlow,
    NewSignInNotice,
    DeliveryDiagnostics,
    DeliverabilityDiagnostics,
    TemplatePreviews,
    TemplateChecks,
    EmailWorkflowService,
  ],
  exports: [EmailWorkflowService, EmailTemplates, EmailEventSubscriptions, EmailSuppressions, EmailDeliveryLog, EmailBounceProcessor, BounceMailbox, getQueueToken(EMAIL_WORKFLOW_QUEUE_NAME)],
})
export class EmailWorkflowModule
  extends ConfigurableEmailWorkflowModule
  implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown
{
  constructor(
    @Inject(EMAIL_QUEUE) private readonly queue: EmailQueue,
    @Inject(TransportRegistry) private readonly transports: TransportRegistry,
  ) {
    super();
  }

  /** Workers start once every `@OnEmailEvent` listener is bound, so no early event is missed. */
  onApplicationBootstrap(): void {
    this.queue.start();
  }

  /**
   * The first hook of `app.close()`: the emails held at a paused delivery go back to the queue and,
   * with Redis, the worker takes no more jobs, so another process takes them at once.
   */
  async onModuleDestroy(): Promise<void> {
    await this.queue.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.queue.close();
    await this.transports.closeAll();
  }
}
