import { Injectable, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { EmailUser, EmailWorkflowService } from 'nestjs-email-workflow';
import { Sessions } from './sessions';

/** Starting a session, whichever way the user proved who they are (password, link or code). */
@Injectable()
export class SignIns {
  private readonly logger = new Logger('Sample');

  constructor(
    private readonly sessions: Sessions,
    private readonly emails: EmailWorkflowService,
  ) {}

  /** Signs the user in and emails them a note about it, so a sign-in they did not make does not go unseen. */
  async start(req: Request, res: Response, user: EmailUser): Promise<void> {
    await this.sessions.signIn(res, req, user.id);
    try {
      await this.emails.notifyNewSignIn(user, { ip: req.ip, userAgent: req.get('user-agent') });
    } catch (error) {
      // The note is a courtesy: a full queue must not keep the user out.
      this.logger.warn(`No new-sign-in note for user ${user.id}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
