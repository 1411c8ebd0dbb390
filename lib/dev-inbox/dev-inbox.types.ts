/** One email the dev inbox caught, as its SMTP client sent it. */
export interface CaughtEmail {
  /** Unique in this process; the email's page is `{inboxPath}/{id}`. The catcher's reply gives it as the queue id (`250 Ok: queued as {id}`). */
  readonly id: string;
  readonly receivedAt: Date;
  /** The From header, display name included: `Acme <no-reply@acme.com>`. */
  readonly from: string;
  /** The To header, display names included. */
  readonly to: string;
  /** The Message-ID header, matching `messageId` of `send()` and of the email events. */
  readonly messageId?: string;
  readonly subject: string;
  /** The HTML part, if the email has one. */
  readonly html?: string;
  /** The plain-text part, if the email has one. */
  readonly text?: string;
  /** The whole message as received: headers and MIME body. */
  readonly raw: string;
}
