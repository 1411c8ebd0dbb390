import { Inject, Injectable } from '@nestjs/common';
import { EmailEvent, EmailEventBus } from '../../events';
import { AccountFlowSupport, normaliseAddress } from './account-flow.support';
import type { LinkEmail } from './account-flow.support';
import type { SendEmailResult } from '../email-workflow.types';
import { countedAddress } from './rate-limit.keys';
import type { EmailUser } from '../user-directory';
import { FLOW_SETTINGS } from './flow.options';
import type { FlowSettings } from './flow.options';
import { WORKFLOW_SETTINGS } from '../workflow.options';
import type { WorkflowSettings } from '../workflow.options';

/** Email verification: the link on registration, its use, and a new link on request. */
@Injectable()
export class EmailVerificationFlow {
  private readonly verificationEmail: LinkEmail;
  /** Where the welcome email's link points: the app the verification link opened. */
  private readonly appOrigin: string;

  constructor(
    @Inject(WORKFLOW_SETTINGS) { links }: WorkflowSettings,
    @Inject(FLOW_SETTINGS) private readonly flows: FlowSettings,
    private readonly support: AccountFlowSupport,
    private readonly events: EmailEventBus,
  ) {
    const link = links.verifyEmail;
    const { ttl, delivery } = flows.verifyEmail;
    this.verificationEmail = { purpose: 'verify-email', template: 'verify-email', link, ttlSeconds: ttl, delivery, voidsEarlier: true };
    this.appOrigin = new URL(link.replace('{token}', 'token')).origin;
    support.handle<{ address: string }>('verification-resend', ({ address }, requestId) => this.resendTo(address, requestId));
  }

  /** See `EmailWorkflowService.startEmailVerification`. */
  async start(user: EmailUser): Promise<SendEmailResult> {
    await this.support.limit(`verify-start:${countedAddress(user.email)}`, this.flows.verifyEmail.limits.startPerAddress);
    return this.sendLink(user);
  }

  private async sendLink(user: EmailUser, requestId?: string): Promise<SendEmailResult> {
    const result = await this.support.sendLink(user, this.verificationEmail, requestId);
    if (!result.cancelled) this.events.emit(EmailEvent.VerificationRequested, { userId: user.id, email: user.email });
    return result;
  }

  /** See `EmailWorkflowService.verifyEmail`. */
  async verify(token: string): Promise<EmailUser> {
    return this.verified(await this.support.redeem(token, 'verify-email', (found) => this.support.directory().markEmailVerified(found.id)));
  }

  /** See `EmailWorkflowService.verifyEmailCode`. */
  async verifyCode(email: string, code: string): Promise<EmailUser> {
    return this.verified(await this.support.redeemCode(email, code, 'verify-email', (found) => this.support.directory().markEmailVerified(found.id)));
  }

  private async verified(user: EmailUser): Promise<EmailUser> {
    await this.support.sendFollowUp(user, 'welcome', { name: user.name, link: this.appOrigin });
    this.events.emit(EmailEvent.EmailVerified, { userId: user.id, email: user.email });
    return { ...user, emailVerified: true };
  }

  /** See `EmailWorkflowService.resendVerification`. */
  async resend(email: string): Promise<void> {
    const address = normaliseAddress(email);
    // Without a user directory the caller hears so now, not a log line after answering.
    this.support.directory();
    await this.support.limit(`verify-address:${countedAddress(address)}`, this.flows.verifyEmail.limits.perAddress);
    await this.support.accept('verification-resend', { address });
  }

  /** After answering, in whichever process takes the request: a new link, if the account is unverified. */
  private async resendTo(address: string, requestId?: string): Promise<void> {
    const user = await this.support.directory().findByEmail(address);
    if (!user || user.emailVerified) return;
    // Every spelling the directory resolves to this account shares the account's one budget.
    if (await this.support.withinAccountBudget(`verify-user:${user.id}`, this.flows.verifyEmail.limits.perAddress)) await this.sendLink(user, requestId);
  }
}
