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
