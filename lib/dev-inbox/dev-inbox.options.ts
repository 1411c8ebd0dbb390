/** Options of `EmailDevInboxModule.forRoot()`. */
export interface EmailDevInboxOptions {
  /** Route of the inbox page; each email is at `{inboxPath}/{id}`. @default '/dev/inbox' */
  inboxPath?: string;
  /** Route of the template previews page. @default '/dev/templates' */
  templatesPath?: string;
  /** Route of the delivery log page (what the workflow did with each email); one email's timeline is at `{deliveryLogPath}/email?id={Message-ID}`. @default '/dev/delivery-log' */
  deliveryLogPath?: string;
  /** Emails kept in memory; the oldest are dropped beyond it. @default 200 */
  maxMessages?: number;
}

export type ResolvedDevInboxOptions = Required<EmailDevInboxOptions>;

export function resolveDevInboxOptions(options: EmailDevInboxOptions): ResolvedDevInboxOptions {
  return {
    inboxPath: options.inboxPath ?? '/dev/inbox',
    templatesPath: options.templatesPath ?? '/dev/templates',
    deliveryLogPath: options.deliveryLogPath ?? '/dev/delivery-log',
    maxMessages: options.maxMessages ?? 200,
  };
}
