import type { Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import type { NodemailerError } from 'nodemailer/lib/errors';
import { TenantHostRefusedError } from '../errors';
import { CredentialRedactor, credentialRedactor } from './credential.redactor';
import type { MailMessage } from './mail-message';
import type { DeliveryReceipt, MailTransport, TransportCheck } from './mail-transport';
import { loadNodemailer } from './nodemailer.loader';
import { SmtpConnectionFacts, toDeliveryError } from './smtp.failure';
import { defaultPortFor, securityOfFlags } from './smtp.knowledge';
import type { NodemailerSmtpOptions } from './smtp-transport.resolver';

export type { DeliveryReceipt } from './mail-transport';

/** One SMTP server's connection pool. */
export class SmtpTransport implements MailTransport {
  private readonly transporter: Transporter;
  /** Built once from the login this transport sends, for every failure it reports. */
  private readonly redactCredentials: CredentialRedactor;
  /** Its security and port, for the hints of a failure. */
  private readonly connection: SmtpConnectionFacts;

  constructor(
    options: NodemailerSmtpOptions,
    readonly description?: string,
  ) {
    this.transporter = loadNodemailer().createTransport(options as SMTPTransport.Options);
    this.redactCredentials = credentialRedactor(options.auth);
    const security = securityOfFlags(options);
    this.connection = { security, port: Number(options.port) || defaultPortFor(security) };
  }

  async deliver(message: MailMessage): Promise<DeliveryReceipt> {
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
      throw toDeliveryError(error as NodemailerError, this.redactCredentials, this.connection);
    }
  }

  /** Connects, secures the connection and logs in, as a send would; sends nothing. */
  async verify(): Promise<TransportCheck> {
    try {
      await this.transporter.verify();
      return { ok: true };
    } catch (error) {
      if (error instanceof TenantHostRefusedError) return { ok: false, reason: error.message };
      // The reason redacts the server's words already; the library's own (its hints) stay as written.
      return { ok: false, reason: toDeliveryError(error as NodemailerError, this.redactCredentials, this.connection).failure.reason };
    }
  }

  close(): void {
    this.transporter.close();
  }
}
