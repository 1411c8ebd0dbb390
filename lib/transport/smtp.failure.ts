import type { NodemailerError } from 'nodemailer/lib/errors';
import { EmailDeliveryError, SmtpFailure, SmtpFailureKind } from '../errors';
import { CredentialRedactor, redact } from './credential.redactor';
import { noGreetingHint, smtpHint } from './smtp.hints';
import { EffectiveSmtpSecurity, isAuthenticationReply, parseSmtpReply, SmtpUnavailability, tlsProblemOf, unavailabilityOf } from './smtp.knowledge';

/** The connection a failure happened on, for the hints that depend on it (e.g. no greeting on an implicit-TLS port). */
export interface SmtpConnectionFacts {
  security: EffectiveSmtpSecurity;
  port: number;
}

/** Commands whose failure says the settings are wrong, not this message. */
const SESSION_COMMANDS = /^(AUTH|STARTTLS)/i;

/** An outage in plain words: the server is down or busy, the settings may be fine. */
function describeOutage(error: NodemailerError, unavailability: SmtpUnavailability, redact: (text: string) => string, connection?: SmtpConnectionFacts): string {
  const cause = `${error.originalCode ?? error.code ?? 'error'}: ${redact(error.message)}`;
  switch (unavailability) {
    case 'dns':
      return `The SMTP server is unreachable: its host name did not resolve (${cause}). If this lasts: ${smtpHint('dnsFailed', 'api')}`;
    case 'refused':
      return `The SMTP server is unreachable: it refused the connection (${cause}); it may be down or restarting. If this lasts: ${smtpHint('serverDown', 'api')}`;
    case 'unreachable':
      return `The SMTP server is unreachable: there is no route to it (${cause}). If this lasts: ${smtpHint('serverDown', 'api')}`;
    case 'no-answer':
      if (error.timeoutType === 'GREETING_TIMEOUT' && connection) {
        // The same advice the diagnosis gives for a missing greeting (a plaintext client on an implicit-TLS port).
        return `The SMTP server did not answer in time (no greeting). Fix: ${noGreetingHint(connection.security, connection.port, 'api')}; else it may be down or overloaded`;
      }
      return `The SMTP server did not answer in time (${error.timeoutType === 'GREETING_TIMEOUT' ? 'no greeting' : 'no connection'}); it may be down or overloaded. If this lasts: ${smtpHint('noAnswer', 'api')}`;
    case 'busy':
      return `The SMTP server is busy: it answered the connection with ${redact(error.response ?? '421')} and asks to be tried later`;
  }
}

function describe(error: NodemailerError, kind: SmtpFailureKind, redact: (text: string) => string, connection?: SmtpConnectionFacts): string {
  const unavailability = unavailabilityOf(error);
  if (unavailability) return describeOutage(error, unavailability, redact, connection);
  const response = error.response ? redact(error.response) : undefined;
  const tlsProblem = tlsProblemOf(error);
  if (error.code === 'EAUTH' || isAuthenticationReply(error.responseCode)) {
    return `The SMTP server refused the login${response ? ` (${response})` : ''}. Fix: ${smtpHint('authFailed', 'api')}`;
  }
  if (error.code === 'ETLS') {
    return `The SMTP server did not complete the TLS upgrade (STARTTLS); nothing was sent in plaintext. Fix: ${smtpHint('startTlsUnavailable', 'api')}`;
  }
  if (tlsProblem === 'untrusted-certificate') {
    return `The SMTP server certificate is not trusted. Fix: ${smtpHint('untrustedCertificate', 'api')}`;
  }
  if (tlsProblem === 'tls-mismatch') {
    return `TLS mismatch: the client spoke TLS to a port that expects plaintext. Fix: ${smtpHint('tlsMismatch', 'api')}`;
  }
  if (error.responseCode) {
    return kind === 'permanent'
      ? `The SMTP server refused the message for good at ${error.command ?? 'SMTP'}: ${response}`
      : `The SMTP server deferred the message at ${error.command ?? 'SMTP'}: ${response}`;
  }
  if (error.code === 'ETIMEDOUT') {
    return `The SMTP server did not answer in time. Fix: ${smtpHint('noTlsAnswer', 'api')}`;
  }
  return `The connection to the SMTP server failed (${error.originalCode ?? error.code ?? 'error'}: ${redact(error.message)}). Fix: ${smtpHint('serverDown', 'api')}`;
}

/**
 * Sorts an SMTP failure into transient, permanent, configuration or unavailable. The reply code wins
 * over the enhanced code. `credentials` removes the login of the transport that failed from its reason.
 */
export function classifySmtpFailure(error: NodemailerError, credentials?: CredentialRedactor, connection?: SmtpConnectionFacts): SmtpFailure {
  const replyCode = error.responseCode;
  let kind: SmtpFailureKind;
  if (unavailabilityOf(error) !== undefined) {
    kind = 'unavailable';
  } else if (isAuthenticationReply(replyCode)) {
    kind = 'configuration';
  } else if (replyCode !== undefined && !SESSION_COMMANDS.test(error.command ?? '')) {
    // A reply to MAIL/RCPT/DATA is about this message: its code decides, whatever its text says.
    kind = replyCode >= 500 ? 'permanent' : 'transient';
  } else if (error.code === 'EAUTH' || error.code === 'ETLS' || tlsProblemOf(error) !== undefined) {
    kind = 'configuration';
  } else {
    kind = 'transient';
  }
  const enhancedCode = error.response ? parseSmtpReply(error.response)?.enhancedCode : undefined;
  return { kind, responseCode: replyCode || undefined, enhancedCode, reason: describe(error, kind, (text) => redact(text, credentials), connection) };
}

/** Turns a nodemailer error into our typed error, in plain words and without any credential. */
export function toDeliveryError(error: NodemailerError, credentials?: CredentialRedactor, connection?: SmtpConnectionFacts): EmailDeliveryError {
  return new EmailDeliveryError(classifySmtpFailure(error, credentials, connection));
}
