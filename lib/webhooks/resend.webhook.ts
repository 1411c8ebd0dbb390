import { createHmac } from 'node:crypto';
import type { ProviderEvent, ProviderEventType } from '../bounce-mailbox';
import { malformed, unauthorized } from './webhook.errors';
import { objectOf, parseJson, requireFresh, safeEqual, secondsToMs, text } from './webhook.request';
import type { VerifiedWebhook, WebhookProvider, WebhookRequest } from './webhook.request';
import type { ResendWebhookOptions, WebhookLimits } from './webhooks.options';

/*
 * Resend signs with Svix, as Svix documents it ("Verifying Webhooks Manually"): the signed content is
 * `${svix-id}.${svix-timestamp}.${raw body}`, the key is the base64 part of the secret after `whsec_`, the
 * signature HMAC-SHA256 in base64, and `svix-signature` a space-separated list of `v1,<signature>` (several
 * while a secret rotates); timestamps more than 5 minutes off are refused. Events (resend-node,
 * webhook-event.interface.ts): `type` email.bounced (`data.bounce.type` Permanent / Transient / Undetermined,
 * `message`), email.delivery_delayed, email.complained, email.delivered; `data.message_id` (the Message-ID),
 * `data.email_id` (Resend's id), `data.to` (the recipients).
 */
const TYPES: Record<string, ProviderEventType> = {
  'email.bounced': 'bounce',
  'email.delivery_delayed': 'delay',
  'email.complained': 'complaint',
  'email.delivered': 'delivered',
};

/** The HMAC key of a `whsec_` secret. Throws when it is not one. */
export function svixKey(secret: string): Buffer {
  const match = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret.trim());
  const key = match === null ? Buffer.alloc(0) : Buffer.from(match[1], 'base64');
  if (key.length < 16) throw new Error('not a whsec_ secret');
  return key;
}

function resendEvents(body: Record<string, unknown>): ProviderEvent[] {
  const type = TYPES[String(body.type)];
  const data = objectOf(body.data);
  if (type === undefined || data === undefined) return [];
  const bounce = objectOf(data.bounce);
  const recipients = Array.isArray(data.to) ? data.to.filter((to): to is string => typeof to === 'string') : typeof data.to === 'string' ? [data.to] : [];
  return recipients.map((recipient) => ({
    provider: 'resend',
    type,
    hard: type === 'bounce' ? bounce?.type === 'Permanent' : undefined,
    messageId: text(data.message_id),
    providerMessageId: text(data.email_id),
    recipient,
    diagnosticCode: text(bounce?.message),
  }));
}

export class ResendWebhook implements WebhookProvider {
  readonly name = 'resend';
  private readonly key: Buffer;

  constructor(
    options: ResendWebhookOptions,
    private readonly limits: WebhookLimits,
  ) {
    this.key = svixKey(options.secret);
  }

  async receive(request: WebhookRequest): Promise<VerifiedWebhook> {
    const id = request.header('svix-id');
    const timestamp = request.header('svix-timestamp');
    const signatures = request.header('svix-signature');
    if (id === undefined || timestamp === undefined || signatures === undefined) throw unauthorized('no Svix signature headers');
    requireFresh(secondsToMs(timestamp), this.limits.maxAgeMs);
    const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`, 'utf8'), request.raw]);
    const expected = createHmac('sha256', this.key).update(signed).digest('base64');
    // Every entry is compared (no early exit), so the time taken does not tell which one matched.
    const matches = signatures
      .split(' ')
      .map((entry) => entry.split(','))
      .map(([version, value]) => version === 'v1' && value !== undefined && safeEqual(value, expected));
    if (!matches.includes(true)) throw unauthorized('the Svix signature does not verify');
    const body = objectOf(parseJson(request.raw));
    if (body === undefined) throw malformed('the body is not a JSON object');
    return { events: resendEvents(body) };
  }
}
