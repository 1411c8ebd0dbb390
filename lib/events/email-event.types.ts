import type { TemplateContext } from '../templates';
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

export type EmailQueuedEvent = EmailIdentity;

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
}

export interface EmailRetryingEvent extends EmailIdentity {
  /** The attempt that just failed. */
  attempt: number;
  nextAttemptAt: Date;
  reason: string;
  responseCode?: number;
  enhancedCode?: string;
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
