import { ON_EMAIL_EVENT_METADATA } from './email-event.constants';
import type { EmailEvent } from './email-event.types';
import { appendMethodMetadata } from './method-metadata';

/**
 * Calls the decorated provider method whenever `event` happens. Stackable. The listener's failure
 * is logged and does not affect delivery.
 *
 * @example
 * @OnEmailEvent(EmailEvent.Failed)
 * onFailed(event: EmailFailedEvent) { this.alerts.notify(event.reason); }
 */
export function OnEmailEvent(event: EmailEvent): MethodDecorator {
  return appendMethodMetadata(ON_EMAIL_EVENT_METADATA, event);
}
