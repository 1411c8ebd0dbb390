import { Injectable, Logger, Optional } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { EmailEvent, OnEmailEvent } from 'nestjs-email-workflow';
import type { EmailFailedEvent, EmailSentEvent } from 'nestjs-email-workflow';
import { DevInbox } from 'nestjs-email-workflow/dev-inbox';
import { DEV_INBOX_PATH } from './site';
import { readSettings } from './settings';

/**
 * Logs each email as it goes out: with the dev inbox, its recipient, subject, links and inbox page
 * (so a link can be copied straight from the console); with SMTP_URL, the delivery outcome, so a
 * wrong SMTP_URL shows up in the console.
 */
@Injectable()
export class EmailLog {
  private readonly logger = new Logger('Email');
  private readonly catching: boolean;
  private readonly appUrl: string;

  constructor(
    config: ConfigService,
    @Optional() private readonly inbox?: DevInbox,
  ) {
    const settings = readSettings(config);
    this.catching = Boolean(inbox) && !settings.smtpUrl;
    this.appUrl = settings.appUrl;
  }

  @OnEmailEvent(EmailEvent.Sent)
  sent(event: EmailSentEvent): void {
    // The catcher stores an email before answering the SMTP client, so it is there by now.
    const caught = this.catching ? this.inbox?.messages().find((email) => email.messageId === event.messageId) : undefined;
    if (!caught) {
      this.logger.log(`Sent "${event.template}" to ${event.to} (${event.messageId})`);
      return;
    }
    const links = linksIn(caught.html ?? '');
    this.logger.log(
      `Caught "${caught.subject}" to ${caught.to}; links: ${links.join(' ') || '(none)'}; read it at ${this.appUrl}${DEV_INBOX_PATH}/${caught.id}`,
    );
  }

  @OnEmailEvent(EmailEvent.Failed)
  failed(event: EmailFailedEvent): void {
    this.logger.warn(`Could not send "${event.template}" to ${event.to}: ${event.reason}`);
  }
}

/** Every distinct href of the HTML part except mailto:, entities decoded. */
function linksIn(html: string): string[] {
  const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((match) => decodeEntities(match[1]));
  return [...new Set(hrefs.filter((href) => !href.startsWith('mailto:')))];
}

function decodeEntities(value: string): string {
  return value
    .replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, dec: string) => String.fromCodePoint(Number(dec)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
