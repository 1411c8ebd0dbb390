import {
  BadRequestException,
  HttpException,
  Inject,
  Injectable,
  InternalServerErrorException,
  Logger,
  OnApplicationBootstrap,
  PayloadTooLargeException,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { EmailBounceProcessor } from '../bounce-mailbox';
import { EmailDeliveryLog } from '../delivery-log';
import { rawBodyOf, webhookRequest } from './raw-body';
import type { PlatformRequest } from './raw-body';
import { WebhookRefusal, WebhookUnavailable } from './webhook.errors';
import type { ReplayGuard, VerifiedWebhook, WebhookProvider } from './webhook.request';
import { WEBHOOK_SETTINGS } from './webhooks.settings';
import type { WebhookSettings } from './webhooks.settings';

const NO_RAW_BODY =
  'EmailWebhooksModule cannot check signatures: the raw request body is not kept. Create the app with ' +
  'NestFactory.create(AppModule, { rawBody: true }). Webhooks are answered 500 until then, so providers retry them.';
const NO_WORKFLOW = 'EmailWebhooksModule needs EmailWorkflowModule: import EmailWorkflowModule.forRoot(…) in the same app.';

/** The status a refusal is answered with; the body says nothing more than the status's name. */
function refused({ status }: WebhookRefusal): HttpException {
  if (status === 413) return new PayloadTooLargeException();
  return status === 400 ? new BadRequestException() : new UnauthorizedException();
}

/**
 * Answers every provider's route: the raw body (at most `maxBodySize`), the provider's check (401/400 on
 * failure, nothing else said), then each event through EmailBounceProcessor.recordProviderEvent. 200 once
 * every event is recorded or ignored; 503 when Redis does not answer or another process is recording the same
 * event, so the provider retries (what was recorded counts once).
 */
@Injectable()
export class WebhookReceiver implements OnApplicationBootstrap {
  private readonly logger = new Logger('EmailWebhooks');
  private processor?: EmailBounceProcessor;
  private replays?: ReplayGuard;
  private rawBodyWarned = false;
  private failing = false;

  constructor(
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
    @Inject(WEBHOOK_SETTINGS) private readonly settings: WebhookSettings,
  ) {}

  /** Fails the boot with what to do when EmailWorkflowModule is not in the app. */
  onApplicationBootstrap(): void {
    let log: EmailDeliveryLog;
    try {
      this.processor = this.moduleRef.get(EmailBounceProcessor, { strict: false });
      log = this.moduleRef.get(EmailDeliveryLog, { strict: false });
    } catch {
      throw new Error(NO_WORKFLOW);
    }
    this.replays = {
      // A claim left pending for `ttlMs` and never finished: seen once, refused until it runs out.
      firstUse: async (key, ttlMs) => (await log.claim(`webhook\0${key}`, ttlMs)) === 'claimed',
      release: (key) => log.unclaim(`webhook\0${key}`),
    };
    const routes = this.settings.providers.map(({ name }) => `POST ${this.settings.path}/${name}`);
    this.logger.log(`Receiving provider webhooks at ${routes.join(', ')}`);
  }

  async receive(provider: WebhookProvider, request: PlatformRequest): Promise<void> {
    const processor = this.processor;
    const replays = this.replays;
    if (processor === undefined || replays === undefined) throw new ServiceUnavailableException();
    const raw = await rawBodyOf(request, this.settings.maxBodySize);
    if (raw === 'too-large') throw new PayloadTooLargeException();
    if (raw === 'missing-raw-body') {
      if (!this.rawBodyWarned) this.logger.error(NO_RAW_BODY);
      this.rawBodyWarned = true;
      throw new InternalServerErrorException();
    }
    let verified: VerifiedWebhook;
    try {
      verified = await provider.receive(webhookRequest(request, raw), replays);
    } catch (error) {
      if (error instanceof WebhookRefusal) {
        this.logger.debug(`A ${provider.name} webhook was refused (${error.status}): ${error.why}.`);
        throw refused(error);
      }
      this.unavailable(provider, error);
    }
    try {
      for (const event of verified.events) {
        const result = await processor.recordProviderEvent(event);
        if (result.outcome === 'pending') throw new WebhookUnavailable('another process is recording the same event');
      }
    } catch (error) {
      await verified.release?.().catch(() => undefined);
      this.unavailable(provider, error);
    }
    if (this.failing) this.logger.log('Provider webhooks are recorded again.');
    this.failing = false;
  }

  /** 503, logged once per outage: the provider retries, and what was recorded counts once. */
  private unavailable(provider: WebhookProvider, error: unknown): never {
    if (!this.failing) this.logger.warn(`A ${provider.name} webhook could not be recorded now, answered 503 so it is retried: ${(error as Error).message}`);
    this.failing = true;
    throw new ServiceUnavailableException();
  }
}
