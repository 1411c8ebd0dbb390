import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { MessageRefs } from '../crypto';
import { InvalidHeaderError } from '../errors';
import { EmailEvent, EmailEventBus } from '../events';
import type { OutgoingEmail } from '../events';
import { EMAIL_QUEUE } from '../queue';
import { MessageComposer } from '../delivery';
import type { EmailQueue } from '../queue';
import type { ComposableEmail } from '../delivery';
import { EmailSuppressions, SUPPRESSION_SETTINGS } from '../suppression';
import type { SuppressionSettings } from '../suppression';
import type { RenderedEmail } from '../templates';
import { TransportRegistry, normaliseRecipient } from '../transport';
import { checkJsonSafeContext } from './json-safe-context';
import type { RenderEmailRequest, SendEmailRequest, SendEmailResult } from './email-workflow.types';

const HEADER_NAME = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
/** Headers the workflow sets itself; a hook may not replace them. */
const RESERVED_HEADERS = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'subject',
  'message-id',
  'reply-to',
  'date',
  'sender',
  'mime-version',
  'return-path',
  'received',
  'dkim-signature',
]);

/** The public methods that take a tenant. */
type TenantMethod = 'send' | 'sendTestEmail' | 'diagnoseTransport';

/** An email after its before-send hooks: ready to queue or send, or cancelled by a hook. */
type PreparedEmail = { ready: ComposableEmail } | { cancelled: { reason: string }; messageId: string };

/**
 * The way every email goes out: recipient checked, the suppression list consulted (sends only),
 * before-send hooks run, their headers checked, the template's variables checked, Message-ID fixed,
 * then queued.
 */
@Injectable()
export class EmailSendPipeline {
  constructor(
    private readonly transports: TransportRegistry,
    private readonly composer: MessageComposer,
    @Inject(EMAIL_QUEUE) private readonly queue: EmailQueue,
    private readonly events: EmailEventBus,
    private readonly suppressions: EmailSuppressions,
    @Inject(SUPPRESSION_SETTINGS) private readonly suppression: SuppressionSettings,
    private readonly refs: MessageRefs,
  ) {}

  /** Renders a template, brand filled in, without sending it. */
  render(request: RenderEmailRequest): RenderedEmail {
    return this.composer.render(request.template, request.context, request.locale);
  }

  /**
   * Queues an email once its hooks let it go; see `EmailWorkflowService.send`. `duplicate` is set when
   * the idempotency key matched an earlier job, so nothing new was queued.
   */
  async send(request: SendEmailRequest): Promise<SendEmailResult & { duplicate?: true }> {
    const prepared = await this.prepare(request, 'send');
    if ('cancelled' in prepared) return { id: '', messageId: prepared.messageId, cancelled: prepared.cancelled };
    const email = prepared.ready;
    const { id, duplicate } = await this.queue.enqueue({ ...email, tenant: request.tenant }, request.idempotencyKey);
    if (!duplicate) this.events.emit(EmailEvent.Queued, { id, tenant: request.tenant, messageId: email.messageId, template: email.template, to: email.to.address, locale: email.locale });
    return duplicate ? { id, messageId: email.messageId, duplicate } : { id, messageId: email.messageId };
  }

  /**
   * Everything before the queue: checks the recipient, runs the before-send hooks, checks the headers
   * they set and that the variables render the template, and fixes the Message-ID. Throws the typed
   * error of the first check that fails, or the error of a hook that throws. `method` is the public
   * method it serves, named in the error for a tenant without a transport.
   */
  async prepare(request: SendEmailRequest, method: TenantMethod): Promise<PreparedEmail> {
    const to = normaliseRecipient(request.to);
    // Checked before anything is queued, the same for both queues: what the Redis queue's JSON would
    // change must fail here, not for good in a worker.
    checkJsonSafeContext(request.context);
    this.assertTransportFor(request.tenant, method);
    let cancelReason: string | undefined;
    const outgoing: OutgoingEmail = {
      template: request.template,
      // A copy: the validated recipient is what gets sent, whatever a hook does to this one.
      to: Object.freeze({ ...to }),
      locale: request.locale,
      context: { ...request.context },
      headers: {},
      cancel: (reason) => (cancelReason = reason),
    };
    // Unguessable either way: a bounce that lost its envelope tag is matched by Message-ID (docs/bounces.md).
    const messageId = this.composer.messageIdFor(request.idempotencyKey ? this.refs.messageIdFor(request.idempotencyKey) : randomUUID());
    // Not for a test email: whoever sends one wants the server's own answer for that address.
    if (method === 'send' && !this.suppression.bypassTemplates.has(request.template)) {
      const suppressed = await this.suppressions.find(to.address);
      if (suppressed) {
        const { reason, code, suppressedAt } = suppressed;
        this.events.emit(EmailEvent.Suppressed, { messageId, template: request.template, tenant: request.tenant, to: to.address, reason, code, suppressedAt });
        return { cancelled: { reason: 'suppressed' }, messageId };
      }
    }
    await this.events.runBeforeSend(outgoing, () => cancelReason !== undefined);
    if (cancelReason !== undefined) {
      if (method === 'send') this.events.emit(EmailEvent.Cancelled, { messageId, template: request.template, tenant: request.tenant, to: to.address, reason: cancelReason });
      return { cancelled: { reason: cancelReason }, messageId };
    }
    // Again after the hooks, which may have added values of their own.
    checkJsonSafeContext(outgoing.context);
    const headers = checkHeaders(outgoing.headers);
    this.composer.assertRenderable(request.template, outgoing.context, request.locale);
    return { ready: { template: request.template, locale: request.locale, to, context: outgoing.context, messageId, headers } };
  }

  /** Refuses a tenant up front when there is no `transportResolver` to give it a transport. */
  assertTransportFor(tenant: string | undefined, method: TenantMethod): void {
    this.transports.assertServes(tenant, method);
  }
}

function checkHeaders(headers: Record<string, string>): Record<string, string> | undefined {
  const entries = Object.entries(headers);
  for (const [name, value] of entries) {
    const lower = name.toLowerCase();
    const reserved = RESERVED_HEADERS.has(lower) || lower.startsWith('content-');
    if (!HEADER_NAME.test(name) || reserved || typeof value !== 'string' || /[\r\n]/.test(value)) {
      throw new InvalidHeaderError(name);
    }
  }
  return entries.length > 0 ? headers : undefined;
}
