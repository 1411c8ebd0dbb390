import { createHmac } from 'node:crypto';
import type { ProviderEvent } from '../bounce-mailbox';
import { malformed, unauthorized } from './webhook.errors';
import { enhancedCodeIn, objectOf, parseJson, requireFresh, safeEqual, secondsToMs, text } from './webhook.request';
import type { ReplayGuard, VerifiedWebhook, WebhookProvider, WebhookRequest } from './webhook.request';
import type { MailgunWebhookOptions, WebhookLimits } from './webhooks.options';

/*
 * Mailgun webhooks, as Mailgun documents them ("Securing Webhooks"): the JSON body holds `signature`
 * (`timestamp`, `token`: 50 random characters, `signature`: the hex HMAC-SHA256 of timestamp + token under the
 * webhook signing key) and `event-data`. The signature covers the timestamp and token only, not the event:
 * so each token is taken once (a replay within the age window is refused) and an old timestamp is refused.
 * Event data ("Event types"): `event` delivered / failed (`severity` permanent or temporary) / complained /
 * unsubscribed, `recipient`, `message.headers.message-id` (ours, without angle brackets), `delivery-status`.
 */
function mailgunEvent(data: Record<string, unknown>): ProviderEvent[] {
  const recipient = text(data.recipient);
  const headers = objectOf(objectOf(data.message)?.headers);
  const status = objectOf(data['delivery-status']);
  const reply = [status?.code, text(status?.message) ?? text(status?.description)].filter((part) => part !== undefined && part !== '').join(' ') || undefined;
  const base = { provider: 'mailgun', messageId: text(headers?.['message-id']), recipient: recipient ?? '', diagnosticCode: reply, status: enhancedCodeIn(reply) };
  if (recipient === undefined) return [];
  switch (data.event) {
    case 'delivered':
      return [{ ...base, type: 'delivered' }];
    case 'failed':
      // Temporary: Mailgun will try again (a delay); permanent: it gave up (a hard bounce, or an address on its lists).
      return [data.severity === 'permanent' ? { ...base, type: 'bounce', hard: true } : { ...base, type: 'delay' }];
    case 'complained':
      return [{ ...base, type: 'complaint' }];
    case 'unsubscribed':
      return [{ ...base, type: 'unsubscribed' }];
    default:
      return [];
  }
}

export class MailgunWebhook implements WebhookProvider {
  readonly name = 'mailgun';

  constructor(
    private readonly options: MailgunWebhookOptions,
    private readonly limits: WebhookLimits,
  ) {}

  async receive(request: WebhookRequest, replays: ReplayGuard): Promise<VerifiedWebhook> {
    const body = objectOf(parseJson(request.raw));
    if (body === undefined) throw malformed('the body is not a JSON object');
    const signature = objectOf(body.signature);
    const timestamp = text(signature?.timestamp) ?? (typeof signature?.timestamp === 'number' ? String(signature.timestamp) : undefined);
    const token = text(signature?.token);
    const given = text(signature?.signature);
    if (timestamp === undefined || token === undefined || given === undefined) throw unauthorized('no Mailgun signature');
    requireFresh(secondsToMs(timestamp), this.limits.maxAgeMs);
    const expected = createHmac('sha256', this.options.signingKey).update(timestamp + token).digest('hex');
    if (!safeEqual(expected, given.toLowerCase())) throw unauthorized('the Mailgun signature does not verify');
    const data = objectOf(body['event-data']);
    if (data === undefined) throw malformed('no event-data');
    // Kept past the age window either way, so a token is never good twice.
    const key = `mailgun-token\0${token}`;
    if (!(await replays.firstUse(key, 2 * this.limits.maxAgeMs + 60_000))) throw unauthorized('the Mailgun token was used before');
    return { events: mailgunEvent(data), release: () => replays.release(key) };
  }
}
