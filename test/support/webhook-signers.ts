import { createHmac, createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { makeTestCertificates, runCommand } from './test-certificates';
import type { TestCertificates } from './test-certificates';

/*
 * Each provider's side of a webhook, built from its documentation with keys made here: what the provider
 * would post, signed as it signs. Nothing here comes from the library: the tests check the library against
 * these, not against itself.
 */

/** A request as the provider would send it: headers and the exact body bytes. */
export interface SignedRequest {
  headers: Record<string, string>;
  body: string;
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------- Amazon SNS (SES notifications)

/**
 * The string SNS signs ("Verifying the signatures of Amazon SNS messages"): `<name>\n<value>\n` for Message,
 * MessageId, Subject (if any), Timestamp, TopicArn, Type of a Notification; Message, MessageId, SubscribeURL,
 * Timestamp, Token, TopicArn, Type of a (Un)SubscriptionConfirmation.
 */
function snsStringToSign(message: Record<string, string>): string {
  const fields =
    message.Type === 'Notification'
      ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  return fields.filter((field) => field in message).map((field) => `${field}\n${message[field]}\n`).join('');
}

/**
 * A loopback https server (certificate from a throw-away test CA) serving an SNS signing certificate (RSA,
 * self-signed by openssl) at `/SimpleNotificationService-test.pem`, and answering SubscribeURL visits; it
 * records every request it gets.
 */
export class SnsSide {
  readonly requests: string[] = [];
  private constructor(
    private readonly server: Server,
    readonly tls: TestCertificates,
    readonly signingKey: KeyObject,
    /** A key no certificate belongs to: what a forger signs with. */
    readonly otherKey: KeyObject,
  ) {}

  static async start(dir: string): Promise<SnsSide> {
    const tls = await makeTestCertificates(dir);
    const keyFile = join(dir, 'sns-signing.key');
    const certFile = join(dir, 'sns-signing.pem');
    await runCommand(process.env.OPENSSL_BIN ?? 'openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=sns.amazonaws.com']);
    const [signingPem, certificate] = await Promise.all([readFile(keyFile, 'utf8'), readFile(certFile, 'utf8')]);
    const server = createServer({ key: tls.key, cert: tls.cert }, (request, response) => {
      side.requests.push(request.url ?? '');
      if (request.url === '/SimpleNotificationService-test.pem') {
        response.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(certificate);
      } else if (request.url?.startsWith('/?Action=ConfirmSubscription')) {
        response.writeHead(200, { 'content-type': 'text/xml' }).end('<ConfirmSubscriptionResponse/>');
      } else {
        response.writeHead(404).end();
      }
    });
    const side = new SnsSide(server, tls, createPrivateKey(signingPem), generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return side;
  }

  get host(): string {
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get certificateUrl(): string {
    return `https://${this.host}/SimpleNotificationService-test.pem`;
  }

  /** An SNS message as SNS posts it (JSON, text/plain), signed with version `version` unless `signWith` says otherwise. */
  message(fields: {
    type?: 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation';
    topicArn: string;
    message: string;
    version?: '1' | '2';
    timestamp?: Date;
    certificateUrl?: string;
    signWith?: KeyObject;
    subscribeUrl?: string;
  }): Record<string, string> {
    const type = fields.type ?? 'Notification';
    const message: Record<string, string> = {
      Type: type,
      MessageId: `${randomBytes(4).toString('hex')}-2a5c-472c-8df2-7ff2be2b3b1b`,
      TopicArn: fields.topicArn,
      Message: fields.message,
      Timestamp: (fields.timestamp ?? new Date()).toISOString(),
    };
    if (type !== 'Notification') {
      message.Token = randomBytes(32).toString('hex');
      message.SubscribeURL = fields.subscribeUrl ?? `https://${this.host}/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(fields.topicArn)}&Token=${message.Token}`;
    }
    const version = fields.version ?? '1';
    const signature = sign(version === '1' ? 'sha1' : 'sha256', Buffer.from(snsStringToSign(message)), fields.signWith ?? this.signingKey).toString('base64');
    return { ...message, SignatureVersion: version, Signature: signature, SigningCertURL: fields.certificateUrl ?? this.certificateUrl };
  }

  request(message: Record<string, string>): SignedRequest {
    return { headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': message.Type }, body: JSON.stringify(message) };
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** An SES notification ("Amazon SNS notification contents for Amazon SES"), with or without the original headers. */
export function sesNotification(type: 'Bounce' | 'Complaint' | 'Delivery' | 'DeliveryDelay', mail: { sesId: string; messageId?: string; to: string }, detail: Record<string, unknown>): string {
  const headers = mail.messageId === undefined ? {} : { headersTruncated: false, headers: [{ name: 'Message-ID', value: mail.messageId }], commonHeaders: { messageId: mail.messageId, to: [mail.to] } };
  const key = { Bounce: 'bounce', Complaint: 'complaint', Delivery: 'delivery', DeliveryDelay: 'deliveryDelay' }[type];
  return JSON.stringify({
    [type === 'DeliveryDelay' ? 'eventType' : 'notificationType']: type,
    [key]: { timestamp: new Date().toISOString(), ...detail },
    mail: { timestamp: new Date().toISOString(), source: 'no-reply@acme.test', messageId: mail.sesId, destination: [mail.to], ...headers },
  });
}

/** A fresh id in SES's form, as its SMTP interface answers `250 Ok <id>`. */
export function sesMessageId(): string {
  const hex = (bytes: number) => randomBytes(bytes).toString('hex');
  return `010001${hex(5)}-${hex(4)}-${hex(2)}-${hex(2)}-${hex(2)}-${hex(6)}-000000`;
}

// ---------------------------------------------------------------- SendGrid

/** SendGrid's side: an ECDSA P-256 key pair; the public key as its console shows it (base64 DER). */
export class SendGridSide {
  readonly keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  readonly otherKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

  get publicKey(): string {
    return this.keys.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  }

  /** The signature over timestamp + body ("Getting Started with the Event Webhook Security Features"). */
  /** `events` as JSON, or a string body as it is (to sign what is not JSON). */
  request(events: unknown[] | string, { timestamp = nowSeconds(), signWith = this.keys.privateKey }: { timestamp?: number; signWith?: KeyObject } = {}): SignedRequest {
    const body = typeof events === 'string' ? events : JSON.stringify(events);
    const signature = sign('sha256', Buffer.from(`${timestamp}${body}`), signWith).toString('base64');
    return {
      headers: { 'content-type': 'application/json', 'x-twilio-email-event-webhook-signature': signature, 'x-twilio-email-event-webhook-timestamp': String(timestamp) },
      body,
    };
  }
}

// ---------------------------------------------------------------- Mailgun

/** Mailgun's side: the webhook signing key; `signature` is hex HMAC-SHA256 of timestamp + token ("Securing Webhooks"). */
export class MailgunSide {
  readonly signingKey = randomBytes(24).toString('hex');

  signature({ timestamp = nowSeconds(), token = randomBytes(25).toString('hex'), key = this.signingKey } = {}): { timestamp: string; token: string; signature: string } {
    return { timestamp: String(timestamp), token, signature: createHmac('sha256', key).update(`${timestamp}${token}`).digest('hex') };
  }

  request(eventData: Record<string, unknown>, signature = this.signature()): SignedRequest {
    return { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ signature, 'event-data': eventData }) };
  }
}

// ---------------------------------------------------------------- Resend (Svix)

/** Resend's side: a `whsec_` secret; Svix signs `${id}.${timestamp}.${body}` ("Verifying Webhooks Manually"). */
export class ResendSide {
  readonly key = randomBytes(24);

  get secret(): string {
    return `whsec_${this.key.toString('base64')}`;
  }

  /** `event` as JSON, or a string body as it is (to sign what is not JSON). */
  request(event: unknown, { timestamp = nowSeconds(), key = this.key, id = `msg_${randomBytes(12).toString('hex')}` }: { timestamp?: number; key?: Buffer; id?: string } = {}): SignedRequest {
    const body = typeof event === 'string' ? event : JSON.stringify(event);
    const signature = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
    return { headers: { 'content-type': 'application/json', 'svix-id': id, 'svix-timestamp': String(timestamp), 'svix-signature': `v1,${signature}` }, body };
  }
}

// ---------------------------------------------------------------- Postmark

/** Postmark signs nothing: basic auth from the webhook URL's credentials ("Webhooks overview"). */
export function postmarkRequest(record: unknown, auth?: { username: string; password: string }): SignedRequest {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (auth) headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  return { headers, body: JSON.stringify(record) };
}
