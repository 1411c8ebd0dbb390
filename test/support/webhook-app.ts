import { randomUUID } from 'node:crypto';
import { INestApplication } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test, TestingModule } from '@nestjs/testing';
import { EmailDeliveryLog, EmailEvent, EmailEventSubscriptions, EmailSuppressions, EmailWorkflowModule, EmailWorkflowService } from 'nestjs-email-workflow';
import type { EmailWorkflowModuleOptions, Suppression } from 'nestjs-email-workflow';
import { EmailWebhooksModule } from 'nestjs-email-workflow/webhooks';
import type { EmailWebhooksOptions } from 'nestjs-email-workflow/webhooks';
import { CapturingLogger } from './capturing-logger';
import { localOptions } from './module-options';
import { TEST_SECRET } from './redis';
import { sesMessageId } from './webhook-signers';
import type { SignedRequest } from './webhook-signers';
import { SmtpSink } from './smtp-sink';
import { until } from './wait';
import { EventLog } from './workflow';

export const PLATFORMS = [
  ['Express', () => new ExpressAdapter()],
  ['Fastify', () => new FastifyAdapter()],
] as const;

/** The provider id each email's 250 reply named, by Message-ID. */
const providerIds = new Map<string, string>();

/**
 * The SMTP server the emails go to, answering as the provider would: `250 Ok <SES id>` for recipients at
 * `ses.test`, `250 Ok: queued as <uuid>` at `postmark.test`, smtp-server's default elsewhere.
 */
export async function startProviderSink(): Promise<SmtpSink> {
  const sink = await SmtpSink.start();
  sink.reply = (mail) => {
    const to = mail.to && !Array.isArray(mail.to) ? mail.to.value[0]?.address ?? '' : '';
    const id = to.endsWith('@ses.test') ? sesMessageId() : to.endsWith('@postmark.test') ? randomUUID() : undefined;
    if (id === undefined || mail.messageId === undefined) return undefined;
    providerIds.set(mail.messageId, id);
    return to.endsWith('@ses.test') ? `Ok ${id}` : `Ok: queued as ${id}`;
  };
  return sink;
}

export interface WebhookApp {
  app: INestApplication;
  moduleRef: TestingModule;
  origin: string;
  emails: EmailWorkflowService;
  log: EmailDeliveryLog;
  suppressions: EmailSuppressions;
  events: EventLog;
  logger: CapturingLogger;
}

/** A real HTTP app on loopback: the workflow sending to `sinkPort`, and the webhooks module, created with `rawBody` (true unless told). */
export async function bootWebhookApp(
  adapter: ExpressAdapter | FastifyAdapter,
  sinkPort: number,
  webhooks: EmailWebhooksOptions,
  { rawBody = true, workflow = {} }: { rawBody?: boolean; workflow?: Partial<EmailWorkflowModuleOptions> } = {},
): Promise<WebhookApp> {
  const logger = new CapturingLogger();
  const moduleRef = await Test.createTestingModule({
    imports: [EmailWorkflowModule.forRoot(localOptions(sinkPort, { secret: TEST_SECRET, ...workflow })), EmailWebhooksModule.forRoot(webhooks)],
  })
    .setLogger(logger)
    .compile();
  const events = new EventLog(moduleRef.get(EmailEventSubscriptions));
  const app = moduleRef.createNestApplication(adapter, { rawBody, logger });
  await app.listen(0, '127.0.0.1');
  const origin = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
  return {
    app,
    moduleRef,
    origin,
    emails: app.get(EmailWorkflowService),
    log: app.get(EmailDeliveryLog),
    suppressions: app.get(EmailSuppressions),
    events,
    logger,
  };
}

/** A fresh address at `domain` (which decides how the sink answers). */
export function address(name: string, domain = 'example.test'): string {
  return `${name}-${randomUUID().slice(0, 8)}@${domain}`;
}

/** Sends one email and waits until the log has the server's 250; gives its Message-ID and the provider id that reply named. */
export async function sent(app: WebhookApp, to: string): Promise<{ messageId: string; providerId: string | undefined }> {
  const { messageId } = await app.emails.send({ template: 'test-email', to });
  await until(async () => (await app.log.get(messageId))?.status === 'sent', `the log to say ${messageId} was sent`);
  return { messageId, providerId: providerIds.get(messageId) };
}

/** POSTs a provider's request over HTTP to `<path>/<provider>`. */
export async function post(app: WebhookApp, provider: string, request: SignedRequest, path = '/webhooks/email'): Promise<{ status: number; body: string }> {
  const response = await fetch(`${app.origin}${path}/${provider}`, { method: 'POST', headers: request.headers, body: request.body, signal: AbortSignal.timeout(15_000) });
  return { status: response.status, body: await response.text() };
}

const REPORT_EVENTS = [EmailEvent.Bounced, EmailEvent.Delayed, EmailEvent.Complained, EmailEvent.Delivered, EmailEvent.Unsubscribed] as const;

/** What a webhook may change: the suppression list, these emails' log steps, and the report events fired. */
export interface Observed {
  suppressions: Suppression[];
  steps: Array<string[] | undefined>;
  reports: number[];
}

export async function observe(app: WebhookApp, messageIds: string[]): Promise<Observed> {
  return {
    suppressions: await app.suppressions.list(),
    steps: await Promise.all(messageIds.map(async (id) => (await app.log.get(id))?.steps.map((step) => step.event))),
    reports: REPORT_EVENTS.map((event) => app.events.seen[event].length),
  };
}
