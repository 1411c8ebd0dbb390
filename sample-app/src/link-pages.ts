import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { EmailWorkflowService, InvalidTokenError } from 'nestjs-email-workflow';
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
  ) {}

  /** The GET page: `page` with its button when the token is usable, else the problem page. */
  async landing(req: Request, res: Response, token: unknown, purpose: LinkPurpose, page: (ctx: PageContext, token: string) => string): Promise<void> {
    const ctx = this.site.context(req);
    const inspection = await this.emails.inspectToken(field(token), purpose);
    if (!inspection.valid) return sendPage(res, 400, linkProblemPage(ctx, purpose, inspection.reason));
    sendPage(res, 200, page(ctx, field(token)));
  }

  /** The POST: runs `use`; an InvalidTokenError becomes the problem page, anything else is thrown on. */
  async use(req: Request, res: Response, purpose: LinkPurpose, use: () => Promise<void>): Promise<void> {
    try {
      await use();
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      sendPage(res, 400, linkProblemPage(this.site.context(req), purpose, error.reason));
    }
  }
}
