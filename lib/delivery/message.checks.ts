import { randomUUID } from 'node:crypto';
import type MimeNode from 'nodemailer/lib/mime-node';
import type { TemplatePreview, TemplateFinding } from '../templates';
import { contentFindings } from '../templates';
import { dkimAlignment } from '../transport';
import type { MessageComposer } from './message.composer';

/**
 * Gmail shows the first 102 KB of a message's HTML and hides the rest behind "[Message clipped] View
 * entire message" (and with it, often, the footer and its unsubscribe link). Measured here on the HTML
 * part as it travels: its body after the Content-Transfer-Encoding (base64 or quoted-printable, line
 * breaks included), the larger and so the safer of the sizes Gmail could be counting.
 */
export const GMAIL_CLIP_BYTES = 102 * 1024;

/** nodemailer's composer, loaded when the checks first run: an app's require does not pay for it. */
function mailComposer(): typeof import('nodemailer/lib/mail-composer').default {
  return (require('nodemailer/lib/mail-composer') as typeof import('nodemailer/lib/mail-composer')).default;
}

/** Who the sample messages are addressed to. */
const SAMPLE_RECIPIENT = { name: 'Ada Lovelace', address: 'ada@example.com' };
/** A Date header further than this from now is wrong (a clock or a hand-set header). */
const DATE_TOLERANCE_MS = 24 * 3_600_000;
const MESSAGE_ID = /^<[^<>@\s]+@([^<>@\s]+)>$/;

type Check = Pick<TemplateFinding, 'check' | 'message' | 'fix'>;

/** What the checks need of the app's sending: the composer (From, HTML encoding, Message-IDs) and the DKIM domain. */
export interface MessageCheckSettings {
  composer: Pick<MessageComposer, 'composeRendered' | 'messageIdFor' | 'senderAddress'>;
  /** `dkim.domainName`, when messages are signed. */
  dkimDomain?: string;
}

function kilobytes(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

/** The header fields of a message (unfolded), each name lower-cased, in order. */
function headerFields(raw: Buffer): { name: string; value: string }[] {
  const text = raw.toString('utf8');
  const end = text.indexOf('\r\n\r\n');
  return (end < 0 ? text : text.slice(0, end))
    .replace(/\r\n[ \t]+/g, ' ')
    .split('\r\n')
    .map((line) => ({ name: line.slice(0, line.indexOf(':')).trim().toLowerCase(), value: line.slice(line.indexOf(':') + 1).trim() }))
    .filter((field) => field.name !== '');
}

/** What the header block of a message as sent lacks: exactly one well-formed Message-ID and one plausible Date. */
export function headerFindings(raw: Buffer, now = Date.now()): Check[] {
  const fields = headerFields(raw);
  const valuesOf = (name: string) => fields.filter((field) => field.name === name).map((field) => field.value);
  const findings: Check[] = [];
  const [messageId, ...moreIds] = valuesOf('message-id');
  const idDomain = messageId === undefined ? undefined : MESSAGE_ID.exec(messageId)?.[1];
  if (messageId === undefined || moreIds.length > 0 || idDomain === undefined || !idDomain.includes('.')) {
    findings.push({
      check: 'message-id',
      message:
        messageId === undefined
          ? 'The message has no Message-ID header; spam filters (SpamAssassin MISSING_MID) count that against it.'
          : moreIds.length > 0
            ? `The message has ${moreIds.length + 1} Message-ID headers; it must have one.`
            : `The Message-ID ${JSON.stringify(messageId)} is not <unique@domain> with a fully qualified domain.`,
      fix: 'Let the workflow set the Message-ID (a before-send hook may not), and send from an address at a real domain: the Message-ID takes the domain of `from`.',
    });
  }
  const [date, ...moreDates] = valuesOf('date');
  const at = date === undefined ? NaN : Date.parse(date);
  if (date === undefined || moreDates.length > 0 || Number.isNaN(at) || Math.abs(at - now) > DATE_TOLERANCE_MS) {
    findings.push({
      check: 'date',
      message:
        date === undefined
          ? 'The message has no Date header, which RFC 5322 requires; many servers reject or mark such mail.'
          : moreDates.length > 0
            ? `The message has ${moreDates.length + 1} Date headers; it must have one.`
            : `The Date header ${JSON.stringify(date)} is not a date within a day of now.`,
      fix: 'Let nodemailer set the Date header as it sends, and keep the server clock right (NTP).',
    });
  }
  return findings;
}

/** The MIME part of `contentType` in a message tree, depth first. */
function partOf(node: MimeNode, contentType: string): MimeNode | undefined {
  if (node.contentType === contentType) return node;
  for (const child of node.childNodes) {
    const found = partOf(child, contentType);
    if (found) return found;
  }
  return undefined;
}

/** The bytes of a part's body as sent: after its transfer encoding, line breaks included. */
async function encodedBodySize(part: MimeNode): Promise<number> {
  const built = await part.build();
  return built.length - (built.indexOf('\r\n\r\n') + 4);
}

/** What the message as nodemailer writes it gets wrong: its headers, its text part, the size of its HTML part. */
async function wireFindings(message: MimeNode, html: string): Promise<Check[]> {
  const findings = headerFindings(await message.build());
  const text = partOf(message, 'text/plain');
  if (!text || String(text.content ?? '').trim() === '') {
    findings.push({
      check: 'text-part',
      message: 'The message has no text part: clients that show plain text get nothing to read, and spam filters count an HTML-only message against it.',
      fix: 'Put text in the template, not only images: the text part is made from the text of the HTML.',
    });
  }
  const htmlPart = partOf(message, 'text/html');
  const sent = htmlPart ? await encodedBodySize(htmlPart) : 0;
  if (sent > GMAIL_CLIP_BYTES) {
    const encoding = htmlPart?.getHeader('Content-Transfer-Encoding') ?? 'its encoding';
    findings.push({
      check: 'html-size',
      message: `The HTML part is ${kilobytes(sent)} as sent (${encoding}; ${kilobytes(Buffer.byteLength(html))} of HTML): Gmail clips messages over 102 KB and hides the rest, footer included, behind "View entire message".`,
      fix: 'Make the HTML smaller: fewer sections and columns, less inline CSS, shorter link URLs, content split over several emails.',
    });
  }
  return findings;
}

/** The one finding about every message: its From domain does not align with the DKIM signing domain. */
function alignmentFinding(senderAddress: string, dkimDomain: string): TemplateFinding | undefined {
  const fromDomain = senderAddress.slice(senderAddress.lastIndexOf('@') + 1);
  const alignment = dkimAlignment(fromDomain, dkimDomain);
  if (alignment === 'strict' || alignment === 'relaxed') return undefined;
  const known = alignment === 'none';
  return {
    template: '*',
    locale: '',
    check: 'from-dkim-alignment',
    message: known
      ? `The From domain ${fromDomain} does not align with the DKIM domain ${dkimDomain} (not the same organisational domain): DMARC gets no aligned DKIM pass, and a p=quarantine or p=reject policy sends the mail to junk or refuses it.`
      : `The From domain ${fromDomain} and the DKIM domain ${dkimDomain} align only if they share an organisational domain, which takes the Public Suffix List to tell, and tldts (which carries it) is not installed.`,
    fix: known
      ? `Sign with dkim.domainName "${fromDomain}" (or its organisational domain) and publish the key at <keySelector>._domainkey.${fromDomain}, or send from an address at ${dkimDomain}.`
      : `Install tldts (npm install --save-dev tldts) for the check to decide, or sign with dkim.domainName "${fromDomain}".`,
  };
}

/**
 * Checks each rendered template as the app would send it: composed by the app's MessageComposer for a
 * sample recipient, written by nodemailer's MailComposer (which adds the Date), then its links, images,
 * text part, HTML size, Message-ID and Date read back. With `dkimDomain`, one more finding (`*`) when
 * the From domain does not align with it. A preview that did not render is a `renders` finding.
 */
export async function checkTemplateMessages(previews: TemplatePreview[], settings: MessageCheckSettings): Promise<TemplateFinding[]> {
  const { composer, dkimDomain } = settings;
  const alignment = dkimDomain === undefined ? undefined : alignmentFinding(composer.senderAddress, dkimDomain);
  const perTemplate = await Promise.all(
    previews.map(async (preview): Promise<TemplateFinding[]> => {
      const identity = { template: preview.name, locale: preview.locale, file: preview.file };
      if (!preview.rendered) {
        return [{ ...identity, check: 'renders', message: `The template does not render: ${preview.error ?? 'unknown error'}`, fix: 'Fix the file as the error says.' }];
      }
      const message = composer.composeRendered({ to: SAMPLE_RECIPIENT, messageId: composer.messageIdFor(randomUUID()) }, preview.rendered);
      const checks = [...contentFindings(preview.rendered), ...(await wireFindings(new (mailComposer())(message).compile(), preview.rendered.html))];
      return checks.map((check) => ({ ...identity, ...check }));
    }),
  );
  return [...(alignment ? [alignment] : []), ...perTemplate.flat()];
}
