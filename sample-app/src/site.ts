import { Injectable, NestMiddleware, Optional } from '@nestjs/common';
import { DevInbox } from 'nestjs-email-workflow/dev-inbox';
import { ConfigService } from '@nestjs/config';
import type { NextFunction, Request, Response } from 'express';
import { Sessions } from './sessions';
import { readSettings } from './settings';
import { UsersStore } from './users.store';
import type { PageContext } from './views/layout';

export const DEV_INBOX_PATH = '/dev/inbox';
export const DEV_TEMPLATES_PATH = '/dev/templates';
export const DEV_DELIVERY_LOG_PATH = '/dev/delivery-log';

/** What pages share: who is signed in, and where the development tools are. */
@Injectable()
export class Site {
  private readonly devInbox?: string;
  private readonly devTemplates?: string;

  constructor(
    config: ConfigService,
    private readonly sessions: Sessions,
    private readonly users: UsersStore,
    @Optional() inbox?: DevInbox,
  ) {
    // With SMTP_URL set, emails really go out and the dev inbox stays empty: do not point to it.
    this.devInbox = inbox && !readSettings(config).smtpUrl ? DEV_INBOX_PATH : undefined;
    this.devTemplates = inbox ? DEV_TEMPLATES_PATH : undefined;
  }

  async context(req: Request): Promise<PageContext> {
    const userId = await this.sessions.userId(req);
    return { user: userId ? await this.users.get(userId) : undefined, devInbox: this.devInbox, devTemplates: this.devTemplates };
  }

  /**
   * For the error pages (exception filters, which Nest does not await): the page context, or the
   * signed-out one when it cannot be read, since the database may be what failed.
   */
  async errorContext(req: Request): Promise<PageContext> {
    return this.context(req).catch(() => ({ user: undefined, devInbox: this.devInbox, devTemplates: this.devTemplates }));
  }
}

/** Sends a rendered page. */
export function sendPage(res: Response, status: number, page: string): void {
  res.status(status).type('html').send(page);
}

/** 303 See Other: the browser follows it with a GET, so a reload never re-submits a form. */
export function seeOther(res: Response, location: string): void {
  res.redirect(303, location);
}

/** The string value of a form field or query parameter; '' for a missing, repeated or nested one. */
export function field(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Roughly one address (the library checks it again before sending). */
export function looksLikeEmail(value: string): boolean {
  return value.length <= 254 && /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:"]+$/.test(value);
}

/**
 * Headers for the app's own pages: nothing cached (pages show account data), no Referer sent on
 * (token URLs must not leak to other sites), no framing, and a CSP that allows only our stylesheet
 * and same-origin form posts.
 */
@Injectable()
export class PageHeadersMiddleware implements NestMiddleware {
  use(_req: Request, res: Response, next: NextFunction): void {
    setPageHeaders(res);
    next();
  }
}

/** The headers of PageHeadersMiddleware, for pages answered outside its routes (the error pages). */
export function setPageHeaders(res: Response): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader(
    'Content-Security-Policy',
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  );
}
