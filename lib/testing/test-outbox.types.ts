import type { TemplateContext } from '../templates';

/**
 * One email the workflow handed to its transport, as the SMTP server would have received it: rendered
 * by the worker, after every `@BeforeEmailSend` hook ran. Frozen.
 */
export interface CapturedEmail {
  /** Queue job id, as `send()` returned it. */
  readonly id: string;
  readonly template: string;
  /** The locale `send()` was given; undefined when none (then `templates.defaultLocale` applies). */
  readonly locale?: string;
  /** The tenant whose transport would have sent it, for `send({ tenant })`. */
  readonly tenant?: string;
  readonly to: { readonly address: string; readonly name: string };
  /** The From header, display name included: `Test App <no-reply@app.test>`. */
  readonly from: string;
  readonly replyTo?: string;
  readonly subject: string;
  readonly html: string;
  readonly text: string;
  /** The headers `@BeforeEmailSend` hooks added; empty when none did. */
  readonly headers: Readonly<Record<string, string>>;
  /** The Message-ID header, matching `messageId` of `send()` and of the email events. */
  readonly messageId: string;
  /** The template's variables as queued, after hooks changed them (`brand` is not among them). */
  readonly context: Readonly<TemplateContext>;
  /** Every http(s) link of the HTML part, in order, each once, entities decoded. */
  readonly links: readonly string[];
  /** Every run of 6 to 10 digits standing alone in the subject or the text part (one-time codes), each once. */
  readonly codes: readonly string[];
}

/** What `expectSent` looks for; every field given must match, an empty match takes any email. */
export interface SentEmailMatch {
  template?: string;
  /** Recipient address, compared without regard to case. */
  to?: string;
  /** The exact subject, or a pattern it must match. */
  subject?: string | RegExp;
  tenant?: string;
}

/** How long the outbox waits for an email that has not arrived yet. */
export interface OutboxWaitOptions {
  /** Milliseconds to wait before rejecting with `EmailNotSentError`. @default 2000 */
  timeout?: number;
}
