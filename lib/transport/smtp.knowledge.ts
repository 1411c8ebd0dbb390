import type { SmtpSecurity } from './smtp-transport.options';

/**
 * What this library knows about SMTP, in one place: the transport resolver applies its defaults, the
 * failure classifier and the doctor read server replies and TLS errors with it, and both word their
 * advice from its hint table (`smtp.hints.ts`).
 */

/** Implicit TLS from the first byte (RFC 8314). */
export const IMPLICIT_TLS_PORT = 465;
/** Message submission with STARTTLS (RFC 6409). */
export const SUBMISSION_PORT = 587;
/** Server-to-server relay; networks and cloud providers often block it outbound. */
export const RELAY_PORT = 25;

/** How a connection is secured once the port has filled in an unset `security`. */
export type EffectiveSmtpSecurity = SmtpSecurity | 'opportunistic';

/**
 * `security` when set; otherwise it follows the port: 465 → implicit TLS, 587 (or no port) → STARTTLS
 * required, any other port → STARTTLS when the server offers it.
 */
export function securityFor(security: SmtpSecurity | undefined, port: number | undefined): EffectiveSmtpSecurity {
  if (security) return security;
  if (port === IMPLICIT_TLS_PORT) return 'tls';
  if (port === SUBMISSION_PORT || port === undefined) return 'starttls';
  return 'opportunistic';
}

/** The port an unset `port` means: 465 for implicit TLS, 587 otherwise. */
export function defaultPortFor(security: EffectiveSmtpSecurity): number {
  return security === 'tls' ? IMPLICIT_TLS_PORT : SUBMISSION_PORT;
}

/** nodemailer's switches for a security mode. */
interface NodemailerTlsFlags {
  secure?: boolean;
  requireTLS?: boolean;
  ignoreTLS?: boolean;
}

/** The security mode as nodemailer's `secure` / `requireTLS` / `ignoreTLS` switches. */
export function tlsFlagsFor(security: EffectiveSmtpSecurity): Required<NodemailerTlsFlags> {
  return { secure: security === 'tls', requireTLS: security === 'starttls', ignoreTLS: security === 'none' };
}

/** The security mode back from nodemailer's switches (the inverse of `tlsFlagsFor`). */
export function securityOfFlags(flags: NodemailerTlsFlags): EffectiveSmtpSecurity {
  if (flags.secure) return 'tls';
  if (flags.requireTLS) return 'starttls';
  if (flags.ignoreTLS) return 'none';
  return 'opportunistic';
}

/**
 * Milliseconds an unset timeout means. nodemailer's own defaults (2 min to connect, 10 min idle) are
 * far longer than a request or a health check should hang.
 */
export const SMTP_TIMEOUT_DEFAULTS = {
  connectionTimeout: 10_000,
  greetingTimeout: 10_000,
  socketTimeout: 60_000,
} as const;

/** One SMTP reply, parsed. */
export interface SmtpReply {
  /** The three-digit reply code, e.g. 550. */
  code: number;
  /** The enhanced status code (RFC 3463) when the server sent one, e.g. `5.7.1`. */
  enhancedCode?: string;
  /** The text of each line, without the code. */
  lines: string[];
  /** The last line as the server sent it, e.g. `535 5.7.8 Authentication failed`. */
  raw: string;
}

/** An enhanced code counts only right after the reply code, never an IP address or a version further on. */
const REPLY_START = /^(\d{3})(?:[ -]([245]\.\d{1,3}\.\d{1,3})\b)?/;

/** Parses a reply (one line, or several joined by line breaks); undefined when it does not start with a code. */
export function parseSmtpReply(response: string): SmtpReply | undefined {
  const start = REPLY_START.exec(response);
  if (!start) return undefined;
  const all = response.split(/\r?\n/).filter((line) => line.length > 0);
  return { code: Number(start[1]), enhancedCode: start[2], lines: all.map((line) => line.slice(4)), raw: all[all.length - 1] };
}

/** Reply codes that say the login is missing or wrong (530 needed, 534 app password, 535 refused, 538 needs TLS). */
const AUTH_REPLY_CODES = new Set([530, 534, 535, 538]);
/** The reply to MAIL FROM of a server that wants a login first. */
export const LOGIN_REQUIRED_REPLY = 530;

/** Whether a reply code is about the login rather than the message. */
export function isAuthenticationReply(code: number | undefined): boolean {
  return code !== undefined && AUTH_REPLY_CODES.has(code);
}

/** Whether a refused recipient is a relay refusal (send-as or login problem) rather than a bad address. */
export function isRelayDenial(reply: SmtpReply): boolean {
  return reply.enhancedCode === '5.7.1' || (reply.code === 550 && /relay/i.test(reply.raw));
}

/** The fields of a socket or nodemailer error that TLS problems are recognised from. */
interface SocketErrorLike {
  code?: string;
  originalCode?: string;
  responseCode?: number;
  message: string;
}

/** What a TLS failure means for the settings. */
type TlsProblem = 'untrusted-certificate' | 'tls-mismatch';

const CERTIFICATE_PROBLEM = /certificate|self.signed|unable.to.verify|altname|CERT_|_CERT\b/i;
/** OpenSSL's words for TLS bytes met by plaintext (or the reverse). */
const TLS_MISMATCH = /wrong version number|ssl3_get_record|packet length too long|unknown protocol|ERR_SSL/i;

/**
 * The TLS problem a socket-level error shows, if any. A server reply's text never counts: a 554 may
 * mention an S/MIME certificate and still be about the message.
 */
export function tlsProblemOf(error: SocketErrorLike): TlsProblem | undefined {
  const detail = `${error.code ?? ''} ${error.originalCode ?? ''} ${error.responseCode ? '' : error.message}`;
  if (CERTIFICATE_PROBLEM.test(detail)) return 'untrusted-certificate';
  if (TLS_MISMATCH.test(detail)) return 'tls-mismatch';
  return undefined;
}

/** How a failure shows that the server cannot be reached now, rather than anything about the message. */
export type SmtpUnavailability = 'dns' | 'refused' | 'unreachable' | 'no-answer' | 'busy';

/** The fields of a nodemailer error that an unreachable server is recognised from. */
interface ConnectionFailureLike extends SocketErrorLike {
  command?: string;
  /** nodemailer's name for the timeout that struck: CONNECT_TIMEOUT, GREETING_TIMEOUT, SOCKET_TIMEOUT… */
  timeoutType?: string;
}

const NO_ROUTE = new Set(['EHOSTUNREACH', 'ENETUNREACH']);
/** Timeouts before any session exists: a later one (SOCKET_TIMEOUT) may strike mid-message. */
const SETUP_TIMEOUTS = new Set(['CONNECT_TIMEOUT', 'GREETING_TIMEOUT']);
/** A greeting of 421: the server is up but takes no session now (RFC 5321 §3.1). */
const BUSY_GREETING = 421;

/**
 * Whether a failure only says the server cannot be reached now: the host name did not resolve, the
 * connection was refused or has no route, connecting or the greeting timed out, or the greeting was
 * 421. A reset or a timeout later on may cut a message in half, so it does not count.
 */
export function unavailabilityOf(error: ConnectionFailureLike): SmtpUnavailability | undefined {
  if (error.code === 'EDNS') return 'dns';
  if (error.originalCode === 'ECONNREFUSED') return 'refused';
  if (NO_ROUTE.has(error.originalCode ?? '')) return 'unreachable';
  if (error.code === 'ETIMEDOUT' && SETUP_TIMEOUTS.has(error.timeoutType ?? '')) return 'no-answer';
  if (error.code === 'EPROTOCOL' && error.command === 'CONN' && error.responseCode === BUSY_GREETING) return 'busy';
  return undefined;
}
