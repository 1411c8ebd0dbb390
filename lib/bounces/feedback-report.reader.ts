import { MAX_BOUNCE_RECIPIENTS } from './bounce.limits';
import type { BounceRecipient } from './bounce.types';
import { addressesIn, addressOf, fieldBlocks, fieldValue, tagOf } from './report-fields';
import type { ReportField } from './report-fields';

/**
 * Feedback types that are a recipient's complaint about an email (RFC 5965 §7.3). `not-spam` is the
 * opposite, and `auth-failure` (RFC 6591) is about the sender's authentication, not the recipient.
 */
const COMPLAINT_TYPES: ReadonlySet<string> = new Set(['abuse', 'fraud', 'virus', 'other']);

/** What the `message/feedback-report` part of an abuse report says. */
export interface FeedbackReport {
  recipients: BounceRecipient[];
  /** The tag of the `Original-Mail-From`: the envelope sender of the email complained about. */
  envelopeTag?: string;
}

/**
 * Reads an ARF report (RFC 5965 §3.1): undefined unless its `Feedback-Type` is a complaint. The
 * recipients are its `Original-Rcpt-To` fields or, where the provider leaves them out, the `To` of the
 * headers it returns.
 */
export function readFeedbackReport(text: string, returnedHeaders: readonly ReportField[]): FeedbackReport | undefined {
  const fields: ReportField[] = [];
  for (const block of fieldBlocks(text)) {
    fields.push(...block);
    if (fields.length > 4 * MAX_BOUNCE_RECIPIENTS) break;
  }
  const feedbackType = fieldValue(fields, 'feedback-type')?.split(/[\s;]/)[0].toLowerCase();
  if (!feedbackType || !COMPLAINT_TYPES.has(feedbackType)) return undefined;
  const reported = fields.filter((field) => field.name === 'original-rcpt-to').map((field) => addressOf(field.value));
  const returnedTo = returnedHeaders.filter((field) => field.name === 'to').flatMap((field) => addressesIn(field.value));
  const addresses = reported.some((address) => address !== undefined) ? reported : returnedTo.map((address) => addressOf(address));
  const unique = [...new Set(addresses.filter((address) => address !== undefined))].slice(0, MAX_BOUNCE_RECIPIENTS);
  const mailFrom = addressOf(fieldValue(fields, 'original-mail-from'));
  const envelopeTag = mailFrom && tagOf(mailFrom);
  return { recipients: unique.map((address) => ({ address, action: 'complained' })), ...(envelopeTag && { envelopeTag }) };
}
