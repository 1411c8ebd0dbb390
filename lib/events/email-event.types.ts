import type { SmtpFailureKind } from '../transport/smtp.failure';

/** Events the workflow emits. Subscribe with `@OnEmailEvent(EmailEvent.Sent)` on any provider method. */
export enum EmailEvent {
  Queued = 'email.queued',
  Sent = 'email.sent',
  Retrying = 'email.retrying',
  Failed = 'email.failed',
  DeliveryPaused = 'email.delivery-paused',
  DeliveryResumed = 'email.delivery-resumed',
}

/** Who and what an email is. Never the variables: they may hold a token, link or password. */
export interface EmailIdentity {
  /** Queue job id. */
  id: string;
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
  /** `permanent` (5xx) or `transient` when the retries ran out. */
  kind: SmtpFailureKind;
  reason: string;
  responseCode?: number;
  enhancedCode?: string;
}

export interface DeliveryPausedEvent {
  /** Why no email can go out, and what to change. */
  reason: string;
  responseCode?: number;
  enhancedCode?: string;
}

export interface DeliveryResumedEvent {
  /** How long delivery was paused. */
  pausedForMs: number;
}

/** Payload type of each event. */
export interface EmailEventPayloads {
  [EmailEvent.Queued]: EmailQueuedEvent;
  [EmailEvent.Sent]: EmailSentEvent;
  [EmailEvent.Retrying]: EmailRetryingEvent;
  [EmailEvent.Failed]: EmailFailedEvent;
  [EmailEvent.DeliveryPaused]: DeliveryPausedEvent;
  [EmailEvent.DeliveryResumed]: DeliveryResumedEvent;
}

export type EmailEventListener<E extends EmailEvent> = (payload: EmailEventPayloads[E]) => unknown;
