import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { FlowNotConfiguredError, InvalidTokenError, RateLimitedError, UserDirectoryMissingError } from '../../errors';
import { EMAIL_QUEUE, storesAccountRequests } from '../../queue';
import type { EmailQueue } from '../../queue';
import { EMAIL_RATE_LIMITER, EmailTokens } from '../../tokens';
import type { RateLimiter, RateLimitRule, RedeemableToken, TokenClaim, TokenPurpose } from '../../tokens';
import type { TemplateContext, TemplateSettings } from '../../templates';
import { TEMPLATE_SETTINGS } from '../../templates';
import { normaliseRecipient } from '../../transport';
import type { SendEmailResult, TokenInspection } from '../email-workflow.types';
import type { ProofMethod } from './flow.options';
import { formatDuration, formatMoment } from './recipient.formats';
import { EmailSendPipeline } from '../send.pipeline';
import { EMAIL_USER_DIRECTORY } from '../user-directory';
import type { EmailUser, EmailUserDirectory } from '../user-directory';
import { WORKFLOW_SETTINGS } from '../workflow.options';
import type { WorkflowSettings } from '../workflow.options';

/** The email with a link and/or code that starts or completes a flow: which token it carries, and how the link reads. */
export interface LinkEmail {
  purpose: TokenPurpose;
  template: string;
  /** The link template with its `{token}` placeholder; unset only when `delivery` is 'code'. */
  link?: string;
  /** How long the token stays valid, in seconds, as the email states it. */
  ttlSeconds: number;
  /** A link, a code, or both (siblings: using one voids the other). @default 'link' */
  delivery?: ProofMethod;
  /** Whether the new link voids the user's earlier links of its purpose, as a resent verification link does (a code always does). */
  voidsEarlier?: boolean;
}

/** What an email of a flow may carry beyond the default: another recipient, a sealed value, more variables. */
export interface LinkEmailExtra {
  /** The address the email goes to, and the token is bound to: default the user's own. */
  to?: string;
  /** Sealed into the token record, given back by `redeem` as `record.payload`. */
  payload?: string;
  context?: TemplateContext;
}

/** The requests a flow answers before it looks the account up. */
export type AccountRequestKind = 'password-reset' | 'verification-resend' | 'sign-in' | 'email-change';

/**
 * Carries out an accepted request. `requestId` is set when the request came through the durable
 * queue: the same on every try, it keys the email so a retried request never sends a second one.
 */
export type AccountRequestWork<Payload> = (payload: Payload, requestId?: string) => Promise<void>;

/**
 * What every account flow does the same way: find the user directory, rate-limit, answer before
 * looking anything up, send a link, redeem it for its user, void the user's other links, and send a
 * follow-up that must not undo the action it follows. Flows (verification, password reset, and those
 * to come) each live in their own provider and build on this one.
 */
@Injectable()
export class AccountFlowSupport {
  private readonly logger = new Logger('EmailWorkflow');
  private readonly background = new Set<Promise<void>>();
  private readonly work = new Map<AccountRequestKind, AccountRequestWork<never>>();

  constructor(
    @Inject(WORKFLOW_SETTINGS) private readonly settings: WorkflowSettings,
    @Inject(TEMPLATE_SETTINGS) private readonly templates: TemplateSettings,
    private readonly pipeline: EmailSendPipeline,
    private readonly tokens: EmailTokens,
    @Inject(EMAIL_RATE_LIMITER) private readonly rateLimiter: RateLimiter,
    @Inject(EMAIL_QUEUE) private readonly queue: EmailQueue,
    @Optional() @Inject(EMAIL_USER_DIRECTORY) private readonly injectedDirectory?: EmailUserDirectory,
  ) {}

  /** The app's user store. Throws UserDirectoryMissingError when none is configured. */
  directory(): EmailUserDirectory {
    const directory = this.settings.users ?? this.injectedDirectory;
    if (!directory) throw new UserDirectoryMissingError();
    return directory;
  }

  /** Counts one request under `key`; throws RateLimitedError once the rule's limit is reached. */
  async limit(key: string, rule: RateLimitRule): Promise<void> {
    const verdict = await this.rateLimiter.hit(key, rule);
    if (!verdict.allowed) throw new RateLimitedError(verdict.retryAfterSeconds);
  }

  /**
   * Charges the found account's own budget under `key` (a user id): false once it is spent. Silent,
   * since the caller's answer was given before the look-up: over budget, the request sends nothing.
   */
  async withinAccountBudget(key: string, rule: RateLimitRule): Promise<boolean> {
    return (await this.rateLimiter.hit(key, rule)).allowed;
  }

  /**
   * Registers what is done with an accepted request of `kind`. Every process registers the same
   * work at boot, since with a durable queue any worker may take the request.
   */
  handle<Payload extends Record<string, string | undefined>>(kind: AccountRequestKind, work: AccountRequestWork<Payload>): void {
    this.work.set(kind, work as AccountRequestWork<never>);
    if (storesAccountRequests(this.queue)) this.queue.handleAccountRequests(kind, (payload, requestId) => work(payload as Payload, requestId));
  }

  /**
   * Answers an accepted request without letting the answer depend on the account. With a durable
   * queue the request is stored (sealed) before this resolves and a worker does the work, so a crash
   * after answering loses nothing; in process the work runs here, after answering.
   */
  async accept<Payload extends Record<string, string | undefined>>(kind: AccountRequestKind, payload: Payload): Promise<void> {
    if (storesAccountRequests(this.queue)) {
      await this.queue.enqueueAccountRequest(kind, payload);
      return;
    }
    const work = this.work.get(kind) as AccountRequestWork<Payload>;
    this.afterAnswering(() => work(payload));
  }

  /** Runs work after the caller has its answer, so the answer cannot reveal what the work found. */
  private afterAnswering(work: () => Promise<void>): void {
    const task: Promise<void> = work()
      .catch((error: unknown) => this.logger.error(`Account email could not be queued: ${(error as Error).message}`))
      .finally(() => this.background.delete(task));
    this.background.add(task);
  }

  /** Resolves once the work started by `afterAnswering` has finished, so it can use the queue before it closes. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.background);
  }

  /**
   * Issues a token and/or a code for the user and queues the email with the link and/or code. With
   * `requestId`, the email is keyed by it: a retry of that request issues a token nobody receives and
   * queues nothing new. With `voidsEarlier` or a code, once the email is queued the user's tokens of
   * its purpose from older requests are revoked, in one atomic step that leaves newer requests' tokens
   * alone: of any number of requests, however their emails interleave, the newest one's link and code
   * work. Not when a hook cancelled it or it was a retry's duplicate, as the link or code then in the
   * inbox must still work.
   */
  async sendLink(user: EmailUser, email: LinkEmail, requestId?: string, extra: LinkEmailExtra = {}): Promise<SendEmailResult> {
    const delivery = email.delivery ?? 'link';
    const address = extra.to ?? user.email;
    const supersedes = email.voidsEarlier === true || delivery !== 'link';
    const bound = { address, payload: extra.payload, generation: supersedes ? await this.tokens.generation(user.id, email.purpose) : undefined };
    const context: TemplateContext = { name: user.name, ...extra.context, expiresIn: formatDuration(email.ttlSeconds, user.locale, this.templates.registry.defaultLocale) };
    const keep: string[] = [];
    if (delivery !== 'code') {
      if (email.link === undefined) throw new Error(`the ${email.template} email has no link template`);
      const { token } = await this.tokens.issue(user, email.purpose, email.ttlSeconds, bound);
      keep.push(this.tokens.hash(token));
      context.link = email.link.replace('{token}', encodeURIComponent(token));
    }
    if (delivery !== 'link') {
      const { code, hash } = await this.tokens.issueCode(user, email.purpose, email.ttlSeconds, bound);
      keep.push(hash);
      context.code = code;
    }
    const { duplicate, ...result } = await this.pipeline.send({
      template: email.template,
      to: { address, name: user.name ?? '' },
      locale: user.locale,
      context,
      idempotencyKey: requestId ? `${email.template}:${requestId}` : undefined,
    });
    if (bound.generation !== undefined && !result.cancelled && !duplicate) {
      await this.tokens.supersede(user.id, email.purpose, keep, bound.generation);
    }
    return result;
  }

  /** Throws FlowNotConfiguredError naming `links.<name>` when a flow that sends a link has none set. */
  requireLink(method: string, name: string, link: string | undefined): string {
    if (link === undefined) throw new FlowNotConfiguredError(method, `links.${name}`, `set links.${name} to an absolute URL with {token}, e.g. "https://app.example.com/${name}?token={token}", or set the flow's delivery to 'code'`);
    return link;
  }

  /** A moment as the user reads it: in their locale (else `templates.defaultLocale`), in UTC, the zone named. */
  momentFor(user: EmailUser, date: Date): string {
    return formatMoment(date, user.locale, this.templates.registry.defaultLocale);
  }

  /**
   * Uses the token (once) for the user it was issued to, running `action` after the token is used up
   * (committed): if the action throws, the token is given back usable; if this process dies during it,
   * the token stays used. Using it voids the user's other tokens of that purpose. Throws
   * InvalidTokenError when the token is unknown, expired, used, of another purpose, or its user has
   * gone; with `checkAddress` (the default), also when the user's address is no longer the one it was
   * sent to. With `commitsItself`, the action checks what it must first and calls `claim.commit()`
   * before its side effect.
   */
  async redeem(
    token: string,
    purpose: TokenPurpose,
    action: (user: EmailUser, record: RedeemableToken, claim: TokenClaim) => Promise<void>,
    { checkAddress = true, commitsItself = false }: { checkAddress?: boolean; commitsItself?: boolean } = {},
  ): Promise<EmailUser> {
    const directory = this.directory();
    return this.tokens.redeem(token, purpose, async (redeemed, claim) => {
      const found = await directory.findById(redeemed.userId);
      if (!found || (checkAddress && !this.tokens.issuedTo(redeemed, found.email))) throw new InvalidTokenError('expired');
      if (!commitsItself) await claim.commit();
      await action(found, redeemed, claim);
      return found;
    });
  }

  /**
   * Uses a code entered with its address (once), as `redeem` does a token. The try is counted before
   * anything is looked up; every failure, a gone account or a changed address included, is
   * InvalidTokenError('invalid-code') alike.
   */
  async redeemCode(email: string, code: string, purpose: TokenPurpose, action: (user: EmailUser, record: RedeemableToken) => Promise<void>): Promise<EmailUser> {
    const directory = this.directory();
    return this.tokens.redeemCode(normaliseAddress(email), code, purpose, async (redeemed, claim) => {
      const found = await directory.findById(redeemed.userId);
      if (!found || !this.tokens.issuedTo(redeemed, found.email)) throw new InvalidTokenError('invalid-code');
      await claim.commit();
      await action(found, redeemed);
      return found;
    });
  }

  /** Whether a token is usable, without using it. */
  async inspect(token: string, purpose: TokenPurpose): Promise<TokenInspection> {
    try {
      const record = await this.tokens.inspect(token, purpose);
      return { valid: true, expiresAt: new Date(record.expiresAt) };
    } catch (error) {
      if (error instanceof InvalidTokenError) return { valid: false, reason: error.reason };
      throw error;
    }
  }

  /** A follow-up email must not undo the action it follows: a queue failure is logged, not thrown. */
  async sendFollowUp(user: EmailUser, template: string, context: TemplateContext): Promise<void> {
    try {
      await this.pipeline.send({ template, to: { address: user.email, name: user.name ?? '' }, locale: user.locale, context });
    } catch (error) {
      this.logger.error(`The ${template} email to user ${user.id} could not be queued: ${(error as Error).message}`);
    }
  }
}

/** An address as the directory is asked for it: checked, trimmed and lower-cased. */
export function normaliseAddress(email: string): string {
  return normaliseRecipient(typeof email === 'string' ? email.trim().toLowerCase() : email).address;
}
