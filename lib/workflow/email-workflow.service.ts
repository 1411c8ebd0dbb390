import { BeforeApplicationShutdown, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import addressparser from 'nodemailer/lib/addressparser';
import {
  InvalidHeaderError,
  InvalidOptionsError,
  InvalidTokenError,
  RateLimitedError,
  UserDirectoryMissingError,
} from '../errors';
import { EmailEvent, EmailEvents, OutgoingEmail } from '../events';
import { EMAIL_WORKFLOW_RESOLVED_OPTIONS } from '../module/email-workflow.constants';
import { templateSettings } from '../module/resolved-options';
import type { ResolvedEmailWorkflowOptions } from '../module/resolved-options';
import { EMAIL_QUEUE } from '../queue';
import type { EmailQueue, EmailQueueStatus } from '../queue';
import { diagnoseSmtp } from '../diagnostics';
import type { TransportDiagnosis } from '../diagnostics';
import { loadNodemailer, TransportRegistry } from '../transport';
import { previewTemplates, RenderedEmail, sampleContextFor, TemplateContext, TemplatePreview, TemplateRegistry } from '../templates';
import { EMAIL_RATE_LIMITER, EmailTokens, RateLimitRule, RedeemableToken, TokenPurpose } from '../tokens';
import type { RateLimiter } from '../tokens';
import { normaliseRecipient } from './address';
import type {
  RenderEmailRequest,
  SendEmailRequest,
  SendEmailResult,
  TokenInspection,
} from './email-workflow.types';
import { EMAIL_USER_DIRECTORY } from './user-directory';
import type { EmailUser, EmailUserDirectory } from './user-directory';

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

/** Sends and renders the workflow's emails, and runs the verification and password-reset flows. */
@Injectable()
export class EmailWorkflowService implements BeforeApplicationShutdown {
  private readonly logger = new Logger('EmailWorkflow');
  private readonly messageIdDomain: string;
  private readonly senderAddress: string;
  private readonly appOrigin: string;
  private readonly background = new Set<Promise<void>>();

  constructor(
    @Inject(EMAIL_WORKFLOW_RESOLVED_OPTIONS) private readonly options: ResolvedEmailWorkflowOptions,
    private readonly templates: TemplateRegistry,
    @Inject(EMAIL_QUEUE) private readonly queue: EmailQueue,
    private readonly events: EmailEvents,
    private readonly tokens: EmailTokens,
    @Inject(EMAIL_RATE_LIMITER) private readonly rateLimiter: RateLimiter,
    private readonly transports: TransportRegistry,
    @Optional() @Inject(EMAIL_USER_DIRECTORY) private readonly injectedDirectory?: EmailUserDirectory,
  ) {
    this.senderAddress = addressparser(options.from, { flatten: true })[0].address;
    this.messageIdDomain = this.senderAddress.split('@')[1];
    this.appOrigin = new URL(options.links.verifyEmail.replace('{token}', 'token')).origin;
  }

  /** Renders a template without sending it. */
  render(request: RenderEmailRequest): RenderedEmail {
    return this.templates.render(request.template, this.contextFor(request.context), request.locale);
  }

  /**
   * Development aid: every template and locale compiled afresh from disk and rendered with sample
   * data, so an edited override shows without a restart. A broken file reports its error.
   */
  previewTemplates(): Promise<TemplatePreview[]> {
    return previewTemplates(templateSettings(this.options), (template) => sampleContextFor(template, { ...this.options.brand }));
  }

  /**
   * Queues an email; resolves once it is stored (in Redis with a Redis queue). A worker renders and
   * sends it, retrying transient failures. The recipient, the template's variables and hook headers
   * are checked here, before anything is queued. A `@BeforeEmailSend` hook may cancel it: then
   * `cancelled` holds the reason and nothing is queued.
   */
  async send(request: SendEmailRequest): Promise<SendEmailResult> {
    const to = normaliseRecipient(request.to);
    if (request.tenant !== undefined && !this.options.tenants) {
      throw new InvalidOptionsError([
        { path: 'transportResolver', problem: `is not set, so send({ tenant: "${request.tenant}" }) has no transport`, fix: 'set transportResolver, or send without tenant' },
      ]);
    }
    let cancelReason: string | undefined;
    const outgoing: OutgoingEmail = {
      template: request.template,
      // A copy: the validated recipient is what gets queued, whatever a hook does to this one.
      to: Object.freeze({ ...to }),
      locale: request.locale,
      context: { ...request.context },
      headers: {},
      cancel: (reason) => (cancelReason = reason),
    };
    const messageId = `<${request.idempotencyKey ? digest(request.idempotencyKey) : randomUUID()}@${this.messageIdDomain}>`;
    await this.events.runBeforeSend(outgoing, () => cancelReason !== undefined);
    if (cancelReason !== undefined) return { id: '', messageId, cancelled: { reason: cancelReason } };
    const headers = checkHeaders(outgoing.headers);
    this.templates.resolve(request.template, request.locale).assertRenderable(this.contextFor(outgoing.context));
    const { id, duplicate } = await this.queue.enqueue(
      { template: request.template, locale: request.locale, to, context: outgoing.context, messageId, headers, tenant: request.tenant },
      request.idempotencyKey,
    );
    if (!duplicate) this.events.emit(EmailEvent.Queued, { id, tenant: request.tenant, messageId, template: request.template, to: to.address });
    return { id, messageId };
  }

  /** On registration: issues a verification token and queues `verify-email` with its link. */
  async startEmailVerification(user: EmailUser): Promise<SendEmailResult> {
    const { token } = await this.tokens.issue(user, 'verify-email');
    const result = await this.send({
      template: 'verify-email',
      to: { address: user.email, name: user.name ?? '' },
      locale: user.locale,
      context: { name: user.name, link: this.linkFor('verify-email', token), expiresIn: humanDuration(this.options.tokens.verifyEmailTtl) },
    });
    if (!result.cancelled) this.events.emit(EmailEvent.VerificationRequested, { userId: user.id, email: user.email });
    return result;
  }

  /**
   * Uses a verification token (once), marks the address verified, queues `welcome` and emits
   * `email.verified`. Throws InvalidTokenError (unknown, expired, used, wrong purpose).
   */
  async verifyEmail(token: string): Promise<EmailUser> {
    const directory = this.requireDirectory();
    const { user, record } = await this.tokens.redeem(token, 'verify-email', async (redeemed) => {
      const found = await directory.findById(redeemed.userId);
      if (!found || !sameAddress(found.email, redeemed.email)) throw new InvalidTokenError('expired');
      await directory.markEmailVerified(found.id);
      return { user: found, record: redeemed };
    });
    await this.voidOtherTokens(record);
    await this.sendFollowUp(user, 'welcome', { name: user.name, link: this.appOrigin });
    this.events.emit(EmailEvent.EmailVerified, { userId: user.id, email: user.email });
    return { ...user, emailVerified: true };
  }

  /**
   * Sends a new verification email if the address belongs to an unverified account. Resolves the
   * same way whatever the address, so it tells nobody which addresses have accounts.
   */
  async resendVerification(email: string): Promise<void> {
    const address = normaliseAddress(email);
    this.requireDirectory();
    await this.limit(`verify-address:${digest(address)}`, this.options.rateLimits.verificationPerAddress);
    this.afterAnswering(async () => {
      const user = await this.requireDirectory().findByEmail(address);
      if (user && !user.emailVerified) await this.startEmailVerification(user);
    });
  }

  /**
   * Sends `reset-password` if the address has an account. Resolves with the same value, in the same
   * time, whether or not it does: the look-up happens after answering. Rate-limited per address and
   * per IP (RateLimitedError), counted alike for known and unknown addresses.
   */
  async requestPasswordReset(email: string, options: { ip?: string } = {}): Promise<void> {
    const address = normaliseAddress(email);
    this.requireDirectory();
    await this.limit(`reset-address:${digest(address)}`, this.options.rateLimits.passwordResetPerAddress);
    if (options.ip) await this.limit(`reset-ip:${digest(options.ip)}`, this.options.rateLimits.passwordResetPerIp);
    this.afterAnswering(async () => {
      const user = await this.requireDirectory().findByEmail(address);
      if (!user) return;
      const { token } = await this.tokens.issue(user, 'reset-password');
      const result = await this.send({
        template: 'reset-password',
        to: { address: user.email, name: user.name ?? '' },
        locale: user.locale,
        context: { name: user.name, link: this.linkFor('reset-password', token), expiresIn: humanDuration(this.options.tokens.resetPasswordTtl) },
      });
      if (!result.cancelled) this.events.emit(EmailEvent.PasswordResetRequested, { userId: user.id, email: user.email, ip: options.ip });
    });
  }

  /**
   * Checks a reset token, runs `applyNewPassword` (store the new hash there), and only if it succeeds
   * uses the token up, voids the user's other reset tokens, queues `password-changed` and emits
   * `password.changed`. If the callback throws, the token stays usable.
   */
  async resetPassword(token: string, applyNewPassword: (user: EmailUser) => Promise<void>): Promise<EmailUser> {
    const directory = this.requireDirectory();
    const { user, record } = await this.tokens.redeem(token, 'reset-password', async (redeemed) => {
      const found = await directory.findById(redeemed.userId);
      if (!found || !sameAddress(found.email, redeemed.email)) throw new InvalidTokenError('expired');
      await applyNewPassword(found);
      return { user: found, record: redeemed };
    });
    await this.voidOtherTokens(record);
    await this.sendFollowUp(user, 'password-changed', { name: user.name, changedAt: new Date().toUTCString() });
    this.events.emit(EmailEvent.PasswordChanged, { userId: user.id, email: user.email });
    return user;
  }

  /** Whether a token is usable, without using it: for GET pages that link scanners also fetch. */
  async inspectToken(token: string, purpose: TokenPurpose): Promise<TokenInspection> {
    try {
      const record = await this.tokens.inspect(token, purpose);
      return { valid: true, expiresAt: new Date(record.expiresAt) };
    } catch (error) {
      if (error instanceof InvalidTokenError) return { valid: false, reason: error.reason };
      throw error;
    }
  }

  /**
   * Checks the SMTP server step by step (DNS, connect, TLS, greeting, login, MAIL FROM) without
   * sending anything, and says which step failed and what to change.
   */
  async diagnoseTransport(tenant?: string): Promise<TransportDiagnosis> {
    const { options, description } = await this.transports.get(tenant);
    return diagnoseSmtp(options, description, { from: this.senderAddress });
  }

  /** Sends the `test-email` template to `to` directly (not queued), diagnosing every step on the way. */
  async sendTestEmail(to: string, tenant?: string): Promise<TransportDiagnosis> {
    const recipient = normaliseRecipient(to);
    const { options, description } = await this.transports.get(tenant);
    const rendered = this.render({ template: 'test-email' });
    // A stream transport builds the exact bytes a real send would, DKIM signature included.
    const built = await loadNodemailer().createTransport({ streamTransport: true, buffer: true, dkim: options.dkim }).sendMail({
      from: this.options.from,
      to: recipient.address,
      subject: rendered.subject,
      html: rendered.html,
      text: rendered.text,
      messageId: `<${randomUUID()}@${this.messageIdDomain}>`,
    });
    const message = built.message as Buffer;
    return diagnoseSmtp(options, description, { from: this.senderAddress, to: recipient.address, message });
  }

  /** Queue depth, failures and pause state, for health checks. */
  queueStatus(): Promise<EmailQueueStatus> {
    return this.queue.status();
  }

  /** Lets look-ups started by requestPasswordReset / resendVerification finish before the queue closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.allSettled(this.background);
  }

  private contextFor(context: TemplateContext = {}): TemplateContext {
    return { ...context, brand: this.options.brand };
  }

  private linkFor(purpose: TokenPurpose, token: string): string {
    const template = purpose === 'verify-email' ? this.options.links.verifyEmail : this.options.links.resetPassword;
    return template.replace('{token}', encodeURIComponent(token));
  }

  private requireDirectory(): EmailUserDirectory {
    const directory = this.options.users ?? this.injectedDirectory;
    if (!directory) throw new UserDirectoryMissingError();
    return directory;
  }

  private async limit(key: string, rule: RateLimitRule): Promise<void> {
    const verdict = await this.rateLimiter.hit(key, rule);
    if (!verdict.allowed) throw new RateLimitedError(verdict.retryAfterSeconds);
  }

  /** Runs work after the caller has its answer, so the answer cannot reveal what the work found. */
  private afterAnswering(work: () => Promise<void>): void {
    const task: Promise<void> = work()
      .catch((error: unknown) => this.logger.error(`Account email could not be queued: ${(error as Error).message}`))
      .finally(() => this.background.delete(task));
    this.background.add(task);
  }

  /** The action behind the token is done; failing to void the user's other links must not report it as failed. */
  private async voidOtherTokens(record: RedeemableToken): Promise<void> {
    try {
      await this.tokens.revokeOthers(record);
    } catch (error) {
      this.logger.error(`Other links of user ${record.userId} could not be voided: ${(error as Error).message}`);
    }
  }

  /** A follow-up email must not undo the action it follows: a queue failure is logged, not thrown. */
  private async sendFollowUp(user: EmailUser, template: string, context: TemplateContext): Promise<void> {
    try {
      await this.send({ template, to: { address: user.email, name: user.name ?? '' }, locale: user.locale, context });
    } catch (error) {
      this.logger.error(`The ${template} email to user ${user.id} could not be queued: ${(error as Error).message}`);
    }
  }
}

function digest(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 32);
}

function sameAddress(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

function normaliseAddress(email: string): string {
  return normaliseRecipient(typeof email === 'string' ? email.trim().toLowerCase() : email).address;
}

function humanDuration(seconds: number): string {
  const [value, unit] =
    seconds % 86_400 === 0 && seconds >= 172_800
      ? [seconds / 86_400, 'day']
      : seconds % 3_600 === 0
        ? [seconds / 3_600, 'hour']
        : [Math.max(1, Math.round(seconds / 60)), 'minute'];
  return `${value} ${unit}${value === 1 ? '' : 's'}`;
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

