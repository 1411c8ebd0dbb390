import type { ProviderEvent } from '../bounce-mailbox';
import { objectOf, text } from './webhook.request';

/*
 * Amazon SES notifications as SES documents them ("Amazon SNS notification contents for Amazon SES", and the
 * event publishing records): `notificationType` (or `eventType` for event publishing) Bounce, Complaint,
 * Delivery or DeliveryDelay, the `mail` object (`messageId`: SES's own id, the one its SMTP interface
 * answers `250 Ok <id>` with; `commonHeaders.messageId` / `headers`: ours, when the configuration includes
 * the original headers), and the `bounce` / `complaint` / `delivery` / `deliveryDelay` object.
 */

/** A list field's objects. */
function objects(value: unknown): Array<Record<string, unknown>> {
  if (!Array.isArray(value)) return [];
  return value.map((item: unknown) => objectOf(item)).filter((item): item is Record<string, unknown> => item !== undefined);
}

/** `smtp; 550 5.1.1 …` as SES quotes a DSN's Diagnostic-Code: the reply without its type. */
function diagnostic(value: unknown): string | undefined {
  return text(value)?.replace(/^\s*smtp\s*;\s*/i, '');
}

/** Our Message-ID, when SES included the original headers. */
function ourMessageId(mail: Record<string, unknown>): string | undefined {
  const common = text(objectOf(mail.commonHeaders)?.messageId);
  if (common !== undefined) return common;
  const header = objects(mail.headers).find((entry) => typeof entry.name === 'string' && entry.name.toLowerCase() === 'message-id');
  return text(header?.value);
}

/** The events of one SES notification (the SNS `Message`, parsed): one per recipient it names, none for other types. */
export function sesEvents(notification: unknown): ProviderEvent[] {
  const body = objectOf(notification);
  const mail = objectOf(body?.mail);
  if (body === undefined || mail === undefined) return [];
  const type = text(body.notificationType) ?? text(body.eventType);
  const base = { provider: 'ses', messageId: ourMessageId(mail), providerMessageId: text(mail.messageId) };
  const recipients = (list: unknown, each: (recipient: Record<string, unknown>) => Omit<ProviderEvent, 'provider' | 'recipient'>): ProviderEvent[] =>
    objects(list).flatMap((recipient) => {
      const address = text(recipient.emailAddress);
      return address === undefined ? [] : [{ ...base, ...each(recipient), recipient: address }];
    });
  switch (type) {
    case 'Bounce': {
      const bounce = objectOf(body.bounce) ?? {};
      // Permanent: SES will not retry and suppresses the address itself; Transient and Undetermined are soft.
      const hard = bounce.bounceType === 'Permanent';
      return recipients(bounce.bouncedRecipients, (r) => ({ type: 'bounce', hard, status: text(r.status), diagnosticCode: diagnostic(r.diagnosticCode) }));
    }
    case 'Complaint':
      return recipients(objectOf(body.complaint)?.complainedRecipients, () => ({ type: 'complaint' }));
    case 'DeliveryDelay': {
      const delay = objectOf(body.deliveryDelay) ?? {};
      return recipients(delay.delayedRecipients, (r) => ({ type: 'delay', status: text(r.status), diagnosticCode: diagnostic(r.diagnosticCode) }));
    }
    case 'Delivery': {
      const delivery = objectOf(body.delivery) ?? {};
      const reply = text(delivery.smtpResponse);
      const addresses = Array.isArray(delivery.recipients) ? delivery.recipients.filter((address): address is string => typeof address === 'string') : [];
      return addresses.map((recipient) => ({ ...base, type: 'delivered', recipient, diagnosticCode: reply }));
    }
    default:
      return [];
  }
}
