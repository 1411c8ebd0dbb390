import { Body, Controller, Get, Header, HttpCode, Post, Query, Res } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { randomBytes } from 'node:crypto';
import { EmailWorkflowService, InvalidRecipientError, SendEmailRequest } from 'nestjs-email-workflow';
import { escapeHtml, homePage } from './pages';
import { readSettings } from './settings';

/** The part of the Express response this controller uses. */
interface StatusResponse {
  status(code: number): unknown;
}

@Controller()
export class AppController {
  private readonly appUrl: string;

  constructor(
    private readonly email: EmailWorkflowService,
    config: ConfigService,
  ) {
    this.appUrl = readSettings(config).appUrl;
  }

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  home(): string {
    return homePage();
  }

  @Post('send-test')
  @HttpCode(200)
  @Header('Content-Type', 'text/html; charset=utf-8')
  sendTest(@Body('email') email: unknown, @Res({ passthrough: true }) res: StatusResponse): Promise<string> {
    return this.send({ template: 'test-email', to: String(email ?? '') }, res);
  }

  @Post('send-verification')
  @HttpCode(200)
  @Header('Content-Type', 'text/html; charset=utf-8')
  sendVerification(@Body('email') email: unknown, @Res({ passthrough: true }) res: StatusResponse): Promise<string> {
    // A real app stores the token with the user; the sample only shows what the email looks like.
    const token = randomBytes(16).toString('base64url');
    const link = `${this.appUrl}/verify-email?token=${token}`;
    return this.send({ template: 'verify-email', to: String(email ?? ''), context: { link, expiresIn: '24 hours' } }, res);
  }

  /** Where the verification link points. */
  @Get('verify-email')
  @Header('Content-Type', 'text/html; charset=utf-8')
  verify(@Query('token') token: unknown): string {
    return `<p>Demo: a real app would now look up the token <code>${escapeHtml(String(token ?? ''))}</code>.</p><p><a href="/">Back</a></p>`;
  }

  private async send(request: SendEmailRequest, res: StatusResponse): Promise<string> {
    try {
      const { id, messageId } = await this.email.send(request);
      return homePage({ ok: true, message: `Queued "${request.template}" for ${request.to as string} (job ${id}, ${messageId}).` });
    } catch (error) {
      if (!(error instanceof InvalidRecipientError)) throw error;
      res.status(400);
      return homePage({ ok: false, message: error.message });
    }
  }
}
