import type { Attachment, ParsedMail, SimpleParserOptions } from 'mailparser';
import { DependencyMissingError, InvalidArgumentError } from '../errors';
import { requireOptional } from '../optional-packages';
import { MAX_BOUNCE_MIME_DEPTH, MAX_BOUNCE_SIZE, MAX_PART_HEADER_SIZE, MAX_REPORT_PARTS } from './bounce.limits';
import type { BounceRecipient, BounceReport } from './bounce.types';
import { readDeliveryStatus } from './delivery-status.reader';
import { readFeedbackReport } from './feedback-report.reader';
import { mimeDepthExceeds } from './mime-depth';
import { addressOf, envelopeTagIn, fieldValue, headerFields, messageIdOf } from './report-fields';
import { hasBounceSignature, isAutoReply, readTextBounce } from './text-bounce.reader';

const DSN_PARTS = ['message/delivery-status', 'message/global-delivery-status'];
const RETURNED_PARTS = ['text/rfc822-headers', 'message/rfc822', 'message/global-headers', 'message/global'];
/** Where the address a report was delivered to shows, most reliable first. */
const DELIVERY_HEADERS = ['delivered-to', 'x-original-to', 'envelope-to', 'to'];
/** How much of a returned message is read for its header. */
const RETURNED_HEADER_BYTES = 256 * 1024;

const PARSER_OPTIONS: SimpleParserOptions = {
  // The returned original stays one part: its MIME tree is the sender's, not the report's.
  ignoreEmbedded: true,
  keepDeliveryStatus: true,
  skipHtmlToText: true,
  skipTextToHtml: true,
  skipTextLinks: true,
  skipImageLinks: true,
  keepCidLinks: true,
  checksumAlgo: false,
  maxHeadSize: MAX_PART_HEADER_SIZE,
  maxChildNodes: MAX_REPORT_PARTS,
};

function loadMailparser(): typeof import('mailparser') {
  return requireOptional(
    'mailparser',
    () => require('mailparser') as typeof import('mailparser'),
    (name) => new DependencyMissingError(name, 'parseBounce (reading bounce and complaint reports)'),
  );
}

const partOf = (mail: ParsedMail, types: readonly string[]): Attachment | undefined =>
  mail.attachments.find((attachment) => types.includes(attachment.contentType.toLowerCase()));

const typeOf = (recipients: readonly BounceRecipient[]): BounceReport['type'] | undefined =>
  recipients.some((recipient) => recipient.action === 'failed')
    ? 'bounce'
    : recipients.some((recipient) => recipient.action === 'delayed')
      ? 'delay'
      : undefined;

/** Reads what the parsed message says, or null when it is no bounce, delay notice or complaint. */
function reportIn(mail: ParsedMail): BounceReport | null {
  const headers = headerFields(mail.headerLines.map((header) => header.line).join('\n'));
  const subject = mail.subject ?? '';
  const returnedPart = partOf(mail, RETURNED_PARTS);
  const returned = returnedPart ? headerFields(returnedPart.content.toString('utf8', 0, RETURNED_HEADER_BYTES)) : [];
  const envelopeTag = envelopeTagIn(headers, DELIVERY_HEADERS);
  const report = (type: BounceReport['type'], recipients: BounceRecipient[], fromDsnPart: boolean, extra: Partial<BounceReport>): BounceReport => {
    const messageId = messageIdOf(fieldValue(returned, 'message-id')) ?? extra.messageId;
    const tag = envelopeTag ?? extra.envelopeTag;
    return { type, recipients, ...(messageId && { messageId }), ...(tag && { envelopeTag: tag }), fromDsnPart };
  };

  const dsnPart = partOf(mail, DSN_PARTS);
  if (dsnPart) {
    const status = readDeliveryStatus(dsnPart.content.toString('utf8'));
    const type = typeOf(status.recipients);
    if (type) return report(type, status.recipients, true, { messageId: status.originalMessageId });
    if (status.recipients.length > 0) return null; // a success notice: delivered, relayed or expanded
  }
  const feedbackPart = partOf(mail, ['message/feedback-report']);
  if (feedbackPart) {
    const feedback = readFeedbackReport(feedbackPart.content.toString('utf8'), returned);
    if (!feedback) return null;
    const complaint = report('complaint', feedback.recipients, true, { envelopeTag: feedback.envelopeTag });
    return complaint.recipients.length > 0 || complaint.messageId ? complaint : null;
  }
  const text = mail.text ?? '';
  if (isAutoReply(headers, subject) || !hasBounceSignature(headers, subject, text)) return null;
  const failed = headers.filter((field) => field.name === 'x-failed-recipients').flatMap((field) => field.value.split(','));
  const bounce = readTextBounce(text, failed.map((address) => addressOf(address)).filter((address) => address !== undefined));
  const type = typeOf(bounce.recipients);
  return type ? report(type, bounce.recipients, false, { messageId: bounce.messageId }) : null;
}

/**
 * Reads a bounce (a DSN, RFC 3464), a delay notice or a complaint (an ARF report, RFC 5965) from the
 * raw message the bounce mailbox received. Covers the DSNs of Postfix, Exim, Sendmail, Exchange and
 * Office 365, Gmail and Amazon SES, and bounces without a DSN part (Exim's and qmail's plain text,
 * Yahoo's), whose recipients and codes are read from the text (`fromDsnPart: false`).
 *
 * Resolves to null for what is none of these: an auto-reply (out of office, RFC 3834), ordinary mail,
 * a success notice, garbage, a message over {@link MAX_BOUNCE_SIZE} bytes (not parsed at all) or nested
 * deeper than {@link MAX_BOUNCE_MIME_DEPTH}. Never rejects for what the message holds.
 *
 * The report is untrusted: anyone can send one. Count it only once its `envelopeTag` (or its
 * `messageId`) proves it is about an email you sent to that recipient.
 *
 * Needs the package `mailparser`, loaded on the first call: without it, rejects with
 * `DependencyMissingError`.
 *
 * @example
 * const report = await parseBounce(rawMessage);
 * if (report?.type === 'bounce') {
 *   for (const { address, status } of report.recipients) console.log(address, status); // ada@example.com 5.1.1
 * }
 */
export async function parseBounce(raw: Buffer | string): Promise<BounceReport | null> {
  if (typeof raw !== 'string' && !Buffer.isBuffer(raw)) {
    throw new InvalidArgumentError('parseBounce', 'raw', 'a Buffer or a string holding the whole message', raw === null ? 'null' : `a value of type ${typeof raw}`);
  }
  const { simpleParser } = loadMailparser();
  // A string has at least as many UTF-8 bytes as characters: a long one is too big before it is measured.
  if (raw.length > MAX_BOUNCE_SIZE || (typeof raw === 'string' && Buffer.byteLength(raw) > MAX_BOUNCE_SIZE)) return null;
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  if (mimeDepthExceeds(bytes.toString('latin1'), MAX_BOUNCE_MIME_DEPTH)) return null;
  let mail: ParsedMail;
  try {
    mail = await simpleParser(bytes, PARSER_OPTIONS);
  } catch {
    return null; // mailparser's own limits (a header block, the number of parts) or a message it cannot read
  }
  return reportIn(mail);
}
