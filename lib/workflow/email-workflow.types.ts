import type { TemplateContext } from '../templates';

/** One recipient: a bare address, or an address with a display name. */
export type EmailRecipient = string | { address: string; name?: string };

export interface SendEmailRequest {
  /** Template name: a built-in (`verify-email`, `welcome`, `reset-password`, `password-changed`, `test-email`) or one of yours. */
  template: string;
  to: EmailRecipient;
  /** Values for the template's `{{variables}}`. `brand` is filled in for you. */
  context?: TemplateContext;
  /** Recipient's locale, e.g. `fr` or `pt-BR`; falls back to `templates.defaultLocale`. */
  locale?: string;
}

export interface RenderEmailRequest {
  template: string;
  context?: TemplateContext;
  locale?: string;
}

export interface SendEmailResult {
  /** The Message-ID header of the email, e.g. `<…@acme.com>`. */
  messageId: string;
  /** Addresses the server accepted and rejected. */
  accepted: string[];
  rejected: string[];
}
