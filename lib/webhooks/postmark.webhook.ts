import { BlockList, isIP } from 'node:net';
import type { ProviderEvent } from '../bounce-mailbox';
import { malformed, unauthorized } from './webhook.errors';
import { enhancedCodeIn, objectOf, parseJson, safeEqual, text } from './webhook.request';
import type { VerifiedWebhook, WebhookProvider, WebhookRequest } from './webhook.request';
import type { PostmarkWebhookOptions } from './webhooks.options';

/*
 * Postmark webhooks, as Postmark documents them ("Webhooks overview": no signature; protect the URL with basic
 * HTTP authentication in it, `https://<username>:<password>@example.com/webhook`, and/or allow only the IPs
 * Postmark sends from, which its support site lists and which change). Records ("Bounce webhook", "Spam
 * complaint", "Delivery", "Subscription change"): `RecordType`, `MessageID` (Postmark's id of the email),
 * `Email` or `Recipient`, a bounce's `Type` (`HardBounce`, `SoftBounce`, `Transient`, …) and `Details`.
 * Postmark sends our email with a Message-ID of its own, so an event is matched by `MessageID` against the id
 * Postmark's 250 reply gave (the delivery log's queue id).
 */
const HARD_BOUNCES = new Set(['HardBounce', 'BadEmailAddress']);
const SOFT_BOUNCES = new Set(['SoftBounce', 'Transient', 'DnsError', 'Blocked', 'DMARCPolicy']);

function postmarkEvent(record: Record<string, unknown>): ProviderEvent[] {
  const base = { provider: 'postmark', providerMessageId: text(record.MessageID) };
  const details = text(record.Details) ?? text(record.Description);
  switch (record.RecordType) {
    case 'Bounce': {
      const recipient = text(record.Email);
      const kind = String(record.Type);
      if (recipient === undefined) return [];
      if (kind === 'SpamComplaint') return [{ ...base, type: 'complaint', recipient }];
      if (!HARD_BOUNCES.has(kind) && !SOFT_BOUNCES.has(kind)) return [];
      return [{ ...base, type: 'bounce', hard: HARD_BOUNCES.has(kind), recipient, diagnosticCode: details, status: enhancedCodeIn(details) }];
    }
    case 'SpamComplaint': {
      const recipient = text(record.Email);
      return recipient === undefined ? [] : [{ ...base, type: 'complaint', recipient }];
    }
    case 'Delivery': {
      const recipient = text(record.Recipient);
      return recipient === undefined ? [] : [{ ...base, type: 'delivered', recipient, diagnosticCode: details }];
    }
    case 'SubscriptionChange': {
      const recipient = text(record.Recipient);
      // Only a recipient's own unsubscribe: a hard bounce or complaint comes as its own record.
      const unsubscribed = record.SuppressSending === true && record.SuppressionReason === 'ManualSuppression';
      return recipient === undefined || !unsubscribed ? [] : [{ ...base, type: 'unsubscribed', recipient }];
    }
    default:
      return [];
  }
}

/** The allow-list, or a problem with one of its entries. */
export function postmarkAllowList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.trim().split('/');
    const family = isIP(address);
    if (family === 0) throw new Error(`"${entry}" is not an IP address or CIDR range`);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, type);
    else if (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32)) list.addSubnet(address, Number(prefix), type);
    else throw new Error(`"${entry}" has a bad prefix length`);
  }
  return list;
}

export class PostmarkWebhook implements WebhookProvider {
  readonly name = 'postmark';
  private readonly allowed: BlockList | undefined;
  private readonly authorization: string | undefined;

  constructor(options: PostmarkWebhookOptions) {
    this.allowed = options.allowIps === undefined ? undefined : postmarkAllowList(options.allowIps);
    const { basicAuth } = options;
    this.authorization = basicAuth === undefined ? undefined : `Basic ${Buffer.from(`${basicAuth.username}:${basicAuth.password}`, 'utf8').toString('base64')}`;
  }

  async receive(request: WebhookRequest): Promise<VerifiedWebhook> {
    if (this.allowed !== undefined) {
      const ip = request.ip;
      const family = ip === undefined ? 0 : isIP(ip);
      if (ip === undefined || family === 0 || !this.allowed.check(ip, family === 6 ? 'ipv6' : 'ipv4')) throw unauthorized('the client address is not allowed');
    }
    if (this.authorization !== undefined && !safeEqual(request.header('authorization') ?? '', this.authorization)) {
      throw unauthorized('wrong or missing basic auth credentials');
    }
    const record = objectOf(parseJson(request.raw));
    if (record === undefined) throw malformed('the body is not a JSON object');
    return { events: postmarkEvent(record) };
  }
}
