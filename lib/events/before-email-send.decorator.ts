import { ALL_TEMPLATES, BEFORE_EMAIL_SEND_METADATA } from './email-event.constants';
import { appendMethodMetadata } from './method-metadata';

/**
 * Runs the decorated provider method before an email is queued, for one template or all. It gets
 * an `OutgoingEmail` and may change its context or headers, or cancel it. Hooks run in the order
 * they were found; one that throws makes `send()` reject, so a failing suppression check never
 * lets an email slip through.
 *
 * @example
 * @BeforeEmailSend()
 * async suppress(email: OutgoingEmail) {
 *   if (await this.bounces.has(email.to.address)) email.cancel('address bounced');
 * }
 */
export function BeforeEmailSend(template: string = ALL_TEMPLATES): MethodDecorator {
  return appendMethodMetadata(BEFORE_EMAIL_SEND_METADATA, template);
}
