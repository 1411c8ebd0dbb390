import { Body, Controller, Get, Post, Query, Req, Res, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import { EmailWorkflowService, InvalidRecipientError, InvalidTokenError } from 'nestjs-email-workflow';
import { EmailErrorsFilter } from './email-errors.filter';
import { Flash } from './flash';
import { passwordProblem } from './passwords';
import { Sessions } from './sessions';
import { field, looksLikeEmail, seeOther, sendPage, Site } from './site';
import { LinkPages } from './link-pages';
import { normaliseEmail, UsersStore } from './users.store';
import { forgotPasswordPage, resetPasswordPage } from './views/pages';

/** Forgot password → email → reset form → new password. */
@Controller()
@UseFilters(EmailErrorsFilter)
export class PasswordController {
  constructor(
    private readonly emails: EmailWorkflowService,
    private readonly users: UsersStore,
    private readonly sessions: Sessions,
    private readonly site: Site,
    private readonly links: LinkPages,
    private readonly flash: Flash,
  ) {}

  @Get('forgot-password')
  async forgotForm(@Req() req: Request, @Res() res: Response): Promise<void> {
    const refused = this.flash.take(req, res, 'forgot-password');
    sendPage(res, 200, forgotPasswordPage((await this.site.context(req)), { email: refused?.values.email, error: refused?.error }));
  }

  /** The same answer, in the same time, whether or not the address has an account. */
  @Post('forgot-password')
  async forgot(@Body('email') email: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    const address = normaliseEmail(field(email));
    const refuse = () => this.flash.refuse(res, '/forgot-password', 'forgot-password', 'Enter an email address such as ada@example.com.', { email: address.slice(0, 254) });
    if (!looksLikeEmail(address)) return refuse();
    try {
      await this.emails.requestPasswordReset(address, { ip: req.ip });
    } catch (error) {
      if (error instanceof InvalidRecipientError) return refuse();
      throw error; // RateLimitedError → EmailErrorsFilter's 429 page
    }
    seeOther(res, `/check-inbox?${new URLSearchParams({ for: 'reset-password', email: address })}`);
  }

  /** Shows the form if the link is usable; uses nothing up. */
  @Get('reset-password')
  resetForm(@Query('token') token: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    const refused = this.flash.take(req, res, 'reset-password');
    return this.links.landing(req, res, token, 'reset-password', (ctx, usable) => resetPasswordPage(ctx, usable, refused?.error));
  }

  @Post('reset-password')
  async reset(@Body() body: Record<string, unknown>, @Req() req: Request, @Res() res: Response): Promise<void> {
    const token = field(body.token);
    const password = field(body.password);
    try {
      const problem = passwordProblem(password);
      if (problem) {
        // Say first if the link itself is dead: a new password would not help then.
        const inspection = await this.emails.inspectToken(token, 'reset-password');
        if (!inspection.valid) return this.links.refused(res, 'reset-password', token, inspection.reason);
        // The form is shown again by its GET (POST-redirect-GET); the token is in that URL already.
        return this.flash.refuse(res, `/reset-password?${new URLSearchParams({ token })}`, 'reset-password', problem);
      }
      // The library uses the token up only if storing the new hash succeeds.
      const user = await this.emails.resetPassword(token, (found) => this.users.setPassword(found.id, password));
      await this.sessions.endAllFor(user.id);
      await this.sessions.signOut(res, req);
      seeOther(res, '/sign-in?notice=password-changed');
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      this.links.refused(res, 'reset-password', token, error.reason);
    }
  }
}
