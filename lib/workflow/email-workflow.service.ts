import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import type { DeliverabilityDiagnosis } from '../deliverability';
import type { TransportDiagnosis } from '../diagnostics';
import type { EmailQueueStatus } from '../queue';
import type { RenderedEmail, TemplateFinding, TemplatePreview } from '../templates';
import type { TokenPurpose } from '../tokens';
import { AccountFlowSupport, EmailChangeFlow, EmailVerificationFlow, NewSignInNotice, PasswordResetFlow, SignInFlow } from './flows';
import type { NewSignInDetails, NewSignInNoticeResult } from './flows';
import { checkDate, checkFunction, checkObject, checkOneOf, checkString, checkUser } from './argument.checks';
import { DeliverabilityDiagnostics } from './deliverability.diagnostics';
import { DeliveryDiagnostics } from './delivery.diagnostics';
import type { RenderEmailRequest, SendEmailRequest, SendEmailResult, TokenInspection } from './email-workflow.types';
import { EmailSendPipeline } from './send.pipeline';
import { TemplateChecks } from './template.checks';
import { TemplatePreviews } from './template.previews';
import type { EmailUser } from './user-directory';

const TOKEN_PURPOSES: readonly TokenPurpose[] = ['verify-email', 'reset-password', 'sign-in', 'confirm-email-change', 'revert-email-change'];

/** The fields send() and render() share; the recipient is the transport's check, the context's JSON-safety the pipeline's. */
function checkRequest(method: 'send' | 'render', request: unknown): asserts request is Record<string, unknown> {
  checkObject(method, 'request', request);
  checkString(method, 'request.template', request.template);
  checkString(method, 'request.locale', request.locale, 'optional');
  checkObject(method, 'request.context', request.context, true);
}

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
    private readonly emailChange: EmailChangeFlow,
    private readonly newSignIn: NewSignInNotice,
    private readonly signIn: SignInFlow,
    private readonly checks: TemplateChecks,
    private readonly deliverability: DeliverabilityDiagnostics,
  ) {}

  /** Renders a template without sending it. */
  render(request: RenderEmailRequest): RenderedEmail {
    checkRequest('render', request);
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
   * Development aid: the message checks of every template and locale, rendered from disk with sample data
   * as `previewTemplates()` does and composed as a send would. Each finding is a warning with its fix.
   */
  checkTemplates(): Promise<TemplateFinding[]> {
    return this.checks.check();
  }

  /**
   * Queues an email; resolves once it is stored (in Redis with a Redis queue). A worker renders and
   * sends it, retrying transient failures. The recipient, the template's variables and hook headers
   * are checked here, before anything is queued, and the context must be JSON that survives the
   * queue unchanged (InvalidContextError names the first path that would not). A `@BeforeEmailSend` hook may cancel it: then
   * `cancelled` holds the reason and nothing is queued.
   */
  async send(request: SendEmailRequest): Promise<SendEmailResult> {
    checkRequest('send', request);
    checkString('send', 'request.tenant', request.tenant, 'optional');
    checkString('send', 'request.idempotencyKey', request.idempotencyKey, 'optional');
    // Whether the key matched an earlier job is the account flows' business, not part of the result.
    const { duplicate, ...result } = await this.pipeline.send(request);
    void duplicate;
    return result;
  }

  /** On registration: issues a verification token and queues `verify-email` with its link. */
  async startEmailVerification(user: EmailUser): Promise<SendEmailResult> {
    return this.verification.start(checkUser('startEmailVerification', 'user', user));
  }

  /**
   * Uses a verification token (once), marks the address verified, queues `welcome` and emits
   * `email.verified`. Throws InvalidTokenError (unknown, expired, used, wrong purpose).
   */
  async verifyEmail(token: string): Promise<EmailUser> {
    checkString('verifyEmail', 'token', token);
    return this.verification.verify(token);
  }

  /**
   * Uses a verification code entered with its address (once), as `verifyEmail` does a token. Every
   * refusal (wrong code, unknown address, tries spent, expired) is InvalidTokenError('invalid-code').
   */
  async verifyEmailCode(email: string, code: string): Promise<EmailUser> {
    checkString('verifyEmailCode', 'email', email);
    checkString('verifyEmailCode', 'code', code);
    return this.verification.verifyCode(email, code);
  }

  /**
   * Sends a new verification email if the address belongs to an unverified account. Resolves the
   * same way whatever the address, so it tells nobody which addresses have accounts: the look-up
   * happens after answering (with a Redis queue, in a worker, from the request stored before answering).
   */
  async resendVerification(email: string): Promise<void> {
    checkString('resendVerification', 'email', email);
    return this.verification.resend(email);
  }

  /**
   * Sends `reset-password` if the address has an account. Resolves with the same value, in the same
   * time, whether or not it does: the look-up happens after answering (with a Redis queue, in a
   * worker, from the request stored before answering, so a crash loses nothing). Rate-limited per
   * address and per IP (RateLimitedError), counted alike for known and unknown addresses.
   */
  async requestPasswordReset(email: string, options: { ip?: string } = {}): Promise<void> {
    checkString('requestPasswordReset', 'email', email);
    checkObject('requestPasswordReset', 'options', options);
    checkString('requestPasswordReset', 'options.ip', options.ip, 'optional');
    return this.passwordReset.request(email, options);
  }

  /**
   * Checks a reset token, runs `applyNewPassword` (store the new hash there), and only if it succeeds
   * uses the token up, voids the user's other reset tokens, queues `password-changed` and emits
   * `password.changed`. If the callback throws, the token stays usable.
   */
  async resetPassword(token: string, applyNewPassword: (user: EmailUser) => Promise<void>): Promise<EmailUser> {
    checkString('resetPassword', 'token', token);
    checkFunction('resetPassword', 'applyNewPassword', applyNewPassword);
    return this.passwordReset.reset(token, applyNewPassword);
  }

  /**
   * As `resetPassword`, with a reset code entered with its address. Every refusal (wrong code,
   * unknown address, tries spent, expired) is InvalidTokenError('invalid-code').
   */
  async resetPasswordWithCode(email: string, code: string, applyNewPassword: (user: EmailUser) => Promise<void>): Promise<EmailUser> {
    checkString('resetPasswordWithCode', 'email', email);
    checkString('resetPasswordWithCode', 'code', code);
    checkFunction('resetPasswordWithCode', 'applyNewPassword', applyNewPassword);
    return this.passwordReset.resetWithCode(email, code, applyNewPassword);
  }

  /**
   * Passwordless sign-in: sends `sign-in` (a link and/or code, per `flows.signIn.delivery`) if the
   * address has an account. Answers like `requestPasswordReset`: the same value in the same time
   * whatever the address (the look-up happens after answering, from a stored request with a Redis
   * queue), rate-limited per address and per IP (RateLimitedError). With a link, needs `links.signIn`
   * (FlowNotConfiguredError).
   */
  async requestSignIn(email: string, options: { ip?: string } = {}): Promise<void> {
    checkString('requestSignIn', 'email', email);
    checkObject('requestSignIn', 'options', options);
    checkString('requestSignIn', 'options.ip', options.ip, 'optional');
    return this.signIn.request(email, options);
  }

  /**
   * Uses a sign-in token (once; `inspectToken(token, 'sign-in')` checks it without using it), marks
   * the address verified and emits `email.signed-in`; resolves with the user to start a session for.
   * Throws InvalidTokenError (unknown, expired, used, wrong purpose).
   */
  async completeSignIn(token: string): Promise<EmailUser> {
    checkString('completeSignIn', 'token', token);
    return this.signIn.complete(token);
  }

  /** As `completeSignIn`, with a sign-in code entered with its address; every refusal is InvalidTokenError('invalid-code'). */
  async completeSignInWithCode(email: string, code: string): Promise<EmailUser> {
    checkString('completeSignInWithCode', 'email', email);
    checkString('completeSignInWithCode', 'code', code);
    return this.signIn.completeWithCode(email, code);
  }

  /**
   * For a signed-in user: answers alike whether or not `newEmail` has an account (RateLimitedError per
   * user). After answering (stored first with a Redis queue): if it has one, nothing is sent to anyone;
   * else `confirm-email-change` goes to `newEmail`, and `email-change-requested` to the current address
   * with a "this wasn't me" link (`flows.changeEmail.revertTtl`, 7 days). Needs `users.updateEmail`,
   * `links.confirmEmailChange` and `links.revertEmailChange` (FlowNotConfiguredError names the one missing).
   */
  async requestEmailChange(user: EmailUser, newEmail: string): Promise<void> {
    const checked = checkUser('requestEmailChange', 'user', user);
    checkString('requestEmailChange', 'newEmail', newEmail);
    return this.emailChange.request(checked, newEmail);
  }

  /**
   * Uses a token from the new inbox (once): `users.updateEmail` moves the account there, the address is
   * marked verified, every other token of the user but the revert links is voided, `email.changed` is
   * emitted. InvalidTokenError as for any token, and `expired` when the address got an account meanwhile.
   */
  async confirmEmailChange(token: string): Promise<EmailUser> {
    checkString('confirmEmailChange', 'token', token);
    return this.emailChange.confirm(token);
  }

  /**
   * Uses a "this wasn't me" token from the old inbox (once), before or after the confirmation: the old
   * address is put back and marked verified, every token of the user is voided, and
   * `email.change-reverted` is emitted: end the user's sessions and force a password reset there.
   */
  async revertEmailChange(token: string): Promise<EmailUser> {
    checkString('revertEmailChange', 'token', token);
    return this.emailChange.revert(token);
  }

  /**
   * Queues `new-sign-in`: when (the user's locale, UTC), the IP and browser, a link to `links.secureAccount`.
   * Over `flows.newSignIn.limits.perUser` nothing is sent and it resolves with `skipped` instead of
   * throwing, so a sign-in never fails because of its notice.
   */
  async notifyNewSignIn(user: EmailUser, details: NewSignInDetails = {}): Promise<NewSignInNoticeResult> {
    const checked = checkUser('notifyNewSignIn', 'user', user);
    checkObject('notifyNewSignIn', 'details', details);
    // Read once, like the user's fields: what was checked is what the notice gets.
    const { ip, userAgent, at }: NewSignInDetails = details;
    checkString('notifyNewSignIn', 'details.ip', ip, 'optional');
    checkString('notifyNewSignIn', 'details.userAgent', userAgent, 'optional');
    checkDate('notifyNewSignIn', 'details.at', at, true);
    return this.newSignIn.notify(checked, { ip, userAgent, at });
  }

  /** Whether a token is usable, without using it: for GET pages that link scanners also fetch. */
  async inspectToken(token: string, purpose: TokenPurpose): Promise<TokenInspection> {
    checkString('inspectToken', 'token', token);
    checkOneOf('inspectToken', 'purpose', purpose, TOKEN_PURPOSES);
    return this.accountFlows.inspect(token, purpose);
  }

  /**
   * Checks the SMTP server step by step (DNS, connect, TLS, greeting, login, MAIL FROM) without
   * sending anything, and says which step failed and what to change.
   */
  async diagnoseTransport(tenant?: string): Promise<TransportDiagnosis> {
    checkString('diagnoseTransport', 'tenant', tenant, 'optional');
    return this.diagnostics.diagnoseTransport(tenant);
  }

  /**
   * Sends the `test-email` template to `to` directly (not queued), diagnosing every step on the way.
   * Like real mail it runs the `@BeforeEmailSend` hooks and carries `replyTo` and their headers; a
   * hook that cancels it makes this reject with TestEmailCancelledError.
   */
  async sendTestEmail(to: string, tenant?: string): Promise<TransportDiagnosis> {
    checkString('sendTestEmail', 'to', to);
    checkString('sendTestEmail', 'tenant', tenant, 'optional');
    return this.diagnostics.sendTestEmail(to, tenant);
  }

  /**
   * Checks the DNS of the domains mail is sent from as receivers check it (SPF, DKIM key, DMARC alignment, MX of
   * the bounce domain, the SMTP host's PTR and EHLO name); each check says what to publish or change. Needs mailauth.
   */
  async diagnoseDeliverability(request: { tenant?: string } = {}): Promise<DeliverabilityDiagnosis> {
    checkObject('diagnoseDeliverability', 'request', request);
    checkString('diagnoseDeliverability', 'request.tenant', request.tenant, 'optional');
    return this.deliverability.diagnose(request.tenant);
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
