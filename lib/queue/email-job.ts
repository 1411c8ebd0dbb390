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

/** The form stored in Redis: the variables (which may hold tokens and links) sealed. */
export interface StoredEmailJob extends Omit<EmailJob, 'context'> {
  sealedContext: string;
}
