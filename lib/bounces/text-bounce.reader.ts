import { MAX_BOUNCE_RECIPIENTS, MAX_DIAGNOSTIC_LENGTH } from './bounce.limits';
import type { BounceAction, BounceRecipient } from './bounce.types';
import { addressesIn, addressOf, enhancedCodeIn, fieldValue, headerFields, messageIdOf } from './report-fields';
import type { ReportField } from './report-fields';

const DAEMON_LOCAL_PART = /^(mailer-daemon|postmaster|mail-daemon|maildaemon)$/i;
const DAEMON_NAME = /\bmail delivery (system|subsystem)\b/i;
const BOUNCE_SUBJECT =
  /^\s*(undeliver|returned mail|mail delivery failed|failure notice|delivery status notification|delivery failure|non-?delivery|delayed mail|warning: message \S+ delayed)/i;
/** What the bounces of common mail servers say in their text, lower-cased. */
const BOUNCE_PHRASES = [
  'this message was created automatically by mail delivery software', // Exim
  'this is the qmail-send program', // qmail
  "i'm afraid i wasn't able to deliver your message", // qmail
  'sorry, we were unable to deliver your message', // Yahoo
  'could not be delivered to one or more', // Postfix, Exim
  'the following addresses had permanent fatal errors', // Sendmail
  'delivery to the following recipient', // Gmail, older Exchange
  'delivery has failed to these recipients', // Exchange
  "your message wasn't delivered", // Gmail, Office 365
  'has not yet been delivered', // Exim's delay warning
];
const DELAY_PHRASES = ['has not yet been delivered', 'delivery attempts will continue', 'will be retried', 'still being retried'];
/** Subjects of RFC 3834 auto-replies: out-of-office notices and their translations. */
const AUTO_REPLY_SUBJECT =
  /^\s*(auto(matic)?[\s-]*(reply|response|antwort)|automatische antwort|out of (the )?office|r[ée]ponse automatique|respuesta autom[aá]tica)\b/i;
/** The line after which a non-standard bounce quotes the message it returns. */
const COPY_MARKER = /^-{2,}\s*(this is a copy of|below this line is a copy of|(the )?(original|returned|undelivered) message)/i;
/** A line naming a recipient: `<ada@example.com>:`, `ada@example.com`, `<ada@example.com>: host … said: 550 …`. */
const RECIPIENT_LINE = /^<?([^\s<>()@,;:"]+@[^\s<>()@,;:"]+)>?(?::\s*(.*))?$/;
/** A basic SMTP reply code (4xx or 5xx) where a server's reply starts. */
const REPLY_CODE = /(?<![\w.#-])[45]\d\d(?=[\s:-]|$)/;

/** An RFC 3834 auto-reply (out of office): never a bounce, whatever its text says. */
export function isAutoReply(headers: readonly ReportField[], subject: string): boolean {
  // Not `Auto-Submitted: auto-replied` alone: Postfix and Exim put it on their bounces too.
  return headers.some((field) => field.name === 'x-autoreply' || field.name === 'x-autorespond') || AUTO_REPLY_SUBJECT.test(subject);
}

/**
 * Whether a message without a DSN part is a bounce: sent by the mail system (a `MAILER-DAEMON` or
 * `postmaster` sender, or Exim's `X-Failed-Recipients`) and saying so in its subject or text.
 */
export function hasBounceSignature(headers: readonly ReportField[], subject: string, text: string): boolean {
  const from = fieldValue(headers, 'from') ?? '';
  const sender = addressesIn(from)[0] ?? '';
  const fromMailSystem = DAEMON_LOCAL_PART.test(sender.slice(0, sender.lastIndexOf('@'))) || DAEMON_NAME.test(from);
  if (!fromMailSystem && !headers.some((field) => field.name === 'x-failed-recipients')) return false;
  // Servers wrap their text anywhere: `could not\nbe delivered` is the phrase too.
  const lowered = text.slice(0, 64 * 1024).toLowerCase().replace(/\s+/g, ' ');
  return BOUNCE_SUBJECT.test(subject) || BOUNCE_PHRASES.some((phrase) => lowered.includes(phrase));
}

interface Candidate {
  address: string;
  line: number;
  indent: number;
}

const indentOf = (line: string): number => line.length - line.trimStart().length;

/** The lines naming recipients, at the indentation of the first one (deeper lines are its details). */
function candidatesIn(lines: readonly string[]): Candidate[] {
  const found: Candidate[] = [];
  let level: number | undefined;
  for (let line = 0; line < lines.length && found.length < MAX_BOUNCE_RECIPIENTS; line++) {
    const indent = indentOf(lines[line]);
    if (level !== undefined && indent > level) continue;
    const address = addressOf(RECIPIENT_LINE.exec(lines[line].trim())?.[1]);
    if (!address || found.some((candidate) => candidate.address === address)) continue;
    level ??= indent;
    found.push({ address, line, indent });
  }
  return found;
}

/**
 * What the text says of one recipient: the server's reply from its code on, with the lines indented under
 * it; without a code, the whole explanation. The status is the enhanced code in either.
 */
function recipientOf(candidate: Candidate, lines: readonly string[], end: number, delayed: boolean): BounceRecipient {
  const rest = RECIPIENT_LINE.exec(lines[candidate.line].trim())?.[2] ?? '';
  const details = [rest, ...lines.slice(candidate.line + 1, end)].map((line) => line.trim()).filter((line) => line !== '');
  const coded = [rest, ...lines.slice(candidate.line + 1, end)].findIndex((line) => REPLY_CODE.test(line));
  let diagnostic = details.join(' ');
  if (coded >= 0) {
    const codeLine = coded === 0 ? rest : lines[candidate.line + coded];
    const following = lines.slice(candidate.line + coded + 1, end);
    const stop = following.findIndex((line) => indentOf(line) <= candidate.indent);
    const continued = stop === -1 ? following : following.slice(0, stop);
    diagnostic = [codeLine.slice(codeLine.search(REPLY_CODE)), ...continued].map((line) => line.trim()).join(' ');
  }
  const diagnosticCode = diagnostic.replace(/\s+/g, ' ').trim().slice(0, MAX_DIAGNOSTIC_LENGTH) || undefined;
  const status = enhancedCodeIn(diagnosticCode);
  const replyClass = (status ?? REPLY_CODE.exec(diagnosticCode ?? '')?.[0])?.[0];
  const action: BounceAction = replyClass ? (replyClass === '4' ? 'delayed' : 'failed') : delayed ? 'delayed' : 'failed';
  return { address: candidate.address, action, ...(status && { status }), ...(diagnosticCode && { diagnosticCode }) };
}

/** What a bounce without a DSN part says, read from its text. */
export interface TextBounce {
  recipients: BounceRecipient[];
  messageId?: string;
}

/**
 * Reads a bounce without a DSN part (Exim's and qmail's plain-text layouts, Yahoo's): the recipients
 * named in the explanation (plus Exim's `X-Failed-Recipients`), each with the reply the text gives, and
 * the Message-ID from the copy of the message below the explanation.
 */
export function readTextBounce(text: string, failedRecipients: readonly string[]): TextBounce {
  const lines = text.split(/\r?\n/);
  const copyAt = lines.findIndex((line) => COPY_MARKER.test(line.trim()));
  const explanation = copyAt === -1 ? lines : lines.slice(0, copyAt);
  const lowered = explanation.join(' ').toLowerCase().replace(/\s+/g, ' ');
  const delayed = DELAY_PHRASES.some((phrase) => lowered.includes(phrase));
  const candidates = candidatesIn(explanation);
  const recipients = candidates.map((candidate, index) => {
    const next = candidates[index + 1]?.line ?? explanation.length;
    const blank = explanation.slice(candidate.line + 1, next).findIndex((line) => line.trim() === '');
    return recipientOf(candidate, explanation, blank === -1 ? next : candidate.line + 1 + blank, delayed);
  });
  for (const address of failedRecipients) {
    if (!recipients.some((recipient) => recipient.address === address)) recipients.push({ address, action: delayed ? 'delayed' : 'failed' });
  }
  const returned = copyAt === -1 ? '' : lines.slice(copyAt + 1).join('\n').trimStart();
  const messageId = messageIdOf(fieldValue(headerFields(returned), 'message-id'));
  return { recipients: recipients.slice(0, MAX_BOUNCE_RECIPIENTS), ...(messageId && { messageId }) };
}
