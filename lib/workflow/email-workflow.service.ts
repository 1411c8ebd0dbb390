import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import type { TransportDiagnosis } from '../diagnostics';
import type { EmailQueueStatus } from '../queue';
import type { RenderedEmail, TemplatePreview } from '../templates';
import type { TokenPurpose } from '../tokens';
import { AccountFlowSupport } from './account-flow.support';
import { DeliveryDiagnostics } from './delivery.diagnostics';
import type { RenderEmailRequest, SendEmailRequest, SendEmailResult, TokenInspection } from './email-workflow.types';
import { PasswordResetFlow } from './password-reset.flow';
import { EmailSendPipeline } from './send.pipeline';
import { TemplatePreviews } from './template.previews';
import type { EmailUser } from './user-directory';
import { EmailVerificationFlow } from './verification.flow';

/**
 * The one service an app injects: sends and renders the workflow's emails, runs the verification and
 * password-reset flows, and diagnoses delivery. Each job is done by its own provider; this names them.
 */
@Injectable()
export class EmailWorkflowService implements BeforeApplicationShutdown {
  constructor(
    private readonly pipeline: EmailSendPipeline,
    private readonly verification: EmailVerificationFlow,
    private readonly passwordReset: PasswordResetFlow,
    private readonly accountFlows: AccountFlowSupport,
    private readonly diagnostics: DeliveryDiagnostics,
    private readonly previews: TemplatePreviews,
  ) {}

  /** Renders a template without sending it. */
  render(request: RenderEmailRequest): RenderedEmail {
    return this.pipeline.render(request);
  }

  /**
   * Development aid: every template and locale compiled afresh from disk and rendered with sample
   * data, so an edited override shows without a restart. A broken file reports its error.
   */
  previewTemplates(): Promise<TemplatePreview[]> {
    return this.previews.preview();
  }

  /**
   * Queues an email; resolves once it is stored (in Redis with a Redis queue). A worker renders and
   * sends it, retrying transient failures. The recipient, the template's variables and hook headers
   * are checked here, before anything is queued. A `@BeforeEmailSend` hook may cancel it: then
   * `cancelled` holds the reason and nothing is queued.
   */
  send(request: SendEmailRequest): Promise<SendEmailResult> {
    return this.pipeline.send(request);
  }

  /** On registration: issues a verification token and queues `verify-email` with its link. */
  startEmailVerification(user: EmailUser): Promise<SendEmailResult> {
    return this.verification.start(user);
  }

  /**
   * Uses a verification token (once), marks the address verified, queues `welcome` and emits
   * `email.verified`. Throws InvalidTokenError (unknown, expired, used, wrong purpose).
   */
  verifyEmail(token: string): Promise<EmailUser> {
    return this.verification.verify(token);
  }

  /**
   * Sends a new verification email if the address belongs to an unverified account. Resolves the
   * same way whatever the address, so it tells nobody which addresses have accounts: the look-up
   * happens after answering (with a Redis queue, in a worker, from the request stored before answering).
   */
  resendVerification(email: string): Promise<void> {
    return this.verification.resend(email);
  }

  /**
   * Sends `reset-password` if the address has an account. Resolves with the same value, in the same
   * time, whether or not it does: the look-up happens after answering (with a Redis queue, in a
   * worker, from the request stored before answering, so a crash loses nothing). Rate-limited per
   * address and per IP (RateLimitedError), counted alike for known and unknown addresses.
   */
  requestPasswordReset(email: string, options: { ip?: string } = {}): Promise<void> {
    return this.passwordReset.request(email, options);
  }

  /**
   * Checks a reset token, runs `applyNewPassword` (store the new hash there), and only if it succeeds
   * uses the token up, voids the user's other reset tokens, queues `password-changed` and emits
   * `password.changed`. If the callback throws, the token stays usable.
   */
  resetPassword(token: string, applyNewPassword: (user: EmailUser) => Promise<void>): Promise<EmailUser> {
    return this.passwordReset.reset(token, applyNewPassword);
  }

  /** Whether a token is usable, without using it: for GET pages that link scanners also fetch. */
  inspectToken(token: string, purpose: TokenPurpose): Promise<TokenInspection> {
    return this.accountFlows.inspect(token, purpose);
  }

  /**
   * Checks the SMTP server step by step (DNS, connect, TLS, greeting, login, MAIL FROM) without
   * sending anything, and says which step failed and what to change.
   */
  diagnoseTransport(tenant?: string): Promise<TransportDiagnosis> {
    return this.diagnostics.diagnoseTransport(tenant);
  }

  /**
   * Sends the `test-email` template to `to` directly (not queued), diagnosing every step on the way.
   * Like real mail it runs the `@BeforeEmailSend` hooks and carries `replyTo` and their headers; a
   * hook that cancels it makes this reject with TestEmailCancelledError.
   */
  sendTestEmail(to: string, tenant?: string): Promise<TransportDiagnosis> {
    return this.diagnostics.sendTestEmail(to, tenant);
  }

  /** Queue depth, failures and pause state, for health checks. */
  queueStatus(): Promise<EmailQueueStatus> {
    return this.diagnostics.queueStatus();
  }

  /** Lets look-ups started in process by requestPasswordReset / resendVerification finish before the queue closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.accountFlows.settle();
  }
}
