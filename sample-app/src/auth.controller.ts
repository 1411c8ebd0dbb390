import { Body, Controller, Get, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import { EmailWorkflowService, InvalidRecipientError } from 'nestjs-email-workflow';
import { EmailErrorsFilter } from './email-errors.filter';
import { Flash } from './flash';
import { DEFAULT_LANGUAGE, languageFrom } from './languages';
import { passwordProblem } from './passwords';
import { Sessions } from './sessions';
import { SignIns } from './sign-ins';
import { SignUpLimits } from './sign-up.limits';
import { field, looksLikeEmail, seeOther, sendPage, Site } from './site';
import { LinkPages } from './link-pages';
import { normaliseEmail, UsersStore } from './users.store';
import { emailChangeInboxPage } from './views/account.pages';
import { noticeFrom } from './views/layout';
import { checkInboxPage, confirmEmailPage, homePage, signUpPage } from './views/pages';
import { signInInboxPage, signInPage } from './views/sign-in.pages';
import { FAVICON, STYLESHEET } from './views/styles';

/** Home, sign-up, email confirmation, password sign-in, and the "check your inbox" pages. */
@Controller()
@UseFilters(EmailErrorsFilter)
export class AuthController {
  constructor(
    private readonly emails: EmailWorkflowService,
    private readonly users: UsersStore,
    private readonly sessions: Sessions,
    private readonly site: Site,
    private readonly links: LinkPages,
    private readonly limits: SignUpLimits,
    private readonly signIns: SignIns,
    private readonly flash: Flash,
  ) {}

  @Get()
  async home(@Req() req: Request, @Res() res: Response): Promise<void> {
    sendPage(res, 200, homePage(await this.site.context(req)));
  }

  @Get('assets/app.css')
  stylesheet(@Res() res: Response): void {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.type('css').send(STYLESHEET);
  }

  /** An envelope, so browsers do not log a 404 for the icon on every page (the dev pages' too). */
  @Get('favicon.ico')
  favicon(@Res() res: Response): void {
    res.setHeader('Cache-Control', 'public, max-age=86400');
    res.type('image/svg+xml').send(FAVICON);
  }

  @Get('sign-up')
  async signUpForm(@Req() req: Request, @Res() res: Response): Promise<void> {
    const refused = this.flash.take(req, res, 'sign-up');
    sendPage(res, 200, signUpPage((await this.site.context(req)), refused?.values, refused?.error));
  }

  @Post('sign-up')
  async signUp(@Body() body: Record<string, unknown>, @Req() req: Request, @Res() res: Response): Promise<void> {
    const name = field(body.name).trim();
    const email = normaliseEmail(field(body.email));
    const password = field(body.password);
    const locale = languageFrom(body.locale) ?? DEFAULT_LANGUAGE;
    // The form is shown again by its GET (POST-redirect-GET), with what was typed but the password.
    const refuse = (error: string) => this.flash.refuse(res, '/sign-up', 'sign-up', error, { name: name.slice(0, 100), email: email.slice(0, 254), locale });
    if (!name || name.length > 100) return refuse('Enter your name (at most 100 characters).');
    if (!looksLikeEmail(email)) return refuse('Enter an email address such as ada@example.com.');
    const problem = passwordProblem(password);
    if (problem) return refuse(problem);
    // Before the store is asked, so the limit cannot tell a taken address from a free one.
    this.limits.charge(req.ip, email);

    const user = await this.users.create(name, email, password, locale);
    if (user) {
      try {
        await this.emails.startEmailVerification(user);
      } catch (error) {
        await this.users.delete(user.id);
        if (error instanceof InvalidRecipientError) return refuse('We cannot send email to that address. Check it and try again.');
        throw error;
      }
    } else {
      // The address has an account already. Answer exactly as for a new one, so the form does not
      // tell strangers who has signed up; if that account is unverified, it gets a fresh link.
      await this.emails.resendVerification(email);
    }
    seeOther(res, `/check-inbox?${new URLSearchParams({ for: 'verify-email', email })}`);
  }

  @Get('check-inbox')
  async checkInbox(@Query('for') purpose: unknown, @Query('email') email: unknown, @Query('again') again: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    const given = field(email);
    const address = looksLikeEmail(given) ? given : '';
    const ctx = await this.site.context(req);
    if (purpose === 'sign-in') {
      const refused = this.flash.take(req, res, 'sign-in-code');
      return sendPage(res, 200, signInInboxPage(ctx, address, { error: refused?.error, usedUp: refused?.values.usedUp === 'yes', resent: again === '1' }));
    }
    if (purpose === 'email-change') return sendPage(res, 200, emailChangeInboxPage(ctx, address || 'your new address'));
    sendPage(res, 200, checkInboxPage(ctx, purpose === 'reset-password' ? 'reset-password' : 'verify-email', address || 'your address'));
  }

  /** Shows the confirm button. Link scanners fetch this page too, so it only inspects the token. */
  @Get('verify-email')
  verifyLanding(@Query('token') token: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.links.landing(req, res, token, 'verify-email', confirmEmailPage);
  }

  /** The confirm button: the only place the token is used up. */
  @Post('verify-email')
  verify(@Body('token') token: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.links.use(req, res, 'verify-email', token, async () => {
      const user = await this.emails.verifyEmail(field(token));
      const signedIn = (await this.sessions.userId(req)) === user.id;
      seeOther(res, signedIn ? '/account?notice=email-verified' : '/sign-in?notice=email-verified-sign-in');
    });
  }

  @Post('resend-verification')
  async resend(@Body('email') email: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    const address = normaliseEmail(field(email));
    if (!looksLikeEmail(address)) return seeOther(res, '/sign-in');
    await this.emails.resendVerification(address);
    const user = (await this.site.context(req)).user;
    seeOther(res, user?.email === address ? '/account?notice=verification-sent' : `/check-inbox?${new URLSearchParams({ for: 'verify-email', email: address })}`);
  }

  @Get('sign-in')
  async signInForm(@Query('notice') notice: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    const refused = this.flash.take(req, res, 'sign-in');
    sendPage(res, 200, signInPage((await this.site.context(req)), { notice: refused ? undefined : noticeFrom(notice), email: refused?.values.email, error: refused?.error }));
  }

  @Post('sign-in')
  async signIn(@Body() body: Record<string, unknown>, @Req() req: Request, @Res() res: Response): Promise<void> {
    const email = normaliseEmail(field(body.email));
    const user = await this.users.authenticate(email, field(body.password));
    if (!user) {
      return this.flash.refuse(res, '/sign-in', 'sign-in', 'That email and password do not match an account.', { email: email.slice(0, 254) });
    }
    await this.signIns.start(req, res, user);
    seeOther(res, '/account');
  }

  @Post('sign-out')
  async signOut(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.sessions.signOut(res, req);
    seeOther(res, '/sign-in?notice=signed-out');
  }
}
