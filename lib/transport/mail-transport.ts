import type { MailMessage } from './mail-message';

/** What a transport reports for a message it took. */
export interface DeliveryReceipt {
  messageId: string;
  accepted: string[];
  rejected: string[];
  /** The server's reply to the message, e.g. `250 2.0.0 Ok: queued as 4XyzB1`. */
  response?: string;
  /** Which transport took it, without any secret: set by a failover list (the member) or the registry. */
  transport?: string;
  /** Its place in the `transport` list (0 is the first); only when `transport` is a list. */
  transportIndex?: number;
}

/** The queued email a message was built from, as a transport receives it beside the message. */
export interface MailTransportJob {
  /** The queue's id of this email. */
  id: string;
  /** 1 for the first try. */
  attempt: number;
  template: string;
  locale?: string;
  to: { address: string; name: string };
  /** The template's variables (they may hold tokens and links: do not log them). */
  context: Readonly<Record<string, unknown>>;
  /** The Message-ID, fixed at enqueue: every try of one email carries the same. */
  messageId: string;
  /** Sent for this tenant; unset for the default transport. */
  tenant?: string;
  /** Headers set by `@BeforeEmailSend` hooks. */
  headers?: Record<string, string>;
}

/** Whether a transport can send now, and why not. */
export interface TransportCheck {
  ok: boolean;
  /** Why not, without any secret. */
  reason?: string;
}

/**
 * One way of sending a finished message: SMTP, a provider's API, the testing module's outbox, a list
 * with failover, or an app's own (`transport: { use: myTransport }`).
 *
 * `deliver` throws an `EmailDeliveryError` whose `kind` says what the failure means: `transient` (retried),
 * `permanent` (failed for good: the message or recipient is refused), `configuration` or `unavailable`
 * (nothing is wrong with the message: the next transport of a list takes it, or delivery pauses until
 * `verify` answers). Any other error thrown by an app's transport counts as `transient`.
 */
export interface MailTransport {
  /** How logs, events and metrics name it; never a password or key. */
  readonly description?: string;
  /** Sends `message` (headers, Message-ID and DKIM settings included), built from `job`. */
  deliver(message: MailMessage, job: MailTransportJob): Promise<DeliveryReceipt>;
  /** Whether it could send now (a connection and login, an API call): a paused delivery resumes on `ok`. */
  verify(): Promise<TransportCheck>;
  /** Called once at shutdown. */
  close(): void | Promise<void>;
}

/** What `MailTransport` requires, for checking an app's transport at boot. */
export const MAIL_TRANSPORT_METHODS = ['deliver', 'verify', 'close'];
