import { Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { EmailEvent } from '../events';
import type { EmailEventBus } from '../events';
import { queueIdOf } from './email-delivery-log';
import type { EmailDeliveryLog } from './email-delivery-log';

/**
 * Writes the log from the delivery events, so the queue and workflow know nothing of it. Best effort: a
 * write that fails (Redis gone) never holds or fails an email; it is logged once per outage.
 */
export class DeliveryLogFeed implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('EmailWorkflow');
  private readonly pending = new Set<Promise<void>>();
  private readonly unsubscribes: Array<() => void> = [];
  private failing = false;

  constructor(
    private readonly events: EmailEventBus,
    private readonly log: EmailDeliveryLog,
  ) {}

  onModuleInit(): void {
    const on = this.events.on.bind(this.events);
    this.unsubscribes.push(
      on(EmailEvent.Queued, ({ messageId, to, template, tenant, locale }) => this.write(this.log.start({ messageId, to, template, tenant, locale }, 'queued'))),
      on(EmailEvent.Suppressed, ({ messageId, to, template, tenant }) => this.write(this.log.start({ messageId, to, template, tenant }, 'cancelled', { reason: 'suppressed' }))),
      on(EmailEvent.Cancelled, ({ messageId, to, template, tenant, reason }) => this.write(this.log.start({ messageId, to, template, tenant }, 'cancelled', { reason }))),
      on(EmailEvent.Sent, ({ messageId, attempt, response, sendDurationMs, transport, transportIndex, templateVersion }) =>
        this.write(
          this.log.add(messageId, 'sent', {
            attempt,
            reply: response,
            queueId: response === undefined ? undefined : queueIdOf(response),
            durationMs: Math.round(sendDurationMs),
            transport,
            transportIndex,
            templateVersion,
          }),
        ),
      ),
      on(EmailEvent.Retrying, ({ messageId, attempt, reason, responseCode, enhancedCode, sendDurationMs }) =>
        this.write(this.log.add(messageId, 'retrying', { attempt, reply: reason, responseCode, enhancedCode, durationMs: rounded(sendDurationMs) })),
      ),
      on(EmailEvent.Failed, ({ messageId, attempt, kind, reason, responseCode, enhancedCode, sendDurationMs }) =>
        this.write(this.log.add(messageId, 'failed', { attempt, reason: kind, reply: reason, responseCode, enhancedCode, durationMs: rounded(sendDurationMs) })),
      ),
    );
  }

  /** Runs before the queue closes its Redis connection, so what happened just before shutdown is still written. */
  async onModuleDestroy(): Promise<void> {
    this.unsubscribes.splice(0).forEach((unsubscribe) => unsubscribe());
    await Promise.allSettled(this.pending);
  }

  private write(written: Promise<void>): void {
    const tracked: Promise<void> = written
      .then(
        () => {
          if (this.failing) this.logger.log('The delivery log is written again.');
          this.failing = false;
        },
        (error: unknown) => {
          if (!this.failing) this.logger.warn(`The delivery log could not be written, emails are sent as before: ${(error as Error).message}`);
          this.failing = true;
        },
      )
      .finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }
}

function rounded(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms);
}
