import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import addressparser from 'nodemailer/lib/addressparser';
import { InvalidRecipientError } from '../errors';
import { EMAIL_WORKFLOW_RESOLVED_OPTIONS } from '../module/email-workflow.constants';
import type { ResolvedEmailWorkflowOptions } from '../module/resolved-options';
import { EmailEvent, EmailEvents } from '../events';
import { EMAIL_QUEUE } from '../queue';
import type { EmailQueue } from '../queue';
import { RenderedEmail, TemplateContext, TemplateRegistry } from '../templates';
import { isValidAddress, toSafeDisplayName } from './address';
import type { EmailRecipient, RenderEmailRequest, SendEmailRequest, SendEmailResult } from './email-workflow.types';

const MAX_ADDRESS_LENGTH = 254;

/** Sends and renders the workflow's emails. Inject it anywhere the module is imported. */
@Injectable()
export class EmailWorkflowService {
  private readonly messageIdDomain: string;

  constructor(
    @Inject(EMAIL_WORKFLOW_RESOLVED_OPTIONS) private readonly options: ResolvedEmailWorkflowOptions,
    private readonly templates: TemplateRegistry,
    @Inject(EMAIL_QUEUE) private readonly queue: EmailQueue,
    private readonly events: EmailEvents,
  ) {
    this.messageIdDomain = addressparser(options.from, { flatten: true })[0].address.split('@')[1];
  }

  /** Renders a template without sending it. */
  render(request: RenderEmailRequest): RenderedEmail {
    return this.templates.render(request.template, this.contextFor(request.context), request.locale);
  }

  /**
   * Queues an email; resolves once it is stored (in Redis with a Redis queue). A worker renders and
   * sends it, retrying transient failures. The recipient and the template's variables are checked
   * here, before anything is queued.
   */
  async send(request: SendEmailRequest): Promise<SendEmailResult> {
    const to = normaliseRecipient(request.to);
    const context = request.context ?? {};
    this.templates.resolve(request.template, request.locale).assertRenderable(this.contextFor(context));
    const messageId = `<${request.idempotencyKey ? digest(request.idempotencyKey) : randomUUID()}@${this.messageIdDomain}>`;
    const { id } = await this.queue.enqueue(
      { template: request.template, locale: request.locale, to, context, messageId },
      request.idempotencyKey,
    );
    this.events.emit(EmailEvent.Queued, { id, messageId, template: request.template, to: to.address });
    return { id, messageId };
  }

  private contextFor(context: TemplateContext = {}): TemplateContext {
    return { ...context, brand: this.options.brand };
  }
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 32);
}

function normaliseRecipient(recipient: EmailRecipient): { address: string; name: string } {
  const { address, name } = typeof recipient === 'string' ? { address: recipient, name: '' } : recipient;
  if (typeof address !== 'string' || address.length === 0) throw new InvalidRecipientError('the address is empty');
  if (/[\r\n]/.test(address)) throw new InvalidRecipientError('the address contains a line break');
  if (address.length > MAX_ADDRESS_LENGTH) {
    throw new InvalidRecipientError(`the address is ${address.length} characters long; the limit is ${MAX_ADDRESS_LENGTH}`);
  }
  if (/[,;]/.test(address)) throw new InvalidRecipientError('the address lists more than one recipient');
  if (!isValidAddress(address)) throw new InvalidRecipientError(`"${address}" is not a valid email address`);
  return { address, name: toSafeDisplayName(name ?? '') };
}
