/**
 * What happened to an email, step by step: from the queue to the server's answer, and what came back later
 * (from the bounce mailbox, or a provider's signed webhook: `delivered` and `unsubscribed` come only from those).
 */
export type DeliveryEventType = 'queued' | 'sent' | 'retrying' | 'failed' | 'cancelled' | 'bounced' | 'delayed' | 'complained' | 'delivered' | 'unsubscribed';

/** One step of an email's timeline. */
export interface DeliveryStep {
  event: DeliveryEventType;
  at: Date;
  /** The try it is about (sent, retrying, failed): 1 for the first. */
  attempt?: number;
  responseCode?: number;
  /** The enhanced status code (RFC 3463), such as `2.0.0` or `5.1.1`. */
  enhancedCode?: string;
  /**
   * What the server said: its reply for a try (e.g. `250 2.0.0 Ok: queued as 4XyzB1`), the diagnostic of
   * a bounce. Credentials and every email address are redacted.
   */
  reply?: string;
  /** The queue id the server gave in its 250 reply, to look the email up in its own log. */
  queueId?: string;
  /** How long the SMTP server took for this try, in ms. */
  durationMs?: number;
  /** For `sent`: the transport that sent it, without any password. */
  transport?: string;
  /** For `sent` through a `transport` list: its place in the list (0 is the first). */
  transportIndex?: number;
  /** For `sent`: the `version` of the stored template (templates.store) it was rendered from. */
  templateVersion?: string;
  /** Why: the failure kind (`permanent`, `transient`, `expired`), a cancel reason (`suppressed`, a hook's). */
  reason?: string;
  /** For a bounce, complaint or unsubscribe: whether it put the address on the suppression list. */
  suppressed?: boolean;
  /** For a step a provider's signed webhook reported: which provider (`ses`, `sendgrid`, `mailgun`, `postmark`, `resend`). */
  provider?: string;
}

/** Everything the log knows of one email. No body, no variables. */
export interface DeliveryRecord {
  messageId: string;
  to: string;
  template: string;
  tenant?: string;
  locale?: string;
  /** The latest step's event. */
  status: DeliveryEventType;
  queuedAt?: Date;
  /** Oldest first. */
  steps: DeliveryStep[];
}

/** What `EmailDeliveryLog.find` takes. */
export interface DeliveryLogQuery {
  to: string;
  /** Only emails queued (or cancelled) at or after this time. */
  since?: Date;
  /** @default 50, at most 1000 */
  limit?: number;
}

/**
 * Where records live: Redis beside the queue, or process memory. Values are sealed by the log before they
 * get here; keys are refs and keyed hashes: a store never sees an address, a Message-ID or a reply in clear.
 */
export interface DeliveryLogStore {
  /** Adds a step to the record `ref` (and, given `addressKey`, lists the record under it and among the recent ones). */
  append(ref: string, sealedStep: string, index?: { addressKey: string; at: number }): Promise<void>;
  /** A record's sealed steps in the order they were added; [] when it is gone. */
  steps(ref: string): Promise<string[]>;
  /** Refs listed under an address key at or after `since`, newest first. */
  refsOf(addressKey: string, since: number, limit: number): Promise<string[]>;
  /** The refs of the most recently queued emails, newest first. */
  recent(limit: number): Promise<string[]>;
  /**
   * Claims `key` for `pendingMs` unless it was claimed before: `'claimed'` (go on, then `finish` or
   * `unclaim`), `'pending'` (someone is recording it now, or failed to and the claim runs out) or `'done'`.
   */
  claim(key: string, pendingMs: number): Promise<ClaimState>;
  /** Marks a claim done for the retention: the same report never counts again. */
  finish(key: string): Promise<void>;
  /** Gives a claim back, when what it guarded could not be written. */
  unclaim(key: string): Promise<void>;
  /** Keeps `sealedRef` under `key` (a keyed hash of a provider's queue id) for the retention. */
  link(key: string, sealedRef: string): Promise<void>;
  /** What `link` kept under `key`, or undefined once it expired or was never kept. */
  linked(key: string): Promise<string | undefined>;
}

export type ClaimState = 'claimed' | 'pending' | 'done';

export interface DeliveryLogLimits {
  retentionMs: number;
  perAddress: number;
  recent: number;
}
