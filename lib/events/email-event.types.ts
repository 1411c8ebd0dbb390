import type { TemplateContext, TemplateSkip } from '../templates';
import type { SmtpFailureKind } from '../errors';

/** Events the workflow emits. Subscribe with `@OnEmailEvent(EmailEvent.Sent)` on any provider method. */
export enum EmailEvent {
  Queued = 'email.queued',
  Sent = 'email.sent',
  Retrying = 'email.retrying',
  Failed = 'email.failed',
  DeliveryPaused = 'email.delivery-paused',
  DeliveryResumed = 'email.delivery-resumed',
  VerificationRequested = 'email.verification-requested',
  EmailVerified = 'email.verified',
  PasswordResetRequested = 'password.reset-requested',
  PasswordChanged = 'password.changed',
  SignInRequested = 'email.sign-in-requested',
  SignedIn = 'email.signed-in',
  EmailChangeRequested = 'email.change-requested',
  EmailChanged = 'email.changed',
  EmailChangeReverted = 'email.change-reverted',
  /** An email to an address on the suppression list was cancelled before it was queued. */
  Suppressed = 'email.suppressed',
  /** A before-send hook cancelled an email. */
  Cancelled = 'email.cancelled',
  /** A bounce came back for an email we sent (read from the bounce mailbox). */
  Bounced = 'email.bounced',
  /** A delay notice came back: the receiving side is still trying. */
  Delayed = 'email.delayed',
  /** The recipient reported the email as spam (an ARF report from their mailbox provider). */
  Complained = 'email.complained',
  /** A report was read but changed nothing: forged, about an email we do not know, or seen before. */
  ReportIgnored = 'email.report-ignored',
  /** The provider reports that the receiving server accepted the email (a signed webhook, EmailWebhooksModule). */
  Delivered = 'email.delivered',
  /** The provider reports that the recipient unsubscribed (a signed webhook, EmailWebhooksModule). */
  Unsubscribed = 'email.unsubscribed',
  /** A template from `templates.store` was passed over (invalid, throwing, slow) for the next source: the email still went out. */
  TemplateSkipped = 'email.template-skipped',
}

/** A user-level workflow event. Never carries a token, link or password. */
export interface UserEmailEvent {
  userId: string;
  email: string;
}

export interface PasswordResetRequestedEvent extends UserEmailEvent {
  /** The requester's IP, when the caller passed it. */
  ip?: string;
}

/** A sign-in link or code went to an existing account. */
export interface SignInRequestedEvent extends UserEmailEvent {
  /** The requester's IP, when the caller passed it. */
  ip?: string;
}

/** An email change was asked for: `email` is the current address, `newEmail` the one asked for. */
export interface EmailChangeRequestedEvent extends UserEmailEvent {
  newEmail: string;
}

/** The user confirmed from the new address: `email` is now theirs, `previousEmail` was. */
export interface EmailChangedEvent extends UserEmailEvent {
  previousEmail: string;
}

/**
 * The user reverted a change from the old address: `email` is theirs again, `revertedEmail` is the
 * address it replaced. Every token of the user was voided; end their sessions and force a reset.
 */
export interface EmailChangeRevertedEvent extends UserEmailEvent {
  revertedEmail: string;
}

/** Who and what an email is. Never the variables: they may hold a token, link or password. */
export interface EmailIdentity {
  /** Queue job id. */
  id: string;
  /** The tenant whose transport sends it, when there is one. */
  tenant?: string;
  messageId: string;
  template: string;
  /** Recipient address. */
  to: string;
}

export interface EmailQueuedEvent extends EmailIdentity {
  locale?: string;
}

export interface EmailSentEvent extends EmailIdentity {
  /** 1 for the first try. */
  attempt: number;
  accepted: string[];
  /** Recipients the server refused while accepting the message for others. */
  rejected: string[];
  /** When the email was queued: queue-to-sent latency is the time since. */
  queuedAt: Date;
  /** How long the SMTP server took to take this try, in ms (connection and login included when not pooled). */
  sendDurationMs: number;
  /** The server's reply, e.g. `250 2.0.0 Ok: queued as 4XyzB1` (its queue id, for its own log). */
  response?: string;
  /** The transport that sent it, without any password (e.g. `smtps://user:***@smtp.example.com:465 (implicit TLS)`). */
  transport?: string;
  /** Its place in the `transport` list (0 is the first); only when `transport` is a list. */
  transportIndex?: number;
  /** The `version` of the stored template it was rendered from (templates.store); absent for `templates.dir` and built-ins. */
  templateVersion?: string;
}

export interface EmailRetryingEvent extends EmailIdentity {
  /** The attempt that just failed. */
  attempt: number;
  nextAttemptAt: Date;
  reason: string;
  responseCode?: number;
  enhancedCode?: string;
  /** How long the server took before it failed this try, in ms; absent when no server was reached. */
  sendDurationMs?: number;
}

export interface EmailFailedEvent extends EmailIdentity {
  attempt: number;
  /**
   * `permanent` (5xx), `transient` when the retries ran out, or `expired` when the email was not
   * delivered within `queue.maxAge` of being queued.
   */
  kind: SmtpFailureKind | 'expired';
  reason: string;
  responseCode?: number;
  enhancedCode?: string;
  /** How long the server took before it failed this try, in ms; absent when no server was reached. */
  sendDurationMs?: number;
}

export interface DeliveryPausedEvent {
  /** The tenant whose transport failed; undefined for the default transport. */
  tenant?: string;
  /** Why no email can go out, and what to change. */
  reason: string;
  responseCode?: number;
  enhancedCode?: string;
}

export interface DeliveryResumedEvent {
  tenant?: string;
  /** How long delivery was paused. */
  pausedForMs: number;
}

/**
 * An email was not queued because its recipient is on the suppression list. Like the other email.*
 * events it names the recipient; it never carries the variables.
 */
export interface EmailSuppressedEvent {
  /** The Message-ID the send returned with `cancelled`, to correlate the two. */
  messageId: string;
  template: string;
  tenant?: string;
  /** Recipient address. */
  to: string;
  /** Why the address is on the list: 'bounce', 'complaint', 'manual' or the app's own reason. */
  reason: string;
  /** The SMTP code that put it there, for a bounce (e.g. '5.1.1'). */
  code?: string;
  /** When the address was put on the list. */
  suppressedAt: Date;
}

/** A before-send hook cancelled the email with `reason`. */
export interface EmailCancelledEvent {
  messageId: string;
  template: string;
  tenant?: string;
  to: string;
  reason: string;
}

/**
 * A bounce, delay notice, complaint, delivery or unsubscribe about an email we sent, proven ours by its
 * envelope tag, or by the Message-ID (or the provider's own id from its 250 reply) of an email sent to that
 * same recipient.
 */
export interface EmailReportEvent {
  messageId: string;
  template: string;
  tenant?: string;
  /** The recipient the report is about. */
  to: string;
  /** The enhanced status code the report gives, such as `5.1.1`. */
  status?: string;
  /** The receiving server's reply as the report quotes it, addresses redacted. */
  diagnosticCode?: string;
  /** Whether the address was put on the suppression list (a hard bounce, a complaint, an unsubscribe). */
  suppressed: boolean;
  /** The provider whose signed webhook reported it (`ses`, `sendgrid`, …); absent for a report read from the bounce mailbox. */
  provider?: string;
}

/** Why a report changed nothing. */
export type IgnoredReportReason = 'forged-tag' | 'unknown-message' | 'recipient-mismatch' | 'duplicate' | 'not-a-failure';

/** A report that changed nothing. No address: anyone can send one. */
export interface ReportIgnoredEvent {
  type: 'bounce' | 'delay' | 'complaint' | 'delivered' | 'unsubscribed';
  reason: IgnoredReportReason;
  /** The provider whose webhook it came from; absent for a report read from the bounce mailbox. */
  provider?: string;
}

/**
 * A stored template passed over for the next source (`templates.dir`, then the built-in): its name,
 * locale, version, why (`invalid`, `render`, `error`, `timeout`) and, when invalid, its problems. No
 * recipient, no variables, no store error message (it may name a database URL).
 */
export type TemplateSkippedEvent = TemplateSkip;

/** Payload type of each event. */
export interface EmailEventPayloads {
  [EmailEvent.Queued]: EmailQueuedEvent;
  [EmailEvent.Sent]: EmailSentEvent;
  [EmailEvent.Retrying]: EmailRetryingEvent;
  [EmailEvent.Failed]: EmailFailedEvent;
  [EmailEvent.DeliveryPaused]: DeliveryPausedEvent;
  [EmailEvent.DeliveryResumed]: DeliveryResumedEvent;
  [EmailEvent.VerificationRequested]: UserEmailEvent;
  [EmailEvent.EmailVerified]: UserEmailEvent;
  [EmailEvent.PasswordResetRequested]: PasswordResetRequestedEvent;
  [EmailEvent.PasswordChanged]: UserEmailEvent;
  [EmailEvent.SignInRequested]: SignInRequestedEvent;
  [EmailEvent.SignedIn]: UserEmailEvent;
  [EmailEvent.EmailChangeRequested]: EmailChangeRequestedEvent;
  [EmailEvent.EmailChanged]: EmailChangedEvent;
  [EmailEvent.EmailChangeReverted]: EmailChangeRevertedEvent;
  [EmailEvent.Suppressed]: EmailSuppressedEvent;
  [EmailEvent.Cancelled]: EmailCancelledEvent;
  [EmailEvent.Bounced]: EmailReportEvent;
  [EmailEvent.Delayed]: EmailReportEvent;
  [EmailEvent.Complained]: EmailReportEvent;
  [EmailEvent.ReportIgnored]: ReportIgnoredEvent;
  [EmailEvent.Delivered]: EmailReportEvent;
  [EmailEvent.Unsubscribed]: EmailReportEvent;
  [EmailEvent.TemplateSkipped]: TemplateSkippedEvent;
}

export type EmailEventListener<E extends EmailEvent> = (payload: EmailEventPayloads[E]) => unknown;

/**
 * An email about to be queued, as a `@BeforeEmailSend` hook sees it. Change `context` or
 * `headers`, or call `cancel()` to drop it (a suppression list, say).
 */
export interface OutgoingEmail {
  readonly template: string;
  readonly to: { readonly address: string; readonly name: string };
  readonly locale?: string;
  context: TemplateContext;
  headers: Record<string, string>;
  cancel(reason: string): void;
}

export type BeforeEmailSendHook = (email: OutgoingEmail) => unknown;
