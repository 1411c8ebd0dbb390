import { Body, Controller, Get, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import { EmailWorkflowService, InvalidRecipientError, InvalidTokenError } from 'nestjs-email-workflow';
import { CODE_MAX_ATTEMPTS, CodeTries } from './code-tries';
import { EmailErrorsFilter } from './email-errors.filter';
import { Flash } from './flash';
import { SignIns } from './sign-ins';
import { field, looksLikeEmail, seeOther, sendPage, Site } from './site';
import { LinkPages } from './link-pages';
import { normaliseEmail } from './users.store';
import { secureAccountPage, signInLinkPage } from './views/sign-in.pages';

/** Sign-in without a password: a link or a code by email (flows.signIn.delivery 'both'). */
@Controller()
@UseFilters(EmailErrorsFilter)
export class SignInController {
  constructor(
    private readonly emails: EmailWorkflowService,
    private readonly signIns: SignIns,
    private readonly site: Site,
    private readonly links: LinkPages,
    private readonly flash: Flash,
    private readonly tries: CodeTries,
  ) {}

  /** The sign-in form's second button. The same answer, in the same time, for any address. */
  @Post('sign-in/email')
  async requestLink(@Body() body: Record<string, unknown>, @Req() req: Request, @Res() res: Response): Promise<void> {
    const address = normaliseEmail(field(body.email));
    const again = field(body.again) === '1';
    const refuse = () =>
      again
        ? this.flash.refuse(res, '/check-inbox?for=sign-in', 'sign-in-code', 'Enter your email address, such as ada@example.com, to get a new code.')
        : this.flash.refuse(res, '/sign-in', 'sign-in', 'Enter your email address, such as ada@example.com, to get a sign-in link.', { email: address.slice(0, 254) });
    if (!looksLikeEmail(address)) return refuse();
    try {
      await this.emails.requestSignIn(address, { ip: req.ip });
    } catch (error) {
      if (error instanceof InvalidRecipientError) return refuse();
      throw error; // RateLimitedError → EmailErrorsFilter's 429 page
    }
    // The library replaces older codes once this email is queued: their tries no longer matter.
    this.tries.reset(address);
    seeOther(res, `/check-inbox?${new URLSearchParams({ for: 'sign-in', email: address, ...(again && { again: '1' }) })}`);
  }

  @Post('sign-in/code')
  async withCode(@Body() body: Record<string, unknown>, @Req() req: Request, @Res() res: Response): Promise<void> {
    const address = normaliseEmail(field(body.email));
    const code = field(body.code).replace(/\s+/g, '');
    try {
      const user = await this.emails.completeSignInWithCode(address, code);
      this.tries.reset(address);
      await this.signIns.start(req, res, user);
      seeOther(res, '/account?notice=signed-in');
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      // The library gives one answer for a wrong, expired or spent code and an unknown address. The
      // sample counts the refusals it gave for this address (the same for any address) to say when
      // the code is used up, which only a new code mends. Shown by the page's GET (POST-redirect-GET).
      const usedUp = this.tries.refuse(address);
      const text = usedUp
        ? `That code is used up: after ${CODE_MAX_ATTEMPTS} wrong tries it no longer works, even with the right digits. Send yourself a new code below.`
        : `That code does not work: check the digits, or send yourself a new one below (a code stops working after 15 minutes or ${CODE_MAX_ATTEMPTS} wrong tries).`;
      const email = looksLikeEmail(address) ? address : '';
      this.flash.refuse(res, `/check-inbox?${new URLSearchParams({ for: 'sign-in', email })}`, 'sign-in-code', text, { usedUp: usedUp ? 'yes' : 'no' });
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
    return this.links.use(req, res, 'sign-in', token, async () => {
      const user = await this.emails.completeSignIn(field(token));
      await this.signIns.start(req, res, user);
      seeOther(res, '/account?notice=signed-in');
    });
  }

  /** links.secureAccount: where the new-sign-in email's "this wasn't me" leads. */
  @Get('secure-account')
  async secureAccount(@Req() req: Request, @Res() res: Response): Promise<void> {
    sendPage(res, 200, secureAccountPage(await this.site.context(req)));
  }
}
