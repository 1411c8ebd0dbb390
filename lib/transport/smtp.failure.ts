import { EmailDeliveryError } from '../errors';

/** The shape of errors nodemailer raises for SMTP and socket failures. */
export interface NodemailerError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
}

const ENHANCED_STATUS = /\b([245]\.\d{1,3}\.\d{1,3})\b/;

function plainWords(error: NodemailerError): string {
  switch (error.code) {
    case 'ETLS':
      return 'The SMTP server did not complete the TLS upgrade (STARTTLS). Nothing was sent in plaintext. Fix: use a server that offers STARTTLS, or port 465 with security "tls"';
    case 'ESOCKET':
      return /certificate|self.signed|unable to verify/i.test(error.message)
        ? 'The SMTP server certificate is not trusted. Fix: set transport.tls.ca to the CA certificate, or tls.servername to the name on it'
        : `The connection to the SMTP server failed (${error.message}). Fix: check transport host, port and security`;
    case 'ECONNECTION':
      return `The SMTP server closed the connection (${error.message}). Fix: check transport host, port and security`;
    case 'ETIMEDOUT':
      return 'The SMTP server did not answer in time. Fix: check the port; 465 needs security "tls", 587 needs "starttls"';
    case 'EAUTH':
      return 'The SMTP server refused the username or password. Fix: check transport.auth; some providers require an app password';
    default:
      return error.response
        ? `The SMTP server refused the message: ${error.response}`
        : `Sending failed: ${error.message}`;
  }
}

/** Turns a nodemailer error into our typed error, in plain words and without any credential. */
export function toDeliveryError(error: NodemailerError): EmailDeliveryError {
  const enhanced = error.response ? ENHANCED_STATUS.exec(error.response)?.[1] : undefined;
  return new EmailDeliveryError(plainWords(error), error.responseCode, enhanced);
}
