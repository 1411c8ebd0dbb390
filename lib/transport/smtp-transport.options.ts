import type { MailTransport } from './mail-transport';
import type { SesTransportOptions } from './ses/ses.options';

/**
 * How the connection to the SMTP server is secured.
 * - `tls`: implicit TLS from the first byte (port 465).
 * - `starttls`: plaintext greeting, then STARTTLS is required; the connection fails rather than
 *   continue in plaintext (port 587).
 * - `none`: never upgrade. Only for a local catcher or a trusted relay.
 *
 * Left unset, it follows the port: 465 → `tls`, 587 → `starttls`, any other port → STARTTLS
 * when the server offers it.
 */
export type SmtpSecurity = 'tls' | 'starttls' | 'none';

export interface SmtpAuthOptions {
  user: string;
  pass: string;
}

/** Connection pooling. Pooling is on by default. */
export interface SmtpPoolOptions {
  /** @default 5 */
  maxConnections?: number;
  /** Messages sent over one connection before it is recycled. @default 100 */
  maxMessages?: number;
  /** Messages allowed per `rateDelta` milliseconds. Unlimited when unset. */
  rateLimit?: number;
  /** @default 1000 */
  rateDelta?: number;
}

export interface SmtpTlsOptions {
  /** Verify the server certificate. Leave it on; trust a private CA with `ca` instead. @default true */
  rejectUnauthorized?: boolean;
  /** Name to verify the certificate against, when it differs from `host`. */
  servername?: string;
  /** PEM certificate(s) of the CA that signed the server certificate. */
  ca?: string | string[];
}

export interface SmtpTransportOptions {
  host: string;
  /** @default 465 when `security` is `tls`, 587 otherwise */
  port?: number;
  security?: SmtpSecurity;
  auth?: SmtpAuthOptions;
  /** `false` opens one connection per message. @default true */
  pool?: boolean | SmtpPoolOptions;
  tls?: SmtpTlsOptions;
  /** Milliseconds to wait for the TCP connection. @default 10000 */
  connectionTimeout?: number;
  /** Milliseconds to wait for the server greeting once connected. @default 10000 */
  greetingTimeout?: number;
  /** Milliseconds of inactivity before the socket is closed. @default 60000 */
  socketTimeout?: number;
}

/** An SMTP URL (`smtp://user:pass@host:587`, `smtps://user:pass@host:465`) or the settings as an object. */
export type EmailTransportOption = string | SmtpTransportOptions;

/**
 * An app's own transport, given as an object (like @nestjs/throttler's `storage`): it must have
 * `deliver(message, job)`, `verify()` and `close()` (see `MailTransport`), checked at boot.
 */
export interface CustomTransportOption {
  use: MailTransport;
}

/** One transport of the module: SMTP (URL or object) or an app's own. */
/** Amazon SES over its HTTPS API, for clouds that block SMTP: `{ ses: { region, credentials? } }` (docs/transports.md: Sending without SMTP). */
export interface SesTransportOption {
  ses: SesTransportOptions;
}

export type TransportOption = EmailTransportOption | CustomTransportOption | SesTransportOption;

import type { DkimOptions } from './dkim.options';

export type { DkimOptions };

/** Pools of tenant transports (see `transportResolver`). */
export interface TenantTransportOptions {
  /** Tenant pools kept open at most; the least recently used is closed beyond. @default 100 */
  maxCached?: number;
  /** Milliseconds after which an unused tenant pool is closed. @default 300000 */
  idleTimeout?: number;
  /**
   * Tenant settings are untrusted: their transports connect only to public addresses, checked on the
   * resolved address at connect time. Ranges listed here (CIDR: '10.0.0.0/8', '127.0.0.1/32',
   * 'fd00::/8') are allowed too. @default [] (none)
   */
  allowPrivateNetworks?: string[];
  /** The longest a tenant transport waits to connect (DNS included), in ms; a tenant's own lower value is kept. @default 10000 */
  connectionTimeout?: number;
  /** The longest a tenant transport waits for the greeting, in ms; a tenant's own lower value is kept. @default 10000 */
  greetingTimeout?: number;
  /** The longest a tenant transport's socket may be idle, in ms; a tenant's own lower value is kept. @default 30000 */
  socketTimeout?: number;
}

/** The module options the transport concern owns. */
export interface TransportModuleOptions {
  /**
   * SMTP server: a URL or an object. Pooled by default, certificate checks on. Or an app's own transport,
   * `{ use: myTransport }`. Or a list of them, in order of preference: a connection, TLS or login failure
   * of one moves the email to the next at once, and the failed one is used again once it answers.
   * @example 'smtps://user:pass@smtp.example.com'
   * @example ['smtps://user:pass@smtp.primary.example', 'smtps://user:pass@smtp.backup.example']
   */
  transport: TransportOption | TransportOption[];
  /** Sign every message with DKIM. */
  dkim?: DkimOptions;
  /** A tenant's SMTP settings, for `send({ tenant })`. Each tenant gets its own pool and its own pause. */
  transportResolver?: (tenantId: string) => Promise<EmailTransportOption>;
  tenantTransports?: TenantTransportOptions;
}
