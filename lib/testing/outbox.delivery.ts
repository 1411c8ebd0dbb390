import { AsyncLocalStorage } from 'node:async_hooks';
import type Mail from 'nodemailer/lib/mailer';
import { composedHtml, EmailDeliveryWorker } from '../queue';
import type { DeliveryTry } from '../queue/delivery.worker';
import { SmtpTransport, TransportRegistry } from '../transport';
import type { DeliveryReceipt, NodemailerSmtpOptions, ResolvedTransport, TransportSettings } from '../transport';
import { extractCodes, extractLinks } from './email-content.extract';
import type { TestOutbox } from './test-outbox';
import type { CapturedEmail } from './test-outbox.types';

/**
 * The try being delivered. The transport sees only the finished message; the template, locale, tenant
 * and job id it came from ride along in async context, which stays right however many tries run at once.
 */
const deliveryInProgress = new AsyncLocalStorage<DeliveryTry>();

/** The production worker, unchanged, except that each try runs with its job in async context. */
export class OutboxDeliveryWorker extends EmailDeliveryWorker {
  override deliver(attempt: DeliveryTry): Promise<DeliveryReceipt> {
    return deliveryInProgress.run(attempt, () => super.deliver(attempt));
  }
}

/** A transport that keeps each message in the outbox instead of sending it, and reports it accepted. */
class OutboxTransport extends SmtpTransport {
  constructor(
    private readonly outbox: TestOutbox,
    options: NodemailerSmtpOptions,
  ) {
    // Creating the nodemailer transport opens no connection, and `deliver` below never uses it.
    super(options);
  }

  override async deliver(message: Mail.Options): Promise<DeliveryReceipt> {
    const attempt = deliveryInProgress.getStore();
    if (!attempt) throw new Error('The test outbox transport was used outside a delivery worker try.');
    const { id, job } = attempt;
    // The worker hands over the subject, text and its own From as strings.
    const subject = message.subject as string;
    const html = composedHtml(message);
    const text = message.text as string;
    const email: CapturedEmail = {
      id,
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
      context: Object.freeze({ ...job.context }),
      links: Object.freeze(extractLinks(html)),
      codes: Object.freeze(extractCodes(`${subject}\n${text}`)),
    };
    this.outbox.record(Object.freeze(email));
    return { messageId: email.messageId, accepted: [job.to.address], rejected: [] };
  }
}

/**
 * Every send, through the default transport or a tenant's, goes to the outbox; tenant settings are not
 * resolved for it, so a test needs no tenant database. `diagnoseTransport()` still examines the
 * configured transports: it is the one call that talks to a server.
 */
export class OutboxTransportRegistry extends TransportRegistry {
  private readonly capturing: ResolvedTransport;

  constructor(outbox: TestOutbox, { default: resolved, tenants }: TransportSettings) {
    const capturing = {
      transport: new OutboxTransport(outbox, resolved.options),
      options: resolved.options,
      description: resolved.description,
    };
    super(capturing, tenants);
    this.capturing = capturing;
  }

  override use<T>(_tenant: string | undefined, send: (resolved: ResolvedTransport) => Promise<T>): Promise<T> {
    return send(this.capturing);
  }
}
