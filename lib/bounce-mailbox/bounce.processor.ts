import { Logger } from '@nestjs/common';
import { parseBounce } from '../bounces';
import type { BounceRecipient, BounceReport } from '../bounces';
import type { MessageRefs } from '../crypto';
import type { DeliveryRecord, EmailDeliveryLog } from '../delivery-log';
import { InvalidArgumentError } from '../errors';
import type { EmailEventBus, IgnoredReportReason } from '../events';
import { suppressesRecipient } from '../suppression';
import type { EmailSuppressions } from '../suppression';
import type { BounceMessageHandler, BounceMessageOutcome } from './bounce-mailbox.types';
import { ProviderEventRecorder } from './provider-event.recorder';
import type { ProviderEvent, ProviderEventResult } from './provider-event.types';
import { REPORT_KINDS, ReportRecorder, sameAddress } from './report.recorder';

/** What a report did. */
export type BounceProcessingResult =
  | { outcome: 'recorded'; type: BounceReport['type']; messageId: string; suppressed: boolean }
  | { outcome: 'ignored'; type: BounceReport['type']; reason: IgnoredReportReason }
  /** Another process is recording this very report now (or failed to, a minute ago): try it again later. */
  | { outcome: 'pending'; type: BounceReport['type'] }
  | { outcome: 'unrecognised' };

/** How long a claimed report waits for its recorder before another reader may count it. */
const PENDING_CLAIM_MS = 60_000;

/** The recipient action each report type is about. */
const ACTIONS = { bounce: 'failed', delay: 'delayed', complaint: 'complained' } as const;

/**
 * Turns a bounce, delay notice or complaint into what it means, once it is proven to be about an email we
 * sent: its envelope tag verifies (or, when a server rewrote the envelope sender, it returns the Message-ID
 * of one of our emails) and the recipient it names is the one that email went to. Then a hard bounce or a
 * complaint suppresses that exact address, and every report goes into the email's log record and fires its
 * event. Anything else changes nothing (debug log, `email.report-ignored`).
 *
 * Feed it reports from elsewhere too (another mailbox, a relay's webhook with the raw DSN), or events a
 * provider's webhook reported once its signature is verified (`recordProviderEvent`, what EmailWebhooksModule
 * calls):
 * @example
 * const result = await this.bounces.process(rawMessage);
 */
export class EmailBounceProcessor implements BounceMessageHandler {
  private readonly logger = new Logger('EmailWorkflow');
  private readonly recorder: ReportRecorder;
  private readonly providerEvents: ProviderEventRecorder;

  constructor(
    private readonly log: EmailDeliveryLog,
    private readonly refs: MessageRefs,
    private readonly suppressions: EmailSuppressions,
    events: EmailEventBus,
    private readonly suppressionCodes: readonly string[],
    pendingClaimMs = PENDING_CLAIM_MS,
  ) {
    this.recorder = new ReportRecorder(log, events, pendingClaimMs);
    this.providerEvents = new ProviderEventRecorder(log, refs, suppressions, this.recorder);
  }

  /** Reads one raw report and applies it. Rejects only when the store cannot be written (try again later). */
  async process(raw: Buffer | string): Promise<BounceProcessingResult> {
    const report = await parseBounce(raw);
    return report === null ? { outcome: 'unrecognised' } : this.apply(report);
  }

  /** For the mailbox reader: a report the store could not take now stays in the mailbox for the next pass. */
  async handle(raw: Buffer): Promise<BounceMessageOutcome> {
    try {
      const { outcome } = await this.process(raw);
      return outcome === 'unrecognised' ? 'unrecognised' : outcome === 'pending' ? 'retry' : 'done';
    } catch (error) {
      this.logger.warn(`A bounce report was left in the mailbox to be read again: ${(error as Error).message}`);
      return 'retry';
    }
  }

  /**
   * Applies one event a provider reported in a webhook whose signature was verified: matched to our email by
   * Message-ID (or the provider's id its 250 reply gave), and only if `recipient` is that email's recipient.
   * An event for an email we never sent, or another recipient, changes nothing (`ignored`); the same event
   * twice counts once. Rejects with QueueUnavailableError when Redis does not answer: nothing was recorded.
   */
  async recordProviderEvent(event: ProviderEvent): Promise<ProviderEventResult> {
    const method = 'EmailBounceProcessor.recordProviderEvent';
    if (typeof event !== 'object' || event === null) {
      throw new InvalidArgumentError(method, 'event', "an object such as { provider: 'ses', type: 'bounce', hard: true, messageId, recipient }", String(event));
    }
    if (!Object.hasOwn(REPORT_KINDS, event.type)) throw new InvalidArgumentError(method, 'event.type', `one of ${Object.keys(REPORT_KINDS).join(', ')}`, String(event.type));
    if (typeof event.provider !== 'string' || event.provider === '') throw new InvalidArgumentError(method, 'event.provider', "a name such as 'ses'", String(event.provider));
    return this.providerEvents.record(event);
  }

  private async apply(report: BounceReport): Promise<BounceProcessingResult> {
    const { type } = report;
    const ignore = (reason: IgnoredReportReason): BounceProcessingResult => {
      this.recorder.ignore(type, reason);
      return { outcome: 'ignored', type, reason };
    };
    const tagRef = report.envelopeTag === undefined ? undefined : this.refs.refOfTag(report.envelopeTag);
    const ref = tagRef ?? (report.messageId === undefined ? undefined : this.refs.refOf(report.messageId));
    if (ref === undefined) return ignore(report.envelopeTag === undefined ? 'unknown-message' : 'forged-tag');
    const record = await this.log.byRef(ref);
    if (record === undefined) return ignore(tagRef === undefined && report.envelopeTag !== undefined ? 'forged-tag' : 'unknown-message');
    const named = report.recipients.filter((recipient) => sameAddress(recipient.address, record.to));
    // A bounce names the mailbox that refused: another one (a forwarding chain, a forgery) says nothing of ours.
    // A complaint's recipient is often redacted by the provider: with a verified tag, which names exactly one
    // email and so one recipient, that recipient is the one acted on; found by Message-ID, it must be named.
    const tagVouches = type === 'complaint' && tagRef !== undefined;
    if (named.length === 0 && !tagVouches) return ignore('recipient-mismatch');
    const recipient: BounceRecipient | undefined = named.find((candidate) => candidate.action === ACTIONS[type]);
    if (type !== 'complaint' && recipient === undefined) return ignore('not-a-failure');
    const outcome = await this.recorder.record({
      type,
      ref,
      record,
      claim: `${ref}:${type}`,
      suppress: () => this.suppress(type, record, recipient),
      status: recipient?.status,
      diagnosticCode: recipient?.diagnosticCode,
    });
    if (outcome.outcome === 'duplicate') return ignore('duplicate');
    if (outcome.outcome === 'pending') return { outcome: 'pending', type };
    return { outcome: 'recorded', type, messageId: outcome.messageId, suppressed: outcome.suppressed };
  }

  /** A hard bounce (5.1.x, 5.2.1, `suppression.codes`) or a complaint suppresses the exact address the email went to. */
  private async suppress(type: BounceReport['type'], record: DeliveryRecord, recipient: BounceRecipient | undefined): Promise<boolean> {
    if (type === 'delay') return false;
    if (type === 'bounce') {
      const status = recipient?.status;
      const reply = /^([245]\d\d)\b/.exec(recipient?.diagnosticCode ?? '');
      const responseCode = reply ? Number(reply[1]) : undefined;
      const permanent = status !== undefined ? status.startsWith('5.') : responseCode !== undefined && responseCode >= 500;
      if (!permanent || !suppressesRecipient({ kind: 'permanent', enhancedCode: status, responseCode }, this.suppressionCodes)) return false;
      await this.suppressions.add(record.to, 'bounce', { code: status ?? String(responseCode), messageId: record.messageId });
      return true;
    }
    await this.suppressions.add(record.to, 'complaint', { messageId: record.messageId });
    return true;
  }
}
