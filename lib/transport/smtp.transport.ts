import type { Transporter } from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import type { NodemailerError } from 'nodemailer/lib/errors';
import { TenantHostRefusedError } from '../errors';
import { CredentialRedactor, credentialRedactor } from './credential.redactor';
import type { DeliveryReceipt, MailTransport, TransportCheck } from './mail-transport';
import { redact, toDeliveryError } from './smtp.failure';
import type { NodemailerSmtpOptions } from './smtp-transport.resolver';

export type { DeliveryReceipt } from './mail-transport';

/** nodemailer, loaded when the first transport is made rather than when the library is imported. */
export function loadNodemailer(): typeof import('nodemailer') {
  return require('nodemailer') as typeof import('nodemailer');
}

/** One SMTP server's connection pool. */
export class SmtpTransport implements MailTransport {
  private readonly transporter: Transporter;
  /** Built once from the login this transport sends, for every failure it reports. */
  private readonly redactCredentials: CredentialRedactor;

  constructor(
    options: NodemailerSmtpOptions,
    readonly description?: string,
  ) {
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

  /** Connects, secures the connection and logs in, as a send would; sends nothing. */
  async verify(): Promise<TransportCheck> {
    try {
      await this.transporter.verify();
      return { ok: true };
    } catch (error) {
      if (error instanceof TenantHostRefusedError) return { ok: false, reason: error.message };
      return { ok: false, reason: redact(toDeliveryError(error as NodemailerError, this.redactCredentials).failure.reason) };
    }
  }

  close(): void {
    this.transporter.close();
  }
}
