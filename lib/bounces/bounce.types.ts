/** What a report says happened: a bounce (a permanent failure), a delay (still being retried) or a complaint. */
export type BounceType = 'bounce' | 'delay' | 'complaint';

/**
 * What became of one recipient: a DSN's `Action` (RFC 3464 §2.3.3), or `complained` for the recipient
 * an abuse report (ARF, RFC 5965) is about.
 */
export type BounceAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded' | 'complained';

/** One recipient a report is about. */
export interface BounceRecipient {
  /**
   * The address as the report gives it (a DSN's `Original-Recipient`, else its `Final-Recipient`; an ARF
   * report's `Original-Rcpt-To`): trimmed, the `rfc822;` type and angle brackets stripped, case kept.
   */
  address: string;
  action: BounceAction;
  /** The enhanced status code (RFC 3463), such as `5.1.1`; absent when the report gives none. */
  status?: string;
  /**
   * The remote server's reply (a DSN's `Diagnostic-Code` without its `smtp;` type), folded lines joined,
   * such as `550 5.1.1 <ada@example.com>: Recipient address rejected: User unknown`. At most 1000 characters.
   */
  diagnosticCode?: string;
}

/** A bounce, delay notice or complaint, as read by `parseBounce`. Untrusted: anyone can send one. */
export interface BounceReport {
  type: BounceType;
  /** Every recipient the report names (at most 100), in its order. */
  recipients: BounceRecipient[];
  /**
   * The Message-ID of the email the report is about, angle brackets included as `send()` returns it: from
   * the headers the report returns (`text/rfc822-headers` or `message/rfc822`, or the copy below the text
   * of a non-standard bounce), else from a DSN's `X-Original-Message-ID` (Gmail).
   */
  messageId?: string;
  /**
   * The tag after `+` in the local part of the address the report was delivered to (its own
   * `Delivered-To`, `X-Original-To`, `Envelope-To`, then `To`): `bounces+ABC@acme.test` gives `ABC`. For a
   * complaint, which goes to the feedback address rather than the bounce address, the report's
   * `Original-Mail-From` (the envelope sender of the email complained about) when those carry none.
   */
  envelopeTag?: string;
  /**
   * `true` when the recipients were read from the machine-readable part (`message/delivery-status` or
   * `message/feedback-report`); `false` when they were read from the text of a bounce without one.
   */
  fromDsnPart: boolean;
}
