import { Body, Controller, Get, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import { EmailWorkflowService, InvalidRecipientError, InvalidTokenError } from 'nestjs-email-workflow';
import { EmailErrorsFilter } from './email-errors.filter';
import { SignIns } from './sign-ins';
import { field, looksLikeEmail, seeOther, sendPage, Site } from './site';
import { LinkPages } from './link-pages';
import { normaliseEmail } from './users.store';
import { secureAccountPage, signInInboxPage, signInLinkPage, signInPage } from './views/sign-in.pages';

/** Sign-in without a password: a link or a code by email (flows.signIn.delivery 'both'). */
@Controller()
@UseFilters(EmailErrorsFilter)
export class SignInController {
  constructor(
    private readonly emails: EmailWorkflowService,
    private readonly signIns: SignIns,
    private readonly site: Site,
    private readonly links: LinkPages,
  ) {}

  /** The sign-in form's second button. The same answer, in the same time, for any address. */
  @Post('sign-in/email')
  async requestLink(@Body('email') email: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    const address = normaliseEmail(field(email));
    const refuse = () => sendPage(res, 400, signInPage(this.site.context(req), { email: address, error: 'Enter your email address, such as ada@example.com, to get a sign-in link.' }));
    if (!looksLikeEmail(address)) return refuse();
    try {
      await this.emails.requestSignIn(address, { ip: req.ip });
    } catch (error) {
      if (error instanceof InvalidRecipientError) return refuse();
      throw error; // RateLimitedError → EmailErrorsFilter's 429 page
    }
    seeOther(res, `/check-inbox?${new URLSearchParams({ for: 'sign-in', email: address })}`);
  }

  @Post('sign-in/code')
  async withCode(@Body() body: Record<string, unknown>, @Req() req: Request, @Res() res: Response): Promise<void> {
    const address = normaliseEmail(field(body.email));
    const code = field(body.code).replace(/\s+/g, '');
    try {
      const user = await this.emails.completeSignInWithCode(address, code);
      await this.signIns.start(req, res, user);
      seeOther(res, '/account?notice=signed-in');
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      // One answer for a wrong, expired or spent code and an unknown address, as the library gives.
      const text = 'That code does not work: check the digits, or ask for a new one (a code expires after 15 minutes or 5 wrong tries).';
      sendPage(res, 400, signInInboxPage(this.site.context(req), looksLikeEmail(address) ? address : '', text));
    }
  }

  /** Shows the "Sign me in" button. Link scanners fetch this page too, so it only inspects the token. */
  @Get('sign-in/link')
  linkLanding(@Query('token') token: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.links.landing(req, res, token, 'sign-in', signInLinkPage);
  }

  /** The button: the only place the link is used up. */
  @Post('sign-in/link')
  withLink(@Body('token') token: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.links.use(req, res, 'sign-in', async () => {
      const user = await this.emails.completeSignIn(field(token));
      await this.signIns.start(req, res, user);
      seeOther(res, '/account?notice=signed-in');
    });
  }

  /** links.secureAccount: where the new-sign-in email's "this wasn't me" leads. */
  @Get('secure-account')
  secureAccount(@Req() req: Request, @Res() res: Response): void {
    sendPage(res, 200, secureAccountPage(this.site.context(req)));
  }
}
