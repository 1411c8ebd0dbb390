import { ArgumentsHost, Catch, HttpException } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { Request, Response } from 'express';
import { sendPage, setPageHeaders, Site } from './site';
import { errorPage } from './views/pages';

/** What the visitor reads for a client error the sample did not answer itself, by status. */
const CLIENT_ERRORS: Record<number, { title: string; text: string }> = {
  400: { title: 'We could not read that request', text: 'What was sent is not a form or JSON we understand. Go back and try again.' },
  404: { title: 'Page not found', text: 'There is no page at this address. Check the link, or start again from the home page.' },
  413: { title: 'That was too much to send', text: 'What was sent is larger than this app accepts. Shorten it and try again.' },
  415: { title: 'We could not read that request', text: 'What was sent is in a format this app does not accept.' },
};

/** The HTTP status of a client error (an HttpException or a body-parser error), else undefined. */
function clientStatus(error: unknown): number | undefined {
  const status =
    error instanceof HttpException
      ? error.getStatus()
      : // body-parser's http-errors (413 PayloadTooLargeError, 400 for a bad body, 415 …) carry `expose`
        error instanceof Error && (error as { expose?: unknown }).expose === true
        ? Number((error as { status?: unknown }).status)
        : undefined;
  return status !== undefined && status >= 400 && status < 500 ? status : undefined;
}

/**
 * The sample's pages for what no controller answered: an unknown path (404), a body too large (413)
 * or unreadable (400, malformed JSON or form). Client errors are not the server's fault, so they are
 * not logged; anything else goes to Nest's own filter (a 500, logged with its stack). The development
 * tools under /dev/ keep their own answers.
 */
@Catch()
export class PageErrorsFilter extends BaseExceptionFilter {
  constructor(private readonly site: Site) {
    super();
  }

  override async catch(error: unknown, host: ArgumentsHost): Promise<void> {
    if (host.getType() !== 'http') return super.catch(error, host);
    const req = host.switchToHttp().getRequest<Request>();
    const res = host.switchToHttp().getResponse<Response>();
    const status = clientStatus(error);
    if (status === undefined || res.headersSent) return super.catch(error, host);
    if (req.path.startsWith('/dev/')) {
      // Not the sample's pages: the answer Nest gives, without the stack Nest logs for a non-HttpException.
      return super.catch(error instanceof HttpException ? error : new HttpException((error as Error).message, status), host);
    }
    const page = CLIENT_ERRORS[status] ?? { title: 'We could not do that', text: 'The request was refused. Start again from the home page.' };
    setPageHeaders(res);
    sendPage(res, status, errorPage((await this.site.errorContext(req)), page.title, page.text));
  }
}
