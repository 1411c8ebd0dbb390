/*
 * The library's own declarations of the nodemailer shapes its public API carries. They name only the
 * fields the library sets, under nodemailer's names and meanings, so that a message or options object can
 * be handed to nodemailer as it is; but the package's declaration files never import nodemailer's, which
 * default-import Node built-ins and fail to compile in a CommonJS app that checks libraries
 * (`skipLibCheck: false`) without `esModuleInterop` or `allowSyntheticDefaultImports`.
 */
import type { ConnectionOptions } from 'node:tls';

/** A mailbox: `{ name: 'Ada Lovelace', address: 'ada@example.com' }`. */
export interface MailAddress {
  name: string;
  address: string;
}

/** DKIM signing settings a message carries (the module's `dkim`). */
export interface MailMessageDkim {
  domainName: string;
  keySelector: string;
  privateKey: string;
}

/**
 * The message a `MailTransport` delivers, as the library builds it from a template: nodemailer's message
 * fields (`sendMail()`), so a transport that builds the MIME with nodemailer passes it on unchanged.
 */
export interface MailMessage {
  /** The From header, e.g. `Acme <no-reply@acme.com>`. */
  from?: string | MailAddress;
  replyTo?: string | MailAddress;
  to?: string | MailAddress | Array<string | MailAddress>;
  subject?: string;
  /** The HTML part: the library sends `{ content, contentTransferEncoding }`, so its encoding travels with it. */
  html?: string | { content: string; contentTransferEncoding?: string };
  /** The plain-text part. */
  text?: string;
  /** The Message-ID, `<local@domain>`, fixed when the email was queued. */
  messageId?: string;
  /** Extra headers (set by `@BeforeEmailSend` hooks, List-Unsubscribe…). */
  headers?: Record<string, string>;
  /** The SMTP envelope, when it differs from the headers (bounce address). */
  envelope?: { from: string; to: string[] };
  /** Set when the module signs with DKIM. */
  dkim?: MailMessageDkim;
}

/** The options of nodemailer's SMTP transport (and pool) that the library sets. */
export interface NodemailerSmtpOptions {
  host?: string;
  port?: number;
  secure?: boolean;
  requireTLS?: boolean;
  ignoreTLS?: boolean;
  auth?: { user: string; pass: string };
  tls?: ConnectionOptions;
  name?: string;
  connectionTimeout?: number;
  greetingTimeout?: number;
  socketTimeout?: number;
  pool?: boolean;
  maxConnections?: number;
  maxMessages?: number;
  rateLimit?: number;
  rateDelta?: number;
  dkim?: MailMessageDkim;
  /** Opens the connection instead of nodemailer (a tenant's network guard). */
  getSocket?: (options: Record<string, unknown>, callback: (error: Error | null, socketOptions?: { connection: import('node:net').Socket } | false) => void) => void;
}
