import { Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { EmailEvent, EmailEventBus } from '../events';
import type { EmailFailedEvent } from '../events';
import type { EmailSuppressions } from './email-suppressions';
import type { SuppressionSettings } from './suppression.options';

/**
 * Whether a failure says the recipient's mailbox is gone for good: a permanent (5xx) failure with
 * 5.1.x (no such address), 5.2.1 (mailbox disabled) or one of the app's `suppression.codes`.
 * A 5xx about the message or the sender (5.7.x policy, 5.3.4 too big) says nothing of the mailbox.
 */
export function suppressesRecipient(failure: Pick<EmailFailedEvent, 'kind' | 'responseCode' | 'enhancedCode'>, codes: readonly string[]): boolean {
  if (failure.kind !== 'permanent') return false;
  const enhanced = failure.enhancedCode;
  if (enhanced !== undefined && (enhanced.startsWith('5.1.') || enhanced === '5.2.1')) return true;
  return codes.some((code) => {
    if (/^\d{3}$/.test(code)) return failure.responseCode === Number(code);
    return enhanced !== undefined && (enhanced === code || enhanced.startsWith(`${code}.`));
  });
}

/**
 * Feeds the list from the delivery events, so the queue knows nothing of it: one subscriber to
 * email.failed. A write that fails (Redis gone) is logged; the email had failed either way.
 */
export class BounceFeed implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('EmailWorkflow');
  private readonly pending = new Set<Promise<void>>();
  private unsubscribe?: () => void;

  constructor(
    private readonly events: EmailEventBus,
    private readonly suppressions: EmailSuppressions,
    private readonly settings: SuppressionSettings,
  ) {}

  onModuleInit(): void {
    this.unsubscribe = this.events.on(EmailEvent.Failed, (failure) => this.record(failure));
  }

  /** Runs before the queue closes its Redis connection, so a bounce seen just before shutdown is still written. */
  async onModuleDestroy(): Promise<void> {
    this.unsubscribe?.();
    await Promise.allSettled(this.pending);
  }

  private record(failure: EmailFailedEvent): void {
    if (!suppressesRecipient(failure, this.settings.codes)) return;
    const code = failure.enhancedCode ?? (failure.responseCode === undefined ? undefined : String(failure.responseCode));
    const write: Promise<void> = this.suppressions
      .add(failure.to, 'bounce', { code, messageId: failure.messageId })
      .then(
        () => undefined,
        (error: unknown) => this.logger.warn(`A permanently failed recipient (email ${failure.messageId}) was not put on the suppression list: ${(error as Error).message}`),
      )
      .finally(() => this.pending.delete(write));
    this.pending.add(write);
  }
}
