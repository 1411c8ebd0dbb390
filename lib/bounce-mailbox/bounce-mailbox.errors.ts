import { DependencyMissingError } from '../errors';

/**
 * `bounces.imap` is set and `imapflow`, the optional peer that reads the mailbox, is not installed. A
 * DependencyMissingError (code `EMAIL_WORKFLOW_DEPENDENCY_MISSING`), as for every other optional peer.
 */
export class MissingBounceReaderDependencyError extends DependencyMissingError {
  constructor() {
    super('imapflow', 'bounces.imap (reading the bounce mailbox)');
  }
}

/** A connection imapflow reports as closed, with the server's BYE when it said one. */
export function connectionClosed(byeReason: string | undefined): Error {
  return new Error(byeReason ? `the server closed the connection: ${byeReason}` : 'the connection closed');
}

/** The fields of an imapflow error that a description reads. */
interface ImapFailure {
  message?: string;
  code?: string;
  authenticationFailed?: boolean;
  tlsFailed?: boolean;
  mailboxMissing?: boolean;
  serverResponseCode?: string;
  responseText?: string;
  response?: unknown;
}

const CERTIFICATE = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME|certificate/;

/**
 * Why the mailbox cannot be read, in words with the fix: `where` is `host:port`. The result may still hold
 * what the server or imapflow said, credentials included: redact it before it is logged or kept.
 */
export function describeImapFailure(error: unknown, where: string): string {
  const failure = (error ?? {}) as ImapFailure;
  const said = [failure.serverResponseCode, failure.responseText ?? (typeof failure.response === 'string' ? failure.response : undefined)];
  const { message = String(error), code } = failure;
  const detail = said.filter(Boolean).join(': ') || (code && !message.includes(code) ? `${message} (${code})` : message);
  if (failure.authenticationFailed) {
    return `authentication failed at the IMAP server ${where} (${detail}). Fix: check the user and password in bounces.imap.auth`;
  }
  if (failure.mailboxMissing) {
    return `the IMAP server ${where} has no mailbox of that name (${detail}). Fix: create it, or set bounces.imap.mailbox to one that exists`;
  }
  if (failure.tlsFailed || CERTIFICATE.test(`${code ?? ''} ${message}`)) {
    return `the TLS connection to the IMAP server ${where} failed (${detail}). Fix: check bounces.imap.tls (ca, servername) and bounces.imap.secure / starttls`;
  }
  return `the connection to the IMAP server ${where} failed (${detail})`;
}
