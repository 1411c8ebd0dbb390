import { ON_EMAIL_EVENT_METADATA } from './email-event.constants';
import type { EmailEvent } from './email-event.types';

/**
 * Calls the decorated provider method whenever `event` happens. Stackable. The listener's failure
 * is logged and does not affect delivery.
 *
 * @example
 * @OnEmailEvent(EmailEvent.Failed)
 * onFailed(event: EmailFailedEvent) { this.alerts.notify(event.reason); }
 */
export function OnEmailEvent(event: EmailEvent): MethodDecorator {
  return (_target, _key, descriptor) => {
    const method = descriptor.value as object;
    const events: EmailEvent[] = Reflect.getMetadata(ON_EMAIL_EVENT_METADATA, method) ?? [];
    Reflect.defineMetadata(ON_EMAIL_EVENT_METADATA, [...events, event], method);
    return descriptor;
  };
}
