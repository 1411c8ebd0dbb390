import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { EmailWorkflowService, InvalidTokenError, InvalidTokenReason } from 'nestjs-email-workflow';
import { Flash } from './flash';
import { field, sendPage, Site } from './site';
import type { PageContext } from './views/layout';
import { linkProblemPage } from './views/link-problems';
import type { LinkPurpose } from './views/link-problems';

/**
 * What every emailed link's two pages do alike. The GET page only inspects the token, since link
 * scanners fetch it too; its button POSTs the token, the only place it is used up. A token that
 * cannot be used gets the page that says why and what to do next.
 */
@Injectable()
export class LinkPages {
  constructor(
    private readonly emails: EmailWorkflowService,
    private readonly site: Site,
    private readonly flash: Flash,
  ) {}

  /** The GET page: `page` with its button when the token is usable, else the problem page. */
  async landing(req: Request, res: Response, token: unknown, purpose: LinkPurpose, page: (ctx: PageContext, token: string) => string): Promise<void> {
    const ctx = await this.site.context(req);
    // Sent here by a refused button (POST-redirect-GET): say why it was refused, as the POST found it.
    const refused = this.flash.take(req, res, `link-${purpose}`);
    if (refused) return sendPage(res, 400, linkProblemPage(ctx, purpose, refused.error as InvalidTokenReason));
    const inspection = await this.emails.inspectToken(field(token), purpose);
    if (!inspection.valid) return sendPage(res, 400, linkProblemPage(ctx, purpose, inspection.reason));
    sendPage(res, 200, page(ctx, field(token)));
  }

  /**
   * The POST: runs `use`; an InvalidTokenError sends the browser back (303) to the GET page, which shows
   * the problem, so Back never asks to resubmit the button. Anything else is thrown on.
   */
  async use(_req: Request, res: Response, purpose: LinkPurpose, token: unknown, use: () => Promise<void>): Promise<void> {
    try {
      await use();
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      this.refused(res, purpose, token, error.reason);
    }
  }

  /** Sends the browser to the GET page of `purpose`'s link, which then shows the problem `reason`. */
  refused(res: Response, purpose: LinkPurpose, token: unknown, reason: InvalidTokenReason): void {
    this.flash.refuse(res, `${LINK_PATHS[purpose]}?${new URLSearchParams({ token: field(token).slice(0, 512) })}`, `link-${purpose}`, reason);
  }
}

/** The GET page of each link, as the sample's routes and `links` options have them. */
const LINK_PATHS: Record<LinkPurpose, string> = {
  'verify-email': '/verify-email',
  'reset-password': '/reset-password',
  'sign-in': '/sign-in/link',
  'confirm-email-change': '/confirm-email-change',
  'revert-email-change': '/revert-email-change',
};
