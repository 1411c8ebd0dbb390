import { Injectable, Logger } from '@nestjs/common';
import { EmailEvent, OnEmailEvent } from 'nestjs-email-workflow';
import type { EmailFailedEvent, EmailSentEvent } from 'nestjs-email-workflow';

/** Logs what happened to each queued email, so a wrong SMTP_URL shows up in the console. */
@Injectable()
export class DeliveryLogger {
  private readonly logger = new Logger('Delivery');

  @OnEmailEvent(EmailEvent.Sent)
  sent(event: EmailSentEvent): void {
    this.logger.log(`Sent "${event.template}" to ${event.to} (${event.messageId})`);
  }

  @OnEmailEvent(EmailEvent.Failed)
  failed(event: EmailFailedEvent): void {
    this.logger.warn(`Could not send "${event.template}" to ${event.to}: ${event.reason}`);
  }
}
