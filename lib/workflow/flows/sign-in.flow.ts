import { Inject, Injectable } from '@nestjs/common';
import { EmailEvent, EmailEventBus } from '../../events';
import { AccountFlowSupport, normaliseAddress } from './account-flow.support';
import type { LinkEmail } from './account-flow.support';
import { FLOW_SETTINGS } from './flow.options';
import type { FlowSettings } from './flow.options';
import { countedAddress, countedIp } from './rate-limit.keys';
import type { EmailUser } from '../user-directory';
import { WORKFLOW_SETTINGS } from '../workflow.options';
import type { WorkflowSettings } from '../workflow.options';

/** An accepted sign-in request, as the queue stores it (sealed). */
type SignInRequest = { address: string; ip?: string };

/** Passwordless sign-in: a link and/or code on request, used once to sign the user in. */
@Injectable()
export class SignInFlow {
  private readonly signInEmail: LinkEmail;

  constructor(
    @Inject(WORKFLOW_SETTINGS) { links }: WorkflowSettings,
    @Inject(FLOW_SETTINGS) private readonly flows: FlowSettings,
    private readonly support: AccountFlowSupport,
    private readonly events: EmailEventBus,
  ) {
    const { ttl, delivery } = flows.signIn;
    this.signInEmail = { purpose: 'sign-in', template: 'sign-in', link: links.signIn, ttlSeconds: ttl, delivery };
    support.handle<SignInRequest>('sign-in', (request, requestId) => this.sendSignIn(request, requestId));
  }

  /** See `EmailWorkflowService.requestSignIn`. */
  async request(email: string, options: { ip?: string }): Promise<void> {
    // Checked before anything is counted: a misconfigured app hears so at once, whatever the address.
    if (this.signInEmail.delivery !== 'code') this.support.requireLink('requestSignIn', 'signIn', this.signInEmail.link);
    const address = normaliseAddress(email);
    this.support.directory();
    const { limits } = this.flows.signIn;
    const ip = options.ip === undefined ? undefined : countedIp('requestSignIn', 'options.ip', options.ip);
    await this.support.limit(`sign-in-address:${countedAddress(address)}`, limits.perAddress);
    if (ip) await this.support.limit(`sign-in-ip:${ip}`, limits.perIp);
    await this.support.accept<SignInRequest>('sign-in', { address, ip: options.ip });
  }

  /** After answering, in whichever process takes the request: the link or code, if the address has an account. */
  private async sendSignIn({ address, ip }: SignInRequest, requestId?: string): Promise<void> {
    const user = await this.support.directory().findByEmail(address);
    if (!user) return;
    // Every spelling the directory resolves to this account shares the account's one budget.
    if (!(await this.support.withinAccountBudget(`sign-in-user:${user.id}`, this.flows.signIn.limits.perAddress))) return;
    const result = await this.support.sendLink(user, this.signInEmail, requestId);
    if (!result.cancelled) this.events.emit(EmailEvent.SignInRequested, { userId: user.id, email: user.email, ip });
  }

  /** See `EmailWorkflowService.completeSignIn`. */
  async complete(token: string): Promise<EmailUser> {
    return this.signedIn(await this.support.redeem(token, 'sign-in', (user) => this.markVerified(user)));
  }

  /** See `EmailWorkflowService.completeSignInWithCode`. */
  async completeWithCode(email: string, code: string): Promise<EmailUser> {
    return this.signedIn(await this.support.redeemCode(email, code, 'sign-in', (user) => this.markVerified(user)));
  }

  /** The link or code reached the inbox and came back: the address is the user's. */
  private async markVerified(user: EmailUser): Promise<void> {
    if (!user.emailVerified) await this.support.directory().markEmailVerified(user.id);
  }

  private signedIn(user: EmailUser): EmailUser {
    this.events.emit(EmailEvent.SignedIn, { userId: user.id, email: user.email });
    return { ...user, emailVerified: true };
  }
}
