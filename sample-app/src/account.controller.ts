import { Body, Controller, Get, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import { EmailWorkflowService, InvalidRecipientError } from 'nestjs-email-workflow';
import { EmailErrorsFilter } from './email-errors.filter';
import { Flash } from './flash';
import { languageFrom } from './languages';
import { Sessions } from './sessions';
import { field, looksLikeEmail, seeOther, sendPage, Site } from './site';
import { LinkPages } from './link-pages';
import { normaliseEmail, UsersStore } from './users.store';
import { AccountContext, accountPage, confirmEmailChangePage, revertEmailChangePage } from './views/account.pages';
import { noticeFrom } from './views/layout';

/** The account page: language of the emails, and the email change with its confirm and revert links. */
@Controller()
@UseFilters(EmailErrorsFilter)
export class AccountController {
  constructor(
    private readonly emails: EmailWorkflowService,
    private readonly users: UsersStore,
    private readonly sessions: Sessions,
    private readonly site: Site,
    private readonly links: LinkPages,
    private readonly flash: Flash,
  ) {}

  @Get('account')
  async account(@Query('notice') notice: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    const ctx = await this.signedIn(req, res);
    if (!ctx) return;
    const refused = this.flash.take(req, res, 'account-email');
    sendPage(res, 200, accountPage(ctx, refused ? { newEmail: refused.values.newEmail, emailError: refused.error } : { notice: noticeFrom(notice) }));
  }

  /** Stored on the user: the library reads it as EmailUser.locale for every email it sends them. */
  @Post('account/language')
  async language(@Body('locale') locale: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    const ctx = await this.signedIn(req, res);
    if (!ctx) return;
    const tag = languageFrom(locale);
    if (tag) await this.users.setLocale(ctx.user.id, tag);
    seeOther(res, tag ? '/account?notice=language-saved' : '/account');
  }

  /** The same answer whether or not the new address has an account of its own. */
  @Post('account/email')
  async changeEmail(@Body('email') email: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    const ctx = await this.signedIn(req, res);
    if (!ctx) return;
    const newEmail = normaliseEmail(field(email));
    const refuse = (emailError: string) => this.flash.refuse(res, '/account', 'account-email', emailError, { newEmail: newEmail.slice(0, 254) });
    if (!looksLikeEmail(newEmail)) return refuse('Enter the new address, such as ada@example.com.');
    if (newEmail === ctx.user.email) return refuse('That is your address already. Enter the one you want to use instead.');
    try {
      await this.emails.requestEmailChange(ctx.user, newEmail);
    } catch (error) {
      if (error instanceof InvalidRecipientError) return refuse('We cannot send email to that address. Check it and try again.');
      throw error; // RateLimitedError → EmailErrorsFilter's 429 page
    }
    seeOther(res, `/check-inbox?${new URLSearchParams({ for: 'email-change', email: newEmail })}`);
  }

  /** From the new inbox. Link scanners fetch this page too, so it only inspects the token. */
  @Get('confirm-email-change')
  confirmLanding(@Query('token') token: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.links.landing(req, res, token, 'confirm-email-change', confirmEmailChangePage);
  }

  @Post('confirm-email-change')
  confirm(@Body('token') token: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.links.use(req, res, 'confirm-email-change', token, async () => {
      const user = await this.emails.confirmEmailChange(field(token));
      seeOther(res, (await this.sessions.userId(req)) === user.id ? '/account?notice=email-changed' : '/sign-in?notice=email-changed-sign-in');
    });
  }

  /** From the old inbox ("this wasn't me"). Inspects only, like the other link pages. */
  @Get('revert-email-change')
  revertLanding(@Query('token') token: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.links.landing(req, res, token, 'revert-email-change', revertEmailChangePage);
  }

  /**
   * Whoever changed the address may be signed in and may know the password: the library puts the old
   * address back and voids every link, and the app ends every session and asks for a new password.
   */
  @Post('revert-email-change')
  revert(@Body('token') token: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.links.use(req, res, 'revert-email-change', token, async () => {
      const user = await this.emails.revertEmailChange(field(token));
      await this.sessions.endAllFor(user.id);
      await this.sessions.signOut(res, req);
      seeOther(res, '/sign-in?notice=email-change-reverted');
    });
  }

  /** The page context with its user, or undefined after sending the visitor to sign in. */
  private async signedIn(req: Request, res: Response): Promise<AccountContext | undefined> {
    const ctx = await this.site.context(req);
    if (ctx.user) return { ...ctx, user: ctx.user };
    seeOther(res, '/sign-in?notice=sign-in-required');
    return undefined;
  }
}
