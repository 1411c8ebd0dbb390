import { Inject, Injectable, Logger } from '@nestjs/common';
import { FlowNotConfiguredError, InvalidArgumentError, InvalidTokenError } from '../../errors';
import { EmailEvent, EmailEventBus } from '../../events';
import { EmailTokens } from '../../tokens';
import type { RedeemableToken, TokenPurpose } from '../../tokens';
import { AccountFlowSupport, normaliseAddress } from './account-flow.support';
import type { LinkEmail } from './account-flow.support';
import { countedAddress } from './rate-limit.keys';
import { FLOW_SETTINGS } from './flow.options';
import type { FlowSettings } from './flow.options';
import type { EmailUser, EmailUserDirectory } from '../user-directory';
import { WORKFLOW_SETTINGS } from '../workflow.options';
import type { WorkflowSettings } from '../workflow.options';

/** An accepted change request, as the queue stores it (sealed). */
type EmailChangeRequest = { userId: string; newAddress: string };

/** Every token a user can hold but the revert links: a confirmed change voids these. */
const ALL_BUT_REVERT: readonly TokenPurpose[] = ['verify-email', 'reset-password', 'sign-in', 'confirm-email-change'];

/**
 * Email change: a confirmation link to the new address, a notice with a "this wasn't me" link to the
 * current one, the change once the new inbox confirms, and its undoing from the old inbox.
 */
@Injectable()
export class EmailChangeFlow {
  private readonly logger = new Logger('EmailWorkflow');
  private readonly confirmEmail?: LinkEmail;
  private readonly revertEmail?: LinkEmail;

  constructor(
    @Inject(WORKFLOW_SETTINGS) { links }: WorkflowSettings,
    @Inject(FLOW_SETTINGS) private readonly flows: FlowSettings,
    private readonly support: AccountFlowSupport,
    private readonly tokens: EmailTokens,
    private readonly events: EmailEventBus,
  ) {
    const { ttl, revertTtl } = flows.changeEmail;
    // A fresh request replaces the pending confirmation; each notice's revert link stays good for its whole life.
    if (links.confirmEmailChange) {
      this.confirmEmail = { purpose: 'confirm-email-change', template: 'confirm-email-change', link: links.confirmEmailChange, ttlSeconds: ttl, delivery: 'link', voidsEarlier: true };
    }
    if (links.revertEmailChange) {
      this.revertEmail = { purpose: 'revert-email-change', template: 'email-change-requested', link: links.revertEmailChange, ttlSeconds: revertTtl, delivery: 'link' };
    }
    support.handle<EmailChangeRequest>('email-change', (request, requestId) => this.sendChangeEmails(request, requestId));
  }

  /** See `EmailWorkflowService.requestEmailChange`. */
  async request(user: EmailUser, newEmail: string): Promise<void> {
    this.emails('requestEmailChange');
    this.updater('requestEmailChange');
    const newAddress = normaliseAddress(newEmail);
    if (sameAddress(newAddress, user.email)) {
      throw new InvalidArgumentError('requestEmailChange', 'newEmail', "an address other than the user's current one", "the user's current address");
    }
    await this.support.limit(`email-change-user:${user.id}`, this.flows.changeEmail.limits.perUser);
    // Counted whether or not the address is taken, so the limit tells nothing about it either.
    await this.support.limit(`email-change-address:${countedAddress(newAddress)}`, this.flows.changeEmail.limits.perNewAddress);
    await this.support.accept<EmailChangeRequest>('email-change', { userId: user.id, newAddress });
  }

  /**
   * After answering, in whichever process takes the request. The current address gets the same
   * notice, with its "this wasn't me" link, whether or not the new address has an account, so the
   * requester learns nothing from their inbox; a taken address gets nothing (no change can reach it,
   * and an email there would let anyone aim mail at an account holder), and the requester's pending
   * confirmation is voided either way, as a new request's would be.
   */
  private async sendChangeEmails({ userId, newAddress }: EmailChangeRequest, requestId?: string): Promise<void> {
    const directory = this.support.directory();
    const user = await directory.findById(userId);
    if (!user) return;
    const { confirm, revert } = this.emails('requestEmailChange');
    const context = { newEmail: newAddress };
    const free = !(await directory.findByEmail(newAddress));
    if (free) {
      const confirmation = await this.support.sendLink(user, confirm, requestId, { to: newAddress, payload: newAddress, context });
      // Without the confirmation on its way (a hook cancelled it) nothing can change, so nothing to warn about.
      if (confirmation.cancelled) return;
    } else {
      await this.tokens.revokeAllOf(user.id, ['confirm-email-change']);
    }
    await this.support.sendLink(user, revert, requestId, { payload: await this.addressBeforeChain(user), context });
    if (free) this.events.emit(EmailEvent.EmailChangeRequested, { userId: user.id, email: user.email, newEmail: newAddress });
  }

  /**
   * The address a revert link restores: the one the account had before the chain of changes this
   * one joins (the oldest revert link still usable restores it), else the current one. So a revert
   * link sent to an address an attacker put on the account restores the victim's, not the attacker's.
   */
  private async addressBeforeChain(user: EmailUser): Promise<string> {
    const [oldest] = await this.tokens.live(user.id, 'revert-email-change');
    return oldest?.payload ?? user.email.trim().toLowerCase();
  }

  /** See `EmailWorkflowService.confirmEmailChange`. */
  async confirm(token: string): Promise<EmailUser> {
    const directory = this.support.directory();
    const updateEmail = this.updater('confirmEmailChange');
    let newAddress = '';
    let previousEmail = '';
    const user = await this.support.redeem(
      token,
      'confirm-email-change',
      async (found, record, claim) => {
        newAddress = sealedAddress(record);
        const holder = await directory.findByEmail(newAddress);
        // Taken since the request (another sign-up, say): two accounts must not share an address.
        if (holder && holder.id !== found.id) throw new InvalidTokenError('expired');
        previousEmail = found.email;
        await claim.commit();
        await updateEmail(found.id, newAddress);
        // A revert that ran while this confirmation did has revoked its token: the revert wins, so
        // the address it restored must not be overwritten by this late update. A store that cannot
        // answer now (Redis down) is taken as no revert: one could only have run before it failed.
        if (!(await claim.stillHeld().catch(() => true))) {
          await updateEmail(found.id, previousEmail);
          throw new InvalidTokenError('expired');
        }
        await directory.markEmailVerified(found.id);
        // Best effort: links sent to the old address no longer match the account's, so they are refused anyway.
        await this.tokens.revokeAllOf(found.id, ALL_BUT_REVERT, record.hash).catch((error: unknown) => this.afterFault('confirmEmailChange', error));
      },
      // The link went to the new address, which the account does not have yet.
      { checkAddress: false, commitsItself: true },
    );
    this.events.emit(EmailEvent.EmailChanged, { userId: user.id, email: newAddress, previousEmail });
    return { ...user, email: newAddress, emailVerified: true };
  }

  /** See `EmailWorkflowService.revertEmailChange`. */
  async revert(token: string): Promise<EmailUser> {
    const directory = this.support.directory();
    const updateEmail = this.updater('revertEmailChange');
    let oldAddress = '';
    let revertedEmail = '';
    const user = await this.support.redeem(
      token,
      'revert-email-change',
      async (found, record, claim) => {
        oldAddress = sealedAddress(record);
        const holder = await directory.findByEmail(oldAddress);
        // Another account took the freed address: refused, and the link stays usable once it is free again.
        if (holder && holder.id !== found.id) throw new InvalidTokenError('expired');
        // Every pending change and confirmation first, one being redeemed right now included, so that
        // one sees its claim lost and undoes itself: whichever order the two run in, the old address
        // stays. Other revert links stay valid: each restores the address before its chain.
        await this.tokens.revokeAllOf(found.id, ALL_BUT_REVERT, undefined, { claimed: true });
        await claim.commit({ keepSiblings: true });
        const current = (await directory.findById(found.id)) ?? found;
        revertedEmail = current.email;
        if (!sameAddress(current.email, oldAddress)) await updateEmail(found.id, oldAddress);
        // Whoever holds the old inbox opened this link, so the address is theirs.
        await directory.markEmailVerified(found.id);
      },
      // The account may be on the new address by now: the link is good whichever it is on.
      { checkAddress: false, commitsItself: true },
    );
    this.events.emit(EmailEvent.EmailChangeReverted, { userId: user.id, email: oldAddress, revertedEmail });
    return { ...user, email: oldAddress, emailVerified: true };
  }

  /** A step after the change itself failed (Redis down): logged, as the change stands and its event must still fire. */
  private afterFault(method: string, error: unknown): void {
    this.logger.warn(`${method}: the change is done, but the user's other tokens could not be voided: ${(error as Error).message}`);
  }

  /** Both emails of a change; the flow is off until both links are given. */
  private emails(method: string): { confirm: LinkEmail; revert: LinkEmail } {
    if (!this.confirmEmail) throw missingLink(method, 'confirmEmailChange', 'confirm');
    if (!this.revertEmail) throw missingLink(method, 'revertEmailChange', 'revert');
    return { confirm: this.confirmEmail, revert: this.revertEmail };
  }

  private updater(method: string): (id: string, email: string) => Promise<void> {
    const directory: EmailUserDirectory = this.support.directory();
    if (!directory.updateEmail) {
      throw new FlowNotConfiguredError(method, 'users.updateEmail', 'add updateEmail(id, email) to your EmailUserDirectory, storing the address findByEmail finds the user by');
    }
    return directory.updateEmail.bind(directory);
  }
}

/** The address a change token sets, sealed in its record; a record without one was not issued by this flow. */
function sealedAddress(record: RedeemableToken): string {
  if (record.payload === undefined) throw new InvalidTokenError('unknown');
  return record.payload;
}

/** Addresses compared as the directory is asked for them: trimmed and lower-cased. */
function sameAddress(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

function missingLink(method: string, name: string, page: string): FlowNotConfiguredError {
  return new FlowNotConfiguredError(method, `links.${name}`, `set links.${name} to the absolute URL of your ${page} page with {token}, e.g. "https://app.example.com/email/${page}?token={token}"`);
}
