import type { MessageRefs } from '../crypto';
import type { DeliveryRecord, EmailDeliveryLog } from '../delivery-log';
import type { IgnoredReportReason } from '../events';
import type { EmailSuppressions } from '../suppression';
import type { ProviderEvent, ProviderEventResult, ProviderEventType } from './provider-event.types';
import { sameAddress } from './report.recorder';
import type { ReportRecorder } from './report.recorder';

/** The longest Message-ID or provider id looked up: anything longer is no id we sent or recorded. */
const MAX_ID_LENGTH = 998;

/** A Message-ID as `send()` returned it and the log keys it: one pair of angle brackets around the id. */
function bracketed(messageId: string): string {
  return `<${messageId.trim().replace(/^<+|>+$/g, '')}>`;
}

/** The claim that makes each thing count once per email, whoever reports it (a DSN and a webhook share keys). */
function claimOf(ref: string, { type, hard }: ProviderEvent): string {
  return type === 'bounce' && !hard ? `${ref}:bounce:soft` : `${ref}:${type}`;
}

/**
 * Applies events from providers' webhooks (already verified by signature): the event must name an email we
 * sent, by its Message-ID or by the provider's id its 250 reply gave us, and the recipient that email went
 * to. Then a permanent bounce, a complaint or an unsubscribe suppresses that exact address; every event goes
 * into the log record and fires its event, once.
 */
export class ProviderEventRecorder {
  constructor(
    private readonly log: EmailDeliveryLog,
    private readonly refs: MessageRefs,
    private readonly suppressions: EmailSuppressions,
    private readonly recorder: ReportRecorder,
  ) {}

  async record(event: ProviderEvent): Promise<ProviderEventResult> {
    const { type, provider } = event;
    const ignore = (reason: IgnoredReportReason): ProviderEventResult => {
      this.recorder.ignore(type, reason, provider);
      return { outcome: 'ignored', type, reason };
    };
    const found = await this.find(event);
    if (found === undefined) return ignore('unknown-message');
    const { ref, record } = found;
    // The event names the mailbox it is about: another one (a forgery, Mallory's own email) says nothing of ours.
    if (typeof event.recipient !== 'string' || !sameAddress(event.recipient, record.to)) return ignore('recipient-mismatch');
    const outcome = await this.recorder.record({
      type,
      ref,
      record,
      claim: claimOf(ref, event),
      suppress: () => this.suppress(event, record),
      status: event.status,
      diagnosticCode: event.diagnosticCode,
      provider,
    });
    if (outcome.outcome === 'duplicate') return ignore('duplicate');
    if (outcome.outcome === 'pending') return { outcome: 'pending', type };
    return { outcome: 'recorded', type, messageId: outcome.messageId, suppressed: outcome.suppressed };
  }

  /** The email by its Message-ID first, then by the provider's id as the log filed it from the 250 reply. */
  private async find({ messageId, providerMessageId }: ProviderEvent): Promise<{ ref: string; record: DeliveryRecord } | undefined> {
    if (typeof messageId === 'string' && messageId.trim() !== '' && messageId.length <= MAX_ID_LENGTH) {
      const ref = this.refs.refOf(bracketed(messageId));
      const record = await this.log.byRef(ref);
      if (record !== undefined) return { ref, record };
    }
    if (typeof providerMessageId === 'string' && providerMessageId.trim() !== '' && providerMessageId.length <= MAX_ID_LENGTH) {
      const ref = await this.log.refOfQueueId(providerMessageId.trim());
      const record = ref === undefined ? undefined : await this.log.byRef(ref);
      if (ref !== undefined && record !== undefined) return { ref, record };
    }
    return undefined;
  }

  /**
   * A bounce the provider calls permanent suppresses (providers stop sending to it themselves), as do a
   * complaint and an unsubscribe; a soft bounce, a delay and a delivery only go into the log.
   */
  private async suppress({ type, hard, status }: ProviderEvent, record: DeliveryRecord): Promise<boolean> {
    const reasons: Partial<Record<ProviderEventType, string>> = { complaint: 'complaint', unsubscribed: 'unsubscribed' };
    if (type === 'bounce' && hard === true) {
      await this.suppressions.add(record.to, 'bounce', { code: status, messageId: record.messageId });
      return true;
    }
    const reason = reasons[type];
    if (reason === undefined) return false;
    await this.suppressions.add(record.to, reason, { messageId: record.messageId });
    return true;
  }
}
