import type { MailMessage, DeliveryReceipt, MailTransport, MailTransportJob, TransportCheck, TransportSettings } from '../transport';
import { composedHtml } from '../delivery';
import { makeDefaultTransport, TransportRegistry } from '../transport';
import { extractCodes, extractLinks } from './email-content.extract';
import type { TestOutbox } from './test-outbox';
import type { CapturedEmail } from './test-outbox.types';

/** A transport that keeps each message in the outbox instead of sending it, and reports it accepted. */
export class OutboxTransport implements MailTransport {
  readonly description = 'test outbox';

  constructor(private readonly outbox: TestOutbox) {}

  async deliver(message: MailMessage, job: MailTransportJob): Promise<DeliveryReceipt> {
    // The worker hands over the subject, text and its own From as strings.
    const subject = message.subject as string;
    const html = composedHtml(message);
    const text = message.text as string;
    const email: CapturedEmail = {
      id: job.id,
      template: job.template,
      locale: job.locale,
      tenant: job.tenant,
      to: Object.freeze({ ...job.to }),
      from: message.from as string,
      replyTo: message.replyTo as string | undefined,
      subject,
      html,
      text,
      headers: Object.freeze({ ...(message.headers as Record<string, string> | undefined) }),
      messageId: message.messageId as string,
      context: Object.freeze({ ...job.context }) as CapturedEmail['context'],
      links: Object.freeze(extractLinks(html)),
      codes: Object.freeze(extractCodes(`${subject}\n${text}`)),
    };
    this.outbox.record(Object.freeze(email));
    return { messageId: email.messageId, accepted: [job.to.address], rejected: [] };
  }

  async verify(): Promise<TransportCheck> {
    return { ok: true };
  }

  close(): void {}
}

/**
 * Every send, through the default transport or a tenant's, goes to the outbox; tenant settings are not
 * resolved for it, so a test needs no tenant database. `diagnoseTransport()` still examines the
 * configured transports: it is the one call that talks to a server (its pools open no connection before).
 */
export function outboxTransportRegistry(outbox: TestOutbox, settings: TransportSettings, probeInterval: number): TransportRegistry {
  const capturing = new OutboxTransport(outbox);
  return new TransportRegistry(makeDefaultTransport(settings, probeInterval), settings.tenants, {
    capture: { transport: capturing, description: capturing.description },
  });
}
