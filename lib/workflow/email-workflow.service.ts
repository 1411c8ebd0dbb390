import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import addressparser from 'nodemailer/lib/addressparser';
import { InvalidRecipientError } from '../errors';
import { EMAIL_WORKFLOW_RESOLVED_OPTIONS } from '../module/email-workflow.constants';
import type { ResolvedEmailWorkflowOptions } from '../module/resolved-options';
import { RenderedEmail, TemplateContext, TemplateRegistry } from '../templates';
import { SmtpTransport } from '../transport';
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
    private readonly transport: SmtpTransport,
  ) {
    this.messageIdDomain = addressparser(options.from, { flatten: true })[0].address.split('@')[1];
  }

  /** Renders a template without sending it. */
  render(request: RenderEmailRequest): RenderedEmail {
    return this.templates.render(request.template, this.contextFor(request.context), request.locale);
  }

  /**
   * Renders a template and sends it. The recipient and the template variables are checked
   * before any SMTP traffic.
   */
  async send(request: SendEmailRequest): Promise<SendEmailResult> {
    const to = normaliseRecipient(request.to);
    const rendered = this.render(request);
    return this.transport.deliver({
      from: this.options.from,
      replyTo: this.options.replyTo,
      to,
      subject: rendered.subject,
      html: rendered.html,
      text: rendered.text,
      messageId: `<${randomUUID()}@${this.messageIdDomain}>`,
    });
  }

  private contextFor(context: TemplateContext = {}): TemplateContext {
    return { ...context, brand: this.options.brand };
  }
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
