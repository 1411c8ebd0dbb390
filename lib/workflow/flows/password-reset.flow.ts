import { Inject, Injectable } from '@nestjs/common';
import { EmailEvent, EmailEventBus } from '../../events';
import { AccountFlowSupport, normaliseAddress } from './account-flow.support';
import type { LinkEmail } from './account-flow.support';
import { countedAddress, countedIp } from './rate-limit.keys';
import type { EmailUser } from '../user-directory';
import { FLOW_SETTINGS } from './flow.options';
import type { FlowSettings } from './flow.options';
import { WORKFLOW_SETTINGS } from '../workflow.options';
import type { WorkflowSettings } from '../workflow.options';

/** An accepted reset request, as the queue stores it (sealed). */
type ResetRequest = { address: string; ip?: string };

/** Password reset: the link on request, and the new password applied through it. */
@Injectable()
export class PasswordResetFlow {
  private readonly resetEmail: LinkEmail;
  /** Where the password-changed email sends someone whose password was changed without their say. */
  private readonly forgotPasswordLink: string;

  constructor(
    @Inject(WORKFLOW_SETTINGS) { links }: WorkflowSettings,
    @Inject(FLOW_SETTINGS) private readonly flows: FlowSettings,
    private readonly support: AccountFlowSupport,
    private readonly events: EmailEventBus,
  ) {
    // Without links.forgotPassword, the app the reset link opened: its sign-in page is a click away.
    this.forgotPasswordLink = links.forgotPassword ?? new URL(links.resetPassword.replace('{token}', 'token')).origin;
    const { ttl, delivery } = flows.resetPassword;
    this.resetEmail = { purpose: 'reset-password', template: 'reset-password', link: links.resetPassword, ttlSeconds: ttl, delivery };
    support.handle<ResetRequest>('password-reset', (request, requestId) => this.sendResetLink(request, requestId));
  }

  /** See `EmailWorkflowService.requestPasswordReset`. */
  async request(email: string, options: { ip?: string }): Promise<void> {
    const address = normaliseAddress(email);
    // Without a user directory the caller hears so now, not a log line after answering.
    this.support.directory();
    const { limits } = this.flows.resetPassword;
    const ip = options.ip === undefined ? undefined : countedIp('requestPasswordReset', 'options.ip', options.ip);
    await this.support.limit(`reset-address:${countedAddress(address)}`, limits.perAddress);
    if (ip) await this.support.limit(`reset-ip:${ip}`, limits.perIp);
    await this.support.accept<ResetRequest>('password-reset', { address, ip: options.ip });
  }

  /** After answering, in whichever process takes the request: the link, if the address has an account. */
  private async sendResetLink({ address, ip }: ResetRequest, requestId?: string): Promise<void> {
    const user = await this.support.directory().findByEmail(address);
    if (!user) return;
    // Every spelling the directory resolves to this account shares the account's one budget.
    if (!(await this.support.withinAccountBudget(`reset-user:${user.id}`, this.flows.resetPassword.limits.perAddress))) return;
    const result = await this.support.sendLink(user, this.resetEmail, requestId);
    if (!result.cancelled) this.events.emit(EmailEvent.PasswordResetRequested, { userId: user.id, email: user.email, ip });
  }

  /** See `EmailWorkflowService.resetPassword`. */
  async reset(token: string, applyNewPassword: (user: EmailUser) => Promise<void>): Promise<EmailUser> {
    return this.changed(await this.support.redeem(token, 'reset-password', (user) => applyNewPassword(user)));
  }

  /** See `EmailWorkflowService.resetPasswordWithCode`. */
  async resetWithCode(email: string, code: string, applyNewPassword: (user: EmailUser) => Promise<void>): Promise<EmailUser> {
    return this.changed(await this.support.redeemCode(email, code, 'reset-password', (user) => applyNewPassword(user)));
  }

  private async changed(user: EmailUser): Promise<EmailUser> {
    await this.support.sendFollowUp(user, 'password-changed', {
      name: user.name,
      changedAt: this.support.momentFor(user, new Date()),
      link: this.forgotPasswordLink,
    });
    this.events.emit(EmailEvent.PasswordChanged, { userId: user.id, email: user.email });
    return user;
  }
}
