import type { InvalidTokenReason } from '../errors';
import type { TemplateContext } from '../templates';

/** One recipient: a bare address, or an address with a display name. */
export type EmailRecipient = string | { address: string; name?: string };

export interface SendEmailRequest {
  /** Template name: a built-in (`verify-email`, `welcome`, `reset-password`, `password-changed`, `test-email`) or one of yours. */
  template: string;
  to: EmailRecipient;
  /**
   * Values for the template's `{{variables}}`. `brand` is filled in for you. JSON values only
   * (strings, finite numbers, booleans, null, plain objects, arrays): a Date, NaN or a function is
   * refused with InvalidContextError, as the queue would change it.
   */
  context?: TemplateContext;
  /** Recipient's locale, e.g. `fr` or `pt-BR`; falls back to `templates.defaultLocale`. */
  locale?: string;
  /**
   * Sending again with the same key, while the first job is retained, returns the first job's id
   * and Message-ID and sends nothing new.
   */
  idempotencyKey?: string;
  /** Send through this tenant's SMTP server (see the `transportResolver` option). */
  tenant?: string;
}

export interface RenderEmailRequest {
  template: string;
  context?: TemplateContext;
  locale?: string;
}

export interface SendEmailResult {
  /** Queue job id; empty when a hook cancelled the email. */
  id: string;
  /** The Message-ID header the email will carry on every try, e.g. `<…@acme.com>`. */
  messageId: string;
  /** Set when a `@BeforeEmailSend` hook cancelled the email; nothing was queued. */
  cancelled?: { reason: string };
}

/** Result of `inspectToken`. */
export type TokenInspection = { valid: true; expiresAt: Date } | { valid: false; reason: InvalidTokenReason };
