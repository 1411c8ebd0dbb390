export { EmailWebhooksModule } from './webhooks.module';
export { InvalidWebhookOptionsError } from './webhook.errors';
export type {
  EmailWebhooksOptions,
  SesWebhookOptions,
  SendGridWebhookOptions,
  MailgunWebhookOptions,
  PostmarkWebhookOptions,
  ResendWebhookOptions,
  WebhookProviderName,
} from './webhooks.options';
export type { ProviderEvent, ProviderEventResult, ProviderEventType } from '../bounce-mailbox';
