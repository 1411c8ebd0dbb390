import { Logger } from '@nestjs/common';
import { parseBounce } from '../bounces';
import type { BounceRecipient, BounceReport } from '../bounces';
import type { MessageRefs } from '../crypto/message-refs';
import { redactReply } from '../delivery-log';
import type { DeliveryRecord, EmailDeliveryLog } from '../delivery-log';
import { EmailEvent } from '../events';
import type { EmailEventBus, IgnoredReportReason } from '../events';
import { suppressesRecipient } from '../suppression';
import type { EmailSuppressions } from '../suppression';
import type { BounceMessageHandler, BounceMessageOutcome } from './bounce-mailbox.types';

/** What a report did. */
export type BounceProcessingResult =
  | { outcome: 'recorded'; type: BounceReport['type']; messageId: string; suppressed: boolean }
  | { outcome: 'ignored'; type: BounceReport['type']; reason: IgnoredReportReason }
  /** Another process is recording this very report now (or failed to, a minute ago): try it again later. */
  | { outcome: 'pending'; type: BounceReport['type'] }
  | { outcome: 'unrecognised' };

/** How long a claimed report waits for its recorder before another reader may count it. */
const PENDING_CLAIM_MS = 60_000;

/** Each report type, the recipient action it is about, and what it becomes in the log and events. */
const KINDS = {
  bounce: { action: 'failed', step: 'bounced', event: EmailEvent.Bounced },
  delay: { action: 'delayed', step: 'delayed', event: EmailEvent.Delayed },
  complaint: { action: 'complained', step: 'complained', event: EmailEvent.Complained },
} as const;

/** As the log and the suppression list compare addresses: ASCII letters lower-cased, no Unicode folding. */
function sameAddress(a: string, b: string): boolean {
  const form = (address: string) => address.trim().replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
  return form(a) === form(b);
}

/**
 * Turns a bounce, delay notice or complaint into what it means, once it is proven to be about an email we
 * sent: its envelope tag verifies (or, when a server rewrote the envelope sender, it returns the Message-ID
 * of one of our emails) and the recipient it names is the one that email went to. Then a hard bounce or a
 * complaint suppresses that exact address, and every report goes into the email's log record and fires its
 * event. Anything else changes nothing (debug log, `email.report-ignored`).
 *
 * Feed it reports from elsewhere too (another mailbox, a relay's webhook with the raw DSN):
 * @example
 * const result = await this.bounces.process(rawMessage);
 */
export class EmailBounceProcessor implements BounceMessageHandler {
  private readonly logger = new Logger('EmailWorkflow');

  constructor(
    private readonly log: EmailDeliveryLog,
    private readonly refs: MessageRefs,
    private readonly suppressions: EmailSuppressions,
    private readonly events: EmailEventBus,
    private readonly suppressionCodes: readonly string[],
    private readonly pendingClaimMs = PENDING_CLAIM_MS,
  ) {}

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

  private async apply(report: BounceReport): Promise<BounceProcessingResult> {
    const { type } = report;
    const ignore = (reason: IgnoredReportReason): BounceProcessingResult => {
      this.logger.debug(`A ${type} report changed nothing: ${reason}.`);
      this.events.emit(EmailEvent.ReportIgnored, { type, reason });
      return { outcome: 'ignored', type, reason };
    };
    const tagRef = report.envelopeTag === undefined ? undefined : this.refs.refOfTag(report.envelopeTag);
    const ref = tagRef ?? (report.messageId === undefined ? undefined : this.refs.refOf(report.messageId));
    if (ref === undefined) return ignore(report.envelopeTag === undefined ? 'unknown-message' : 'forged-tag');
    const record = await this.log.byRef(ref);
    if (record === undefined) return ignore(tagRef === undefined && report.envelopeTag !== undefined ? 'forged-tag' : 'unknown-message');
    const kind = KINDS[type];
    const named = report.recipients.filter((recipient) => sameAddress(recipient.address, record.to));
    // A bounce names the mailbox that refused: another one (a forwarding chain, a forgery) says nothing of ours.
    // A complaint's recipient is often redacted by the provider: with a verified tag, which names exactly one
    // email and so one recipient, that recipient is the one acted on; found by Message-ID, it must be named.
    const tagVouches = type === 'complaint' && tagRef !== undefined;
    if (named.length === 0 && !tagVouches) return ignore('recipient-mismatch');
    const recipient: BounceRecipient | undefined = named.find((candidate) => candidate.action === kind.action);
    if (type !== 'complaint' && recipient === undefined) return ignore('not-a-failure');
    const claim = `${ref}:${type}`;
    // Claimed before anything is written, and done only once everything is: a reader that stops (or whose
    // Redis freezes) in between leaves a pending claim that runs out, so the report is counted later, once.
    const state = await this.log.claim(claim, this.pendingClaimMs);
    if (state === 'done') return ignore('duplicate');
    if (state === 'pending') return { outcome: 'pending', type };
    try {
      const suppressed = await this.suppress(type, record, recipient);
      const diagnosticCode = recipient?.diagnosticCode === undefined ? undefined : redactReply(recipient.diagnosticCode);
      await this.log.addByRef(ref, kind.step, { enhancedCode: recipient?.status, reply: diagnosticCode, suppressed });
      await this.log.finish(claim);
      const { messageId, template, tenant, to } = record;
      this.events.emit(kind.event, { messageId, template, tenant, to, status: recipient?.status, diagnosticCode, suppressed });
      return { outcome: 'recorded', type, messageId, suppressed };
    } catch (error) {
      // Not recorded: the claim goes back, so the report counts when it is read again.
      await this.log.unclaim(claim).catch(() => undefined);
      throw error;
    }
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
