import type { IgnoredReportReason } from '../events';

/** What a provider's webhook says happened to one recipient of one email. */
export type ProviderEventType = 'delivered' | 'bounce' | 'delay' | 'complaint' | 'unsubscribed';

/**
 * One event a provider reported in a webhook whose signature was already verified, normalised: which email
 * (our Message-ID, or the provider's own id that its 250 reply gave), which recipient, and what happened.
 */
export interface ProviderEvent {
  /** Who reported it: `ses`, `sendgrid`, `mailgun`, `postmark`, `resend`, or a name of yours. */
  provider: string;
  type: ProviderEventType;
  /** For a bounce: the provider calls it permanent (SES `Permanent`, Postmark `HardBounce`, …). Only those suppress. */
  hard?: boolean;
  /** The Message-ID of our email as the provider returns it, with or without angle brackets. */
  messageId?: string;
  /** The provider's own id of the email, as its 250 reply named it (SES: `mail.messageId`). */
  providerMessageId?: string;
  /** The recipient the event is about. It must be the one our email went to, or nothing changes. */
  recipient: string;
  /** The enhanced status code, such as `5.1.1`. */
  status?: string;
  /** What the receiving server said, as the provider quotes it; addresses are redacted before it is kept. */
  diagnosticCode?: string;
}

/** What a provider event did. */
export type ProviderEventResult =
  | { outcome: 'recorded'; type: ProviderEventType; messageId: string; suppressed: boolean }
  | { outcome: 'ignored'; type: ProviderEventType; reason: IgnoredReportReason }
  /** Another process is recording this very event now (or failed to, a minute ago): answer so the provider retries. */
  | { outcome: 'pending'; type: ProviderEventType };
