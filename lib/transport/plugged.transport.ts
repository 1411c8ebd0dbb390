import type { MailMessage } from './mail-message';
import { EmailDeliveryError } from '../errors';
import type { DeliveryReceipt, MailTransport, MailTransportJob, TransportCheck } from './mail-transport';
import type { DkimOptions } from './smtp-transport.options';
import { redact } from './credential.redactor';

/** The message of anything thrown, credentials in URLs and AUTH lines redacted. */
function reasonOf(error: unknown): string {
  return redact(error instanceof Error ? error.message : String(error));
}

/**
 * An app's own transport (`transport: { use }`), held to the contract the worker relies on: a failure
 * that is not an EmailDeliveryError is `transient` (retried), a receipt lacks no field, and `verify`
 * never throws. With the module's `dkim`, the message carries it (`message.dkim`), so a transport that
 * builds the MIME with nodemailer signs it as the SMTP transport does.
 */
export class PluggedTransport implements MailTransport {
  readonly description: string;

  constructor(
    private readonly plugged: MailTransport,
    private readonly dkim?: DkimOptions,
  ) {
    const name = plugged.constructor?.name;
    this.description = plugged.description ?? `custom transport${name && name !== 'Object' ? ` (${name})` : ''}`;
  }

  async deliver(message: MailMessage, job: MailTransportJob): Promise<DeliveryReceipt> {
    let receipt: Partial<DeliveryReceipt> | undefined;
    try {
      receipt = await this.plugged.deliver(this.dkim ? { ...message, dkim: { ...this.dkim } } : message, job);
    } catch (error) {
      if (error instanceof EmailDeliveryError) throw error;
      throw new EmailDeliveryError({ kind: 'transient', reason: `${this.description} failed: ${reasonOf(error)}` });
    }
    return {
      messageId: typeof receipt?.messageId === 'string' ? receipt.messageId : (message.messageId as string),
      accepted: Array.isArray(receipt?.accepted) ? receipt.accepted.map(String) : [],
      rejected: Array.isArray(receipt?.rejected) ? receipt.rejected.map(String) : [],
      response: typeof receipt?.response === 'string' ? receipt.response : undefined,
    };
  }

  async verify(): Promise<TransportCheck> {
    try {
      const check = await this.plugged.verify();
      return { ok: check?.ok === true, reason: check?.ok === true ? undefined : (check?.reason ?? 'verify() did not answer ok') };
    } catch (error) {
      return { ok: false, reason: reasonOf(error) };
    }
  }

  async close(): Promise<void> {
    await this.plugged.close();
  }
}
