import { Logger } from '@nestjs/common';
import { redactReply } from '../delivery-log';
import type { DeliveryEventType, DeliveryRecord, EmailDeliveryLog } from '../delivery-log';
import { EmailEvent } from '../events';
import type { EmailEventBus, IgnoredReportReason, ReportIgnoredEvent } from '../events';

/** Each kind of report, what it becomes in the log and the event it fires. */
export const REPORT_KINDS = {
  bounce: { step: 'bounced', event: EmailEvent.Bounced },
  delay: { step: 'delayed', event: EmailEvent.Delayed },
  complaint: { step: 'complained', event: EmailEvent.Complained },
  delivered: { step: 'delivered', event: EmailEvent.Delivered },
  unsubscribed: { step: 'unsubscribed', event: EmailEvent.Unsubscribed },
} as const satisfies Record<ReportIgnoredEvent['type'], { step: DeliveryEventType; event: EmailEvent }>;

export type ReportType = keyof typeof REPORT_KINDS;

/** A report already proven to be about `record`, ready to be recorded once under `claim`. */
export interface ProvenReport {
  type: ReportType;
  ref: string;
  record: DeliveryRecord;
  /** One key per thing that may happen once: the same key twice counts once. */
  claim: string;
  /** Puts the address on the suppression list when this report calls for it; resolves whether it did. */
  suppress: () => Promise<boolean>;
  status?: string;
  diagnosticCode?: string;
  provider?: string;
}

export type RecordOutcome = { outcome: 'recorded'; messageId: string; suppressed: boolean } | { outcome: 'duplicate' } | { outcome: 'pending' };

/** As the log and the suppression list compare addresses: ASCII letters lower-cased, no Unicode folding. */
export function sameAddress(a: string, b: string): boolean {
  const form = (address: string) => address.trim().replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
  return form(a) === form(b);
}

/**
 * What the bounce mailbox and the providers' webhooks share once a report is proven ours: claim it (so it
 * counts once), suppress when it calls for it, add its step to the email's log record, mark the claim done,
 * and fire its event. Anything that changes nothing is `ignore`d: a debug line and `email.report-ignored`.
 */
export class ReportRecorder {
  private readonly logger = new Logger('EmailWorkflow');

  constructor(
    private readonly log: EmailDeliveryLog,
    private readonly events: EmailEventBus,
    private readonly pendingClaimMs: number,
  ) {}

  ignore(type: ReportType, reason: IgnoredReportReason, provider?: string): void {
    this.logger.debug(`A ${type} report${provider ? ` from ${provider}` : ''} changed nothing: ${reason}.`);
    this.events.emit(EmailEvent.ReportIgnored, provider === undefined ? { type, reason } : { type, reason, provider });
  }

  /**
   * Claimed before anything is written, and done only once everything is: a process that stops (or whose
   * Redis freezes) in between leaves a pending claim that runs out, so the report is counted later, once.
   * Rejects when the store cannot be written; the claim is then given back.
   */
  async record(report: ProvenReport): Promise<RecordOutcome> {
    const state = await this.log.claim(report.claim, this.pendingClaimMs);
    if (state === 'done') return { outcome: 'duplicate' };
    if (state === 'pending') return { outcome: 'pending' };
    const kind = REPORT_KINDS[report.type];
    try {
      const suppressed = await report.suppress();
      const diagnosticCode = report.diagnosticCode === undefined ? undefined : redactReply(report.diagnosticCode);
      const step = { enhancedCode: report.status, reply: diagnosticCode, suppressed, provider: report.provider };
      await this.log.addByRef(report.ref, kind.step, step);
      await this.log.finish(report.claim);
      const { messageId, template, tenant, to } = report.record;
      const payload = { messageId, template, tenant, to, status: report.status, diagnosticCode, suppressed };
      this.events.emit(kind.event, report.provider === undefined ? payload : { ...payload, provider: report.provider });
      return { outcome: 'recorded', messageId, suppressed };
    } catch (error) {
      // Not recorded: the claim goes back, so the report counts when it comes again.
      await this.log.unclaim(report.claim).catch(() => undefined);
      throw error;
    }
  }
}
