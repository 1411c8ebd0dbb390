import type { MailMessage } from '../transport';
import type { EmailTemplates, RenderedEmail, TemplateContext, TemplateRegistry, ResolvedBrand } from '../templates';
import type { MessageRefs } from '../crypto';
import type { EmailJob } from './email-job';
import type { HtmlEncoding } from './sender.options';

/** What every email carries, whoever sends it. */
interface MessageSettings {
  /** The From header, e.g. `Acme <no-reply@acme.com>`. */
  from: string;
  replyTo?: string;
  /** Content-Transfer-Encoding of the HTML part. */
  htmlEncoding: HtmlEncoding;
  /** The bare address of `from`: the envelope sender, and the domain of every Message-ID. */
  senderAddress: string;
  /** Every template gets it as `brand`. */
  brand: ResolvedBrand;
  /** `bounces.address`: the envelope sender becomes `<local>+<tag>@<domain>` (VERP), the tag made by `refs`. */
  bounceAddress?: { local: string; domain: string; refs: MessageRefs };
}

/** An email whose recipient, variables, headers and Message-ID are settled: a queued job, or the test email. */
export type ComposableEmail = Omit<EmailJob, 'tenant'>;

/** A message composed for delivery, and the stored template's version when `templates.store` supplied it. */
export interface ComposedDelivery {
  message: MailMessage;
  templateVersion?: string;
}

/**
 * Turns an email into the message nodemailer sends. The one place that knows what goes into it, so
 * the delivery worker and the test email of `sendTestEmail()` send the same kind of message.
 */
export class MessageComposer {
  /** `sources`: the templates of every delivery, the app's store first (see EmailTemplates); without it, the registry's. */
  constructor(
    private readonly templates: TemplateRegistry,
    private readonly settings: MessageSettings,
    private readonly sources?: EmailTemplates,
  ) {}

  /** The bare address of `from`: the envelope sender, and the domain of every Message-ID. */
  get senderAddress(): string {
    return this.settings.senderAddress;
  }

  /** Renders a template with the brand filled in. Throws the template's typed error when it cannot. */
  render(template: string, context: TemplateContext = {}, locale?: string): RenderedEmail {
    return this.templates.render(template, this.contextFor(context), locale);
  }

  /** Throws the template's typed error when the variables cannot render it, without rendering it. */
  assertRenderable(template: string, context: TemplateContext, locale?: string): void {
    // A template only the app's store has is checked when it is delivered: the store may not have it yet.
    if (this.sources?.hasStore && !this.templates.has(template)) return;
    this.templates.resolve(template, locale).assertRenderable(this.contextFor(context));
  }

  /** The message for nodemailer: rendered, addressed, with its Message-ID and the headers hooks set. */
  compose(email: ComposableEmail): MailMessage {
    return this.composeRendered(email, this.render(email.template, email.context, email.locale));
  }

  /**
   * The message a delivery sends: from the app's template store when it has a valid template for the
   * email (see EmailTemplates), else from `templates.dir` or the built-in, as `compose()`.
   */
  async composeForDelivery(email: ComposableEmail): Promise<ComposedDelivery> {
    if (!this.sources?.hasStore) return { message: this.compose(email) };
    const rendered = await this.sources.render(email.template, this.contextFor(email.context), email.locale);
    const message = this.composeRendered(email, rendered);
    return rendered.version === undefined ? { message } : { message, templateVersion: rendered.version };
  }

  /** The message for an email already rendered, as `compose()` makes it: the message checks compose previews this way. */
  composeRendered(email: Pick<ComposableEmail, 'to' | 'messageId' | 'headers'>, rendered: RenderedEmail): MailMessage {
    return {
      from: this.settings.from,
      replyTo: this.settings.replyTo,
      to: email.to,
      subject: rendered.subject,
      // Named here, nodemailer skips scanning the whole HTML for the encoding it would pick, twice per email.
      html: { content: rendered.html, contentTransferEncoding: this.settings.htmlEncoding },
      text: rendered.text,
      messageId: email.messageId,
      headers: email.headers,
      ...(this.settings.bounceAddress && { envelope: { from: this.envelopeSender(email.messageId), to: [email.to.address] } }),
    };
  }

  /** A new Message-ID, `<local@domain of from>`: every email's, made once before it is queued. */
  messageIdFor(local: string): string {
    return `<${local}@${this.settings.senderAddress.split('@')[1]}>`;
  }

  /**
   * The envelope sender (Return-Path): `bounces.address` tagged with the email's envelope tag, or the From
   * address. The tag names the email under a MAC, so a bounce for it proves which email it is about.
   */
  envelopeSender(messageId: string): string {
    const bounce = this.settings.bounceAddress;
    return bounce ? `${bounce.local}+${bounce.refs.tagOf(messageId)}@${bounce.domain}` : this.settings.senderAddress;
  }

  private contextFor(context: TemplateContext): TemplateContext {
    return { ...context, brand: this.settings.brand };
  }
}

/** The HTML of a message `compose()` made: a content object, so that its transfer encoding travels with it. */
export function composedHtml(message: MailMessage): string {
  return (message.html as { content: string }).content;
}
