import { createPublicKey, KeyObject, verify } from 'node:crypto';
import type { ProviderEvent, ProviderEventType } from '../bounce-mailbox';
import { malformed, unauthorized } from './webhook.errors';
import { enhancedCodeIn, objectOf, parseJson, requireFresh, secondsToMs, text, verifies } from './webhook.request';
import type { VerifiedWebhook, WebhookProvider, WebhookRequest } from './webhook.request';
import type { SendGridWebhookOptions, WebhookLimits } from './webhooks.options';

/*
 * SendGrid's Signed Event Webhook, as Twilio documents it ("Getting Started with the Event Webhook Security
 * Features"): an ECDSA (P-256) signature, base64 DER, in `X-Twilio-Email-Event-Webhook-Signature`, over the
 * `X-Twilio-Email-Event-Webhook-Timestamp` value followed by the raw body, SHA-256 (as SendGrid's own helper,
 * github.com/sendgrid/sendgrid-nodejs packages/eventwebhook, verifies it). The body is a JSON array of events
 * ("Event Webhook Reference"): `event`, `email`, `smtp-id` (the Message-ID), `sg_event_id`; a bounce has
 * `type` `bounce` (permanent) or `blocked` (temporary), `status` and `reason`.
 */
const SIGNATURE = 'x-twilio-email-event-webhook-signature';
const TIMESTAMP = 'x-twilio-email-event-webhook-timestamp';

const TYPES: Record<string, ProviderEventType> = {
  bounce: 'bounce',
  deferred: 'delay',
  delivered: 'delivered',
  spamreport: 'complaint',
  unsubscribe: 'unsubscribed',
  group_unsubscribe: 'unsubscribed',
};

/** The verification key as SendGrid shows it (base64 of the DER public key) or as PEM. Throws when it is neither. */
export function sendGridKey(publicKey: string): KeyObject {
  const trimmed = publicKey.trim();
  const key = trimmed.startsWith('-----BEGIN')
    ? createPublicKey(trimmed)
    : createPublicKey({ key: Buffer.from(trimmed, 'base64'), format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('not an ECDSA P-256 key');
  return key;
}

function sendGridEvent(value: unknown): ProviderEvent[] {
  const event = objectOf(value);
  const type = event === undefined ? undefined : TYPES[String(event.event)];
  const recipient = text(event?.email);
  if (event === undefined || type === undefined || recipient === undefined) return [];
  const reply = text(event.reason) ?? text(event.response);
  return [
    {
      provider: 'sendgrid',
      type,
      hard: type === 'bounce' ? event.type !== 'blocked' : undefined,
      messageId: text(event['smtp-id']),
      recipient,
      status: text(event.status) ?? enhancedCodeIn(reply),
      diagnosticCode: reply,
    },
  ];
}

export class SendGridWebhook implements WebhookProvider {
  readonly name = 'sendgrid';
  private readonly key: KeyObject;

  constructor(
    options: SendGridWebhookOptions,
    private readonly limits: WebhookLimits,
  ) {
    this.key = sendGridKey(options.publicKey);
  }

  async receive(request: WebhookRequest): Promise<VerifiedWebhook> {
    const signature = request.header(SIGNATURE);
    const timestamp = request.header(TIMESTAMP);
    if (signature === undefined || timestamp === undefined) throw unauthorized('no SendGrid signature headers');
    requireFresh(secondsToMs(timestamp), this.limits.maxAgeMs);
    const signed = Buffer.concat([Buffer.from(timestamp, 'utf8'), request.raw]);
    if (!verifies(() => verify('sha256', signed, { key: this.key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64')))) {
      throw unauthorized('the SendGrid signature does not verify');
    }
    const events = parseJson(request.raw);
    if (!Array.isArray(events)) throw malformed('the body is not a JSON array of events');
    return { events: events.flatMap(sendGridEvent) };
  }
}
