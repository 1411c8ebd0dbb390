import type { Transporter } from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import type { NodemailerError } from 'nodemailer/lib/errors';
import { TenantHostRefusedError } from '../errors';
import { CredentialRedactor, credentialRedactor } from './credential.redactor';
import { toDeliveryError } from './smtp.failure';
import type { NodemailerSmtpOptions } from './smtp-transport.resolver';

export interface DeliveryReceipt {
  messageId: string;
  accepted: string[];
  rejected: string[];
  /** The server's reply to the message, e.g. `250 2.0.0 Ok: queued as 4XyzB1`. */
  response?: string;
}

/** nodemailer, loaded when the first transport is made rather than when the library is imported. */
export function loadNodemailer(): typeof import('nodemailer') {
  return require('nodemailer') as typeof import('nodemailer');
}

/** The one SMTP connection pool of a module instance. */
export class SmtpTransport {
  private readonly transporter: Transporter;
  /** Built once from the login this transport sends, for every failure it reports. */
  private readonly redactCredentials: CredentialRedactor;

  constructor(options: NodemailerSmtpOptions) {
    this.transporter = loadNodemailer().createTransport(options);
    this.redactCredentials = credentialRedactor(options.auth);
  }

  async deliver(message: Mail.Options): Promise<DeliveryReceipt> {
    try {
      const info = await this.transporter.sendMail(message);
      return {
        messageId: info.messageId,
        accepted: (info.accepted ?? []).map(String),
        rejected: (info.rejected ?? []).map(String),
        response: typeof info.response === 'string' ? info.response : undefined,
      };
    } catch (error) {
      // A tenant's host refused by its guard (getSocket) comes through nodemailer as it was raised.
      if (error instanceof TenantHostRefusedError) throw error;
      throw toDeliveryError(error as NodemailerError, this.redactCredentials);
    }
  }

  close(): void {
    this.transporter.close();
  }
}
