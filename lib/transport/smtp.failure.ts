import { EmailDeliveryError } from '../errors';

/** The shape of errors nodemailer raises for SMTP and socket failures. */
export interface NodemailerError extends Error {
  code?: string;
  originalCode?: string;
  responseCode?: number;
  response?: string;
  command?: string;
}

/**
 * - `transient`: may succeed later (4xx, connection refused/reset/lost, timeouts): retry with backoff.
 * - `permanent`: this message will never be accepted (5xx at MAIL/RCPT/DATA): do not retry.
 * - `configuration`: no message can go out until settings or the server change (bad credentials,
 *   TLS mismatch, untrusted certificate): pause delivery instead of burning every job's retries.
 */
export type SmtpFailureKind = 'transient' | 'permanent' | 'configuration';

export interface SmtpFailure {
  kind: SmtpFailureKind;
  responseCode?: number;
  enhancedCode?: string;
  /** What happened and what to do, in plain words, without any credential. */
  reason: string;
}

const ENHANCED_STATUS = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/;
/** Commands whose failure says the settings are wrong, not this message. */
const SESSION_COMMANDS = /^(AUTH|STARTTLS)/i;
const CERTIFICATE_PROBLEM = /certificate|self.signed|unable to verify|altname|CERT_/i;
const TLS_MISMATCH = /wrong version number|ssl3_get_record|packet length too long|unknown protocol|ERR_SSL/i;
const AUTH_REPLY_CODES = new Set([530, 534, 535, 538]);

/** Server text may echo what the client sent: drop AUTH lines, long base64 runs and URL user info. */
export function redact(text: string): string {
  return text
    .replace(/AUTH\s+\S+(\s+\S+)?/gi, 'AUTH [redacted]')
    .replace(/[A-Za-z0-9+/]{20,}={0,2}/g, '[redacted]')
    .replace(/\/\/[^/\s@]*@/g, '//[redacted]@');
}

/** Socket-level detail (no server reply): TLS and certificate errors are recognised from it. */
function socketDetail(error: NodemailerError): string {
  return `${error.code ?? ''} ${error.originalCode ?? ''} ${error.responseCode ? '' : error.message}`;
}

function describe(error: NodemailerError, kind: SmtpFailureKind): string {
  const detail = socketDetail(error);
  const response = error.response ? redact(error.response) : undefined;
  if (error.code === 'EAUTH' || (error.responseCode && AUTH_REPLY_CODES.has(error.responseCode))) {
    return `The SMTP server refused the login${response ? ` (${response})` : ''}. Fix: check transport.auth user and password; some providers require an app password`;
  }
  if (error.code === 'ETLS') {
    return 'The SMTP server did not complete the TLS upgrade (STARTTLS); nothing was sent in plaintext. Fix: use a server that offers STARTTLS, or port 465 with security "tls"';
  }
  if (CERTIFICATE_PROBLEM.test(detail)) {
    return 'The SMTP server certificate is not trusted. Fix: set transport.tls.ca to the CA certificate, or tls.servername to the name on it; do not turn certificate checks off';
  }
  if (TLS_MISMATCH.test(detail)) {
    return 'TLS mismatch: the client spoke TLS to a port that expects plaintext. Fix: port 465 needs security "tls"; 587 and 25 need "starttls"';
  }
  if (error.responseCode) {
    return kind === 'permanent'
      ? `The SMTP server refused the message for good at ${error.command ?? 'SMTP'}: ${response}`
      : `The SMTP server deferred the message at ${error.command ?? 'SMTP'}: ${response}`;
  }
  if (error.code === 'ETIMEDOUT') {
    return 'The SMTP server did not answer in time. Fix: check the port; 465 needs security "tls", 587 needs "starttls"';
  }
  return `The connection to the SMTP server failed (${error.originalCode ?? error.code ?? 'error'}: ${redact(error.message)}). Fix: check transport host and port, and that the server is up`;
}

/** Sorts an SMTP failure into transient, permanent or configuration. The reply code wins over the enhanced code. */
export function classifySmtpFailure(error: NodemailerError): SmtpFailure {
  const enhancedCode = error.response ? ENHANCED_STATUS.exec(error.response)?.[1] : undefined;
  const detail = socketDetail(error);
  const repliedToMessage = error.responseCode !== undefined && !SESSION_COMMANDS.test(error.command ?? '');
  let kind: SmtpFailureKind;
  if (error.responseCode !== undefined && AUTH_REPLY_CODES.has(error.responseCode)) {
    kind = 'configuration';
  } else if (repliedToMessage) {
    // A reply to MAIL/RCPT/DATA is about this message: its code decides, whatever its text says.
    kind = (error.responseCode as number) >= 500 ? 'permanent' : 'transient';
  } else if (error.code === 'EAUTH' || error.code === 'ETLS' || CERTIFICATE_PROBLEM.test(detail) || TLS_MISMATCH.test(detail)) {
    kind = 'configuration';
  } else {
    kind = 'transient';
  }
  return { kind, responseCode: error.responseCode || undefined, enhancedCode, reason: describe(error, kind) };
}

/** Turns a nodemailer error into our typed error, in plain words and without any credential. */
export function toDeliveryError(error: NodemailerError): EmailDeliveryError {
  return new EmailDeliveryError(classifySmtpFailure(error));
}
