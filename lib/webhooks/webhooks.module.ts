import { Controller, DynamicModule, HttpCode, Inject, Module, Post, Req, Type } from '@nestjs/common';
import type { PlatformRequest } from './raw-body';
import { WebhookReceiver } from './webhook.receiver';
import type { WebhookProvider } from './webhook.request';
import type { EmailWebhooksOptions } from './webhooks.options';
import { resolveWebhookSettings, WEBHOOK_SETTINGS } from './webhooks.settings';

/** One provider's route: `POST <path>/<provider>`, answered empty. */
function createWebhookController(path: string, provider: WebhookProvider): Type<unknown> {
  @Controller(path)
  class EmailWebhookController {
    constructor(@Inject(WebhookReceiver) private readonly receiver: WebhookReceiver) {}

    @Post(provider.name)
    @HttpCode(200)
    async receive(@Req() request: PlatformRequest): Promise<void> {
      await this.receiver.receive(provider, request);
    }
  }
  Object.defineProperty(EmailWebhookController, 'name', { value: `EmailWebhookController_${provider.name}` });
  return EmailWebhookController;
}

/**
 * Receives bounces, complaints, deliveries and unsubscribes from email providers' signed webhooks, and records
 * them as the bounce mailbox does: matched to an email we sent (by Message-ID, or the provider's id from its
 * 250 reply) and to that email's recipient, then the delivery log, the suppression list and `email.bounced`,
 * `email.complained`, `email.delayed`, `email.delivered`, `email.unsubscribed`. One POST route per configured
 * provider at `<path>/<provider>`. Needs EmailWorkflowModule in the app, and the raw body:
 *
 * @example
 * const app = await NestFactory.create(AppModule, { rawBody: true });
 * // AppModule imports:
 * EmailWebhooksModule.forRoot({
 *   ses: { topics: ['arn:aws:sns:eu-west-1:123456789012:ses-events'] },
 *   sendgrid: { publicKey: process.env.SENDGRID_WEBHOOK_KEY! },
 * })
 */
@Module({})
export class EmailWebhooksModule {
  /** Throws InvalidWebhookOptionsError, naming every problem, when the options are wrong. */
  static forRoot(options: EmailWebhooksOptions): DynamicModule {
    const settings = resolveWebhookSettings(options);
    return {
      module: EmailWebhooksModule,
      controllers: settings.providers.map((provider) => createWebhookController(settings.path, provider)),
      providers: [{ provide: WEBHOOK_SETTINGS, useValue: settings }, WebhookReceiver],
    };
  }
}
