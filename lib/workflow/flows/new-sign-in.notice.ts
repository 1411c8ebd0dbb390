import { isIP } from 'node:net';
import { Inject, Injectable } from '@nestjs/common';
import { InvalidArgumentError } from '../../errors';
import { AccountFlowSupport } from './account-flow.support';
import { describeDevice } from './device.description';
import type { SendEmailResult } from '../email-workflow.types';
import { FLOW_SETTINGS } from './flow.options';
import type { FlowSettings } from './flow.options';
import { EmailSendPipeline } from '../send.pipeline';
import type { EmailUser } from '../user-directory';
import { WORKFLOW_SETTINGS } from '../workflow.options';
import type { WorkflowSettings } from '../workflow.options';

/** What the notice says about a sign-in; each part is optional. */
export interface NewSignInDetails {
  /** The IP the sign-in came from, e.g. `req.ip`. */
  ip?: string;
  /**
   * The browser's User-Agent header. The email shows the browser and OS read from it ("Chrome on Linux"),
   * or that the device was not recognised; the header itself (control characters made spaces, cut to
   * 200 characters) is only in the context hooks see, as `userAgent`.
   */
  userAgent?: string;
  /** When it happened. @default now */
  at?: Date;
}

/** What `notifyNewSignIn` did: a SendEmailResult, or `skipped` when the user's limit was reached. */
export interface NewSignInNoticeResult extends SendEmailResult {
  /** Set when the per-user limit (`flows.newSignIn.limits.perUser`) was reached: nothing was sent, `id` and `messageId` are empty. */
  skipped?: { reason: 'rate-limited' };
}

/** Long enough for any real browser's User-Agent, short enough to keep the context small. */
const USER_AGENT_MAX = 200;

/** A User-Agent as the context carries it: one line, no control characters, at most USER_AGENT_MAX characters. */
function readableUserAgent(value: string): string | undefined {
  const line = value.replace(/\p{Cc}+/gu, ' ').replace(/\s+/g, ' ').trim();
  if (line === '') return undefined;
  const characters = [...line];
  return characters.length <= USER_AGENT_MAX ? line : `${characters.slice(0, USER_AGENT_MAX - 1).join('')}…`;
}

/** The "new sign-in to your account" email, with a link for someone who did not sign in to secure the account. */
@Injectable()
export class NewSignInNotice {
  private readonly secureAccountLink: string;

  constructor(
    @Inject(WORKFLOW_SETTINGS) { links }: WorkflowSettings,
    @Inject(FLOW_SETTINGS) private readonly flows: FlowSettings,
    private readonly support: AccountFlowSupport,
    private readonly pipeline: EmailSendPipeline,
  ) {
    // Without links.secureAccount, the page where a reset is asked for: a new password is how an account is secured.
    this.secureAccountLink = links.secureAccount ?? links.forgotPassword ?? new URL(links.resetPassword.replace('{token}', 'token')).origin;
  }

  /** See `EmailWorkflowService.notifyNewSignIn`. */
  async notify(user: EmailUser, { ip, userAgent, at = new Date() }: NewSignInDetails): Promise<NewSignInNoticeResult> {
    const shownIp = ip?.trim();
    if (shownIp !== undefined && isIP(shownIp) === 0) {
      throw new InvalidArgumentError('notifyNewSignIn', 'details.ip', 'one IPv4 or IPv6 address, such as req.ip', 'a string that is not an IP address');
    }
    // A sign-in must not fail because of its notice: over the limit, it is skipped, not refused.
    if (!(await this.support.withinAccountBudget(`new-sign-in-user:${user.id}`, this.flows.newSignIn.limits.perUser))) {
      return { id: '', messageId: '', skipped: { reason: 'rate-limited' } };
    }
    const userAgentLine = userAgent === undefined ? undefined : readableUserAgent(userAgent);
    const { duplicate, ...result } = await this.pipeline.send({
      template: 'new-sign-in',
      to: { address: user.email, name: user.name ?? '' },
      locale: user.locale ?? undefined,
      context: {
        name: user.name ?? undefined,
        when: this.support.momentFor(user, at),
        ip: shownIp,
        // The raw header stays in the context, for hooks and custom templates; the built-ins show only `device`.
        userAgent: userAgentLine,
        device: userAgent === undefined || userAgentLine === undefined ? undefined : describeDevice(userAgent),
        link: this.secureAccountLink,
      },
    });
    void duplicate;
    return result;
  }
}
