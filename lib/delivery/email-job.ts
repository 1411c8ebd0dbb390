import type { TemplateContext } from '../templates';

/** What a queued email holds: the template and its variables, never rendered HTML. */
export interface EmailJob {
  template: string;
  locale?: string;
  to: { address: string; name: string };
  context: TemplateContext;
  /** Fixed at enqueue, so every retry sends the same Message-ID. */
  messageId: string;
  /** Sent through this tenant's transport (from `transportResolver`); the default transport when unset. */
  tenant?: string;
  /** Extra headers set by `@BeforeEmailSend` hooks, already checked. */
  headers?: Record<string, string>;
}

/**
 * The form stored in Redis: the recipient and the variables (which may hold tokens and links) sealed,
 * bound to the fields left in clear (see `boundFields`), so an edit of any of them is detected.
 */
export interface StoredEmailJob extends Omit<EmailJob, 'context' | 'to'> {
  sealed: string;
  /** The recipient's address, only with `queue.recipientInClear` (for dashboards); never used to send. */
  recipient?: string;
}

/** What `StoredEmailJob.sealed` holds. */
export type SealedEmailParts = Pick<EmailJob, 'to' | 'context'>;

/** The clear fields of a stored email, as the text its sealed part is bound to (GCM associated data). */
export function boundFields({ template, locale, messageId, tenant, headers, recipient }: Omit<StoredEmailJob, 'sealed'>): string {
  return JSON.stringify(['email', template, locale ?? null, messageId, tenant ?? null, headers ?? null, recipient ?? null]);
}
