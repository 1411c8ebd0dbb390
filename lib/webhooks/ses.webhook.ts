import { Logger } from '@nestjs/common';
import { verify } from 'node:crypto';
import { sesEvents } from './ses.events';
import { SnsCertificates } from './sns.certificates';
import { malformed, unauthorized } from './webhook.errors';
import { objectOf, parseJson, requireFresh, text, verifies } from './webhook.request';
import type { VerifiedWebhook, WebhookProvider, WebhookRequest } from './webhook.request';
import type { SesWebhookOptions, WebhookLimits } from './webhooks.options';

/*
 * Amazon SNS HTTP(S) deliveries, as AWS documents them ("Verifying the signatures of Amazon SNS messages",
 * "HTTP/HTTPS notification JSON format", "… subscription confirmation JSON format"), cross-checked against
 * AWS's validator (github.com/aws/aws-js-sns-message-validator, index.js):
 * - the string to sign is `<name>\n<value>\n` for each of these fields present, in this (byte) order;
 * - SignatureVersion 1 is SHA1withRSA, 2 is SHA256withRSA, over that string, base64 in `Signature`;
 * - the certificate comes from `SigningCertURL`, which must be https on SNS's host (sns.certificates.ts);
 * - SNS posts `text/plain; charset=UTF-8` unless the delivery policy's headerContentType says otherwise.
 */
const SIGNED_FIELDS: Record<string, readonly string[]> = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
};
const ALGORITHMS: Record<string, string> = { '1': 'sha1', '2': 'sha256' };

/** The string SNS signed for this message. */
export function snsStringToSign(message: Record<string, unknown>, type: string): string {
  return SIGNED_FIELDS[type]
    .filter((field) => typeof message[field] === 'string')
    .map((field) => `${field}\n${message[field] as string}\n`)
    .join('');
}

export class SesWebhook implements WebhookProvider {
  readonly name = 'ses';
  private readonly logger = new Logger('EmailWebhooks');
  private readonly topics: Set<string>;
  private readonly certificates: SnsCertificates;

  constructor(
    options: SesWebhookOptions,
    private readonly limits: WebhookLimits,
  ) {
    this.topics = new Set(options.topics);
    this.certificates = new SnsCertificates({ testOnlyCertificateServer: options.testOnlyCertificateServer });
  }

  async receive({ raw }: WebhookRequest): Promise<VerifiedWebhook> {
    const message = objectOf(parseJson(raw));
    if (message === undefined) throw malformed('the body is not a JSON object');
    const type = text(message.Type);
    if (type === undefined || !Object.hasOwn(SIGNED_FIELDS, type)) throw malformed('Type is not an SNS message type');
    const required = SIGNED_FIELDS[type].filter((field) => field !== 'Subject');
    if (required.some((field) => typeof message[field] !== 'string')) throw malformed(`a ${type} lacks a signed field`);
    // Checked before any certificate is fetched: a message from another topic costs us nothing.
    if (!this.topics.has(message.TopicArn as string)) throw unauthorized('TopicArn is not an allowed topic');
    requireFresh(Date.parse(message.Timestamp as string), this.limits.maxAgeMs);
    const algorithm = ALGORITHMS[String(message.SignatureVersion)];
    const signature = text(message.Signature);
    const certificateUrl = text(message.SigningCertURL);
    if (algorithm === undefined || signature === undefined || certificateUrl === undefined) throw unauthorized('no supported signature');
    const key = await this.certificates.key(certificateUrl);
    const signed = Buffer.from(snsStringToSign(message, type), 'utf8');
    if (!verifies(() => verify(algorithm, signed, key, Buffer.from(signature, 'base64')))) {
      throw unauthorized('the SNS signature does not verify');
    }
    if (type === 'SubscriptionConfirmation') {
      await this.certificates.confirm(message.SubscribeURL as string);
      this.logger.log(`Confirmed the SNS subscription to ${message.TopicArn as string}.`);
      return { events: [] };
    }
    if (type === 'UnsubscribeConfirmation') {
      this.logger.warn(`SNS says this endpoint was unsubscribed from ${message.TopicArn as string}; SES reports from it stop.`);
      return { events: [] };
    }
    // Not JSON (SES's "Successfully validated SNS topic…" test message) or no SES notification: nothing to record.
    return { events: sesEvents(parseJson(Buffer.from(message.Message as string, 'utf8'))) };
  }
}
