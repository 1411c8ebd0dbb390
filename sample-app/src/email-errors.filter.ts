import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { EmailWorkflowError, QueueUnavailableError, RateLimitedError } from 'nestjs-email-workflow';
import { sendPage, Site } from './site';
import { messagePage } from './views/pages';

/** The library's errors that a controller did not handle itself, as pages. */
@Catch(EmailWorkflowError)
export class EmailErrorsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Sample');

  constructor(private readonly site: Site) {}

  async catch(error: EmailWorkflowError, host: ArgumentsHost): Promise<void> {
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const ctx = await this.site.errorContext(req);
    if (error instanceof RateLimitedError) {
      res.setHeader('Retry-After', String(error.retryAfterSeconds));
      const minutes = Math.max(1, Math.ceil(error.retryAfterSeconds / 60));
      return sendPage(res, 429, messagePage(ctx, 'Too many requests', `We have sent several emails to this address or from your network already. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`, 'warn'));
    }
    this.logger.error(`${error.code}: ${error.message}`);
    const status = error instanceof QueueUnavailableError ? 503 : 500;
    sendPage(res, status, messagePage(ctx, 'We could not send the email', 'Something went wrong on our side. Please try again in a few minutes.'));
  }
}
