import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmailEvent } from 'nestjs-email-workflow';
import type { EmailWebhooksOptions } from 'nestjs-email-workflow/webhooks';
import { address, bootWebhookApp, observe, PLATFORMS, post, sent, startProviderSink } from '../support/webhook-app';
import type { WebhookApp } from '../support/webhook-app';
import { MailgunSide, postmarkRequest, ResendSide, SendGridSide, sesMessageId, sesNotification, SnsSide } from '../support/webhook-signers';
import type { SignedRequest } from '../support/webhook-signers';
import type { SmtpSink } from '../support/smtp-sink';

/*
 * Issue 24: signed webhooks from SES (through SNS), SendGrid, Mailgun, Postmark and Resend, posted over HTTP to
 * a real Nest app created with `rawBody: true`, on Express and on Fastify. Every request is built here from the
 * provider's documented format and signed with keys made here (webhook-signers.ts); the emails they are about
 * were really sent through the module first, so there are Message-IDs (and SES / Postmark ids) to match.
 */

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:ses-events';
const OTHER_TOPIC = 'arn:aws:sns:eu-west-1:210987654321:someone-else';
const MAX_BODY = 32 * 1024;
const POSTMARK_AUTH = { username: 'postmark-hooks', password: randomBytes(12).toString('hex') };
const sendgrid = new SendGridSide();
const mailgun = new MailgunSide();
const resend = new ResendSide();
let sns: SnsSide;
let sink: SmtpSink;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'webhooks-'));
  [sns, sink] = await Promise.all([SnsSide.start(dir), startProviderSink()]);
});

afterAll(async () => {
  await Promise.all([sns?.close(), sink?.close()]);
  await rm(dir, { recursive: true, force: true });
});

function webhookOptions(): EmailWebhooksOptions {
  return {
    maxBodySize: MAX_BODY,
    ses: { topics: [TOPIC], testOnlyCertificateServer: { host: sns.host, ca: sns.tls.ca } },
    sendgrid: { publicKey: sendgrid.publicKey },
    mailgun: { signingKey: mailgun.signingKey },
    postmark: { basicAuth: POSTMARK_AUTH, allowIps: ['127.0.0.1', '::1'] },
    resend: { secret: resend.secret },
  };
}

/** The same request with its body changed after it was signed (a byte of the payload swapped). */
function altered(request: SignedRequest, from: string, to: string): SignedRequest {
  if (!request.body.includes(from)) throw new Error(`the body has no ${from}`);
  return { ...request, body: request.body.replace(from, to) };
}

const oversized = (contentType: string): SignedRequest => ({ headers: { 'content-type': contentType }, body: `{"padding":"${'x'.repeat(MAX_BODY)}"}` });
const tenMinutesAgo = () => Math.floor(Date.now() / 1000) - 600;

describe.each(PLATFORMS)('provider webhooks on %s', (platform, adapter) => {
  let app: WebhookApp;

  beforeAll(async () => {
    app = await bootWebhookApp(adapter(), sink.port, webhookOptions());
    expect(app.app.getHttpAdapter().getType()).toBe(platform.toLowerCase());
  });

  afterAll(async () => {
    await app?.app.close();
  });

  /** A signed SES notification through SNS about `mail`. */
  const sesMessage = (type: Parameters<typeof sesNotification>[0], mail: { sesId: string; messageId?: string; to: string }, detail: Record<string, unknown>, version: '1' | '2' = '2') =>
    sns.message({ topicArn: TOPIC, version, message: sesNotification(type, mail, detail) });
  const hardBounce = (recipient: string) => ({
    bounceType: 'Permanent',
    bounceSubType: 'General',
    bouncedRecipients: [{ emailAddress: recipient, action: 'failed', status: '5.1.1', diagnosticCode: `smtp; 550 5.1.1 <${recipient}>: Recipient address rejected: User unknown` }],
  });

  it('SES through SNS (signature versions 1 and 2): bounce, complaint, delivery, delay; matched by the SES id of the 250 reply or by Message-ID; twice counts once', async () => {
    const [ada, bob, carol, dan, erin] = ['ada', 'bob', 'carol', 'dan', 'erin'].map((name) => address(name, 'ses.test'));
    const certificateFetches = () => sns.requests.filter((url) => url === '/SimpleNotificationService-test.pem').length;
    const fetchedBefore = certificateFetches();
    const adaMail = await sent(app, ada);
    expect(adaMail.providerId).toMatch(/^[0-9a-f]{16}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-[0-9]{6}$/);
    const [bobMail, carolMail, danMail, erinMail] = [await sent(app, bob), await sent(app, carol), await sent(app, dan), await sent(app, erin)];

    // Version 1 (SHA1withRSA), no original headers in the notification: found by the SES id alone.
    const bounce = sesMessage('Bounce', { sesId: adaMail.providerId!, to: ada }, hardBounce(ada), '1');
    expect(await post(app, 'ses', sns.request(bounce))).toEqual({ status: 200, body: '' });
    expect(await app.suppressions.find(ada)).toEqual({ address: ada, reason: 'bounce', code: '5.1.1', messageId: adaMail.messageId, suppressedAt: expect.any(Date) });
    const record = await app.log.get(adaMail.messageId);
    expect(record!.steps.map((step) => step.event)).toEqual(['queued', 'sent', 'bounced']);
    expect(record!.steps[2]).toMatchObject({ provider: 'ses', enhancedCode: '5.1.1', suppressed: true, reply: '550 5.1.1 <[address]>: Recipient address rejected: User unknown' });
    expect(app.events.seen[EmailEvent.Bounced]).toEqual([
      { messageId: adaMail.messageId, template: 'test-email', to: ada, status: '5.1.1', diagnosticCode: '550 5.1.1 <[address]>: Recipient address rejected: User unknown', suppressed: true, provider: 'ses' },
    ]);
    // SNS retries the very message, and SES may publish the bounce twice: counted once either way.
    expect((await post(app, 'ses', sns.request(bounce))).status).toBe(200);
    expect((await post(app, 'ses', sns.request(sesMessage('Bounce', { sesId: adaMail.providerId!, to: ada }, hardBounce(ada))))).status).toBe(200);
    expect(app.events.seen[EmailEvent.Bounced]).toHaveLength(1);
    expect((await app.log.get(adaMail.messageId))!.steps).toHaveLength(3);

    // Version 2 (SHA256withRSA) with the original headers: found by our Message-ID even under an SES id we never saw.
    const complaint = sesMessage('Complaint', { sesId: sesMessageId(), messageId: bobMail.messageId, to: bob }, { complainedRecipients: [{ emailAddress: bob }], complaintFeedbackType: 'abuse' });
    expect((await post(app, 'ses', sns.request(complaint))).status).toBe(200);
    expect(await app.suppressions.find(bob)).toMatchObject({ reason: 'complaint', messageId: bobMail.messageId });
    expect(app.events.seen[EmailEvent.Complained]).toEqual([{ messageId: bobMail.messageId, template: 'test-email', to: bob, suppressed: true, provider: 'ses' }]);

    const delivery = sesMessage('Delivery', { sesId: carolMail.providerId!, to: carol }, { recipients: [carol], smtpResponse: '250 2.6.0 Message received', processingTimeMillis: 546 });
    const delay = sesMessage('DeliveryDelay', { sesId: danMail.providerId!, to: dan }, { delayType: 'MailboxFull', delayedRecipients: [{ emailAddress: dan, status: '4.2.2', diagnosticCode: 'smtp; 452 4.2.2 Mailbox full' }] });
    const softBounce = sesMessage('Bounce', { sesId: erinMail.providerId!, to: erin }, {
      bounceType: 'Transient',
      bounceSubType: 'MailboxFull',
      bouncedRecipients: [{ emailAddress: erin, status: '4.2.2', diagnosticCode: 'smtp; 452 4.2.2 Mailbox full' }],
    });
    for (const message of [delivery, delay, softBounce]) expect((await post(app, 'ses', sns.request(message))).status).toBe(200);
    expect(app.events.seen[EmailEvent.Delivered]).toEqual([{ messageId: carolMail.messageId, template: 'test-email', to: carol, diagnosticCode: '250 2.6.0 Message received', suppressed: false, provider: 'ses' }]);
    expect(app.events.seen[EmailEvent.Delayed]).toEqual([{ messageId: danMail.messageId, template: 'test-email', to: dan, status: '4.2.2', diagnosticCode: '452 4.2.2 Mailbox full', suppressed: false, provider: 'ses' }]);
    expect(app.events.seen[EmailEvent.Bounced][1]).toMatchObject({ messageId: erinMail.messageId, status: '4.2.2', suppressed: false, provider: 'ses' });
    expect((await app.log.get(carolMail.messageId))!.status).toBe('delivered');
    expect((await app.log.get(danMail.messageId))!.status).toBe('delayed');
    expect((await app.log.get(erinMail.messageId))!.status).toBe('bounced');
    // A soft bounce, a delay and a delivery suppress nobody.
    expect((await app.suppressions.list()).map((entry) => entry.address).sort()).toEqual([ada, bob].sort());
    // Seven messages, one certificate URL: fetched once, then cached.
    expect(certificateFetches() - fetchedBefore).toBe(1);
  });

  it('SNS: a SubscriptionConfirmation of an allowed topic is confirmed (its SubscribeURL visited); of another topic, refused and never visited', async () => {
    const allowed = sns.message({ type: 'SubscriptionConfirmation', topicArn: TOPIC, message: `You have chosen to subscribe to the topic ${TOPIC}.` });
    expect((await post(app, 'ses', sns.request(allowed))).status).toBe(200);
    expect(sns.requests).toContain(`/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(TOPIC)}&Token=${allowed.Token}`);

    const other = sns.message({ type: 'SubscriptionConfirmation', topicArn: OTHER_TOPIC, message: `You have chosen to subscribe to the topic ${OTHER_TOPIC}.` });
    const before = sns.requests.length;
    expect((await post(app, 'ses', sns.request(other))).status).toBe(401);
    expect(sns.requests.slice(before)).toEqual([]);
    expect(sns.requests.some((url) => url.includes(other.Token))).toBe(false);
  });

  it('SNS: forged, altered, stale, foreign-certificate, other-topic, malformed, oversize, unknown and other-recipient messages change nothing', async () => {
    const ada = address('ada', 'ses.test');
    const mallory = address('mallory', 'ses.test');
    const adaMail = await sent(app, ada);
    const before = await observe(app, [adaMail.messageId]);
    const ignoredBefore = app.events.seen[EmailEvent.ReportIgnored].length;
    const notification = sesNotification('Bounce', { sesId: adaMail.providerId!, to: ada }, hardBounce(ada));
    const valid = sns.message({ topicArn: TOPIC, message: notification });
    const foreignHost = sns.certificateUrl.replace('127.0.0.1', 'localhost');

    const refused: Array<[string, SignedRequest, number]> = [
      ['signed with a key of no SNS certificate', sns.request(sns.message({ topicArn: TOPIC, message: notification, signWith: sns.otherKey })), 401],
      ['signed, then the Message changed', sns.request({ ...valid, Message: notification.replace('"Permanent"', '"Transient"') }), 401],
      ['signed, then the Timestamp changed', sns.request({ ...valid, Timestamp: new Date(Date.parse(valid.Timestamp) + 1).toISOString() }), 401],
      ['a stale Timestamp (10 minutes ago)', sns.request(sns.message({ topicArn: TOPIC, message: notification, timestamp: new Date(Date.now() - 600_000) })), 401],
      ['SigningCertURL on another host', sns.request(sns.message({ topicArn: TOPIC, message: notification, certificateUrl: foreignHost })), 401],
      ['SigningCertURL over http', sns.request(sns.message({ topicArn: TOPIC, message: notification, certificateUrl: sns.certificateUrl.replace('https:', 'http:') })), 401],
      ['a topic not allowed', sns.request(sns.message({ topicArn: OTHER_TOPIC, message: notification })), 401],
      ['an unknown signature version', sns.request({ ...valid, SignatureVersion: '3' }), 401],
      ['malformed JSON', { headers: { 'content-type': 'text/plain; charset=UTF-8' }, body: JSON.stringify(valid).slice(0, -2) }, 400],
      ['a body over maxBodySize', oversized('text/plain; charset=UTF-8'), 413],
    ];
    const fetchedBefore = sns.requests.length;
    for (const [what, request, status] of refused) {
      const response = await post(app, 'ses', request);
      expect({ what, status: response.status }).toEqual({ what, status });
      // No detail on why: the body is the status's own name at most.
      expect(response.body).not.toMatch(/signature|certificate|topic|timestamp|stale/i);
    }
    // Neither the foreign host nor plain http was ever asked for a certificate.
    expect(sns.requests.slice(fetchedBefore).every((url) => url === '/SimpleNotificationService-test.pem')).toBe(true);

    // Authentic messages about an email we never sent, or about ours but another recipient: 200, and ignored.
    const unknown = sns.message({ topicArn: TOPIC, message: sesNotification('Bounce', { sesId: sesMessageId(), messageId: `<${randomUUID()}@acme.test>`, to: ada }, hardBounce(ada)) });
    const otherRecipient = sns.message({ topicArn: TOPIC, message: sesNotification('Bounce', { sesId: adaMail.providerId!, messageId: adaMail.messageId, to: mallory }, hardBounce(mallory)) });
    expect((await post(app, 'ses', sns.request(unknown))).status).toBe(200);
    expect((await post(app, 'ses', sns.request(otherRecipient))).status).toBe(200);
    expect(app.events.seen[EmailEvent.ReportIgnored].slice(ignoredBefore)).toEqual([
      { type: 'bounce', reason: 'unknown-message', provider: 'ses' },
      { type: 'bounce', reason: 'recipient-mismatch', provider: 'ses' },
    ]);
    expect(await observe(app, [adaMail.messageId])).toEqual(before);
    expect(await app.suppressions.has(mallory)).toBe(false);
  });

  it('SendGrid (ECDSA over timestamp + raw body): a batch of bounce, blocked, deferred, delivered, spam report and unsubscribe, by smtp-id; twice counts once', async () => {
    const [ada, bob, carol, dan, erin, fay] = ['ada', 'bob', 'carol', 'dan', 'erin', 'fay'].map((name) => address(name, 'sendgrid.test'));
    const mails = await Promise.all([ada, bob, carol, dan, erin, fay].map((to) => sent(app, to)));
    const [adaMail, bobMail, carolMail, danMail, erinMail, fayMail] = mails;
    const base = (email: string, messageId: string, event: string) => ({ email, timestamp: Math.floor(Date.now() / 1000), 'smtp-id': messageId, event, sg_event_id: randomUUID(), sg_message_id: `${randomBytes(8).toString('hex')}.filter0001.0` });
    const batch = [
      { ...base(ada, adaMail.messageId, 'processed') },
      { ...base(ada, adaMail.messageId, 'bounce'), type: 'bounce', status: '5.1.1', reason: '550 5.1.1 The email account that you tried to reach does not exist' },
      { ...base(bob, bobMail.messageId, 'bounce'), type: 'blocked', status: '5.7.1', reason: '550 5.7.1 Blocked by policy' },
      { ...base(carol, carolMail.messageId, 'deferred'), response: '421 4.7.0 Try again later', attempt: '2' },
      { ...base(dan, danMail.messageId, 'delivered'), response: '250 2.0.0 OK' },
      { ...base(erin, erinMail.messageId, 'spamreport') },
      { ...base(fay, fayMail.messageId, 'unsubscribe') },
      { ...base(dan, danMail.messageId, 'open'), useragent: 'Mozilla/5.0' },
    ];
    const request = sendgrid.request(batch);
    expect(await post(app, 'sendgrid', request)).toEqual({ status: 200, body: '' });
    expect(await app.suppressions.find(ada)).toMatchObject({ reason: 'bounce', code: '5.1.1', messageId: adaMail.messageId });
    expect(await app.suppressions.find(erin)).toMatchObject({ reason: 'complaint', messageId: erinMail.messageId });
    expect(await app.suppressions.find(fay)).toMatchObject({ reason: 'unsubscribed', messageId: fayMail.messageId });
    for (const soft of [bob, carol, dan]) expect(await app.suppressions.has(soft)).toBe(false);
    const statuses = await Promise.all(mails.map(async ({ messageId }) => (await app.log.get(messageId))!.status));
    expect(statuses).toEqual(['bounced', 'bounced', 'delayed', 'delivered', 'complained', 'unsubscribed']);
    expect(app.events.seen[EmailEvent.Unsubscribed]).toEqual([{ messageId: fayMail.messageId, template: 'test-email', to: fay, suppressed: true, provider: 'sendgrid' }]);
    expect(app.events.seen[EmailEvent.Delayed].at(-1)).toEqual({ messageId: carolMail.messageId, template: 'test-email', to: carol, status: '4.7.0', diagnosticCode: '421 4.7.0 Try again later', suppressed: false, provider: 'sendgrid' });

    // SendGrid retries a batch it got no 2xx for: the same events count once.
    const after = await observe(app, mails.map((mail) => mail.messageId));
    expect((await post(app, 'sendgrid', sendgrid.request(batch))).status).toBe(200);
    expect(await observe(app, mails.map((mail) => mail.messageId))).toEqual(after);
  });

  it('SendGrid: a wrong key, a body altered after signing, a stale or missing timestamp, malformed JSON, an oversize body, an unknown email and another recipient change nothing', async () => {
    const ada = address('ada', 'sendgrid.test');
    const adaMail = await sent(app, ada);
    const before = await observe(app, [adaMail.messageId]);
    const ignoredBefore = app.events.seen[EmailEvent.ReportIgnored].length;
    const bounce = (email: string, messageId: string) => [{ email, timestamp: Math.floor(Date.now() / 1000), 'smtp-id': messageId, event: 'bounce', type: 'bounce', status: '5.1.1', sg_event_id: randomUUID() }];
    const valid = sendgrid.request(bounce(ada, adaMail.messageId));
    const { 'x-twilio-email-event-webhook-signature': _signature, ...unsigned } = valid.headers;
    const cases: Array<[string, SignedRequest, number]> = [
      ['signed with another key', sendgrid.request(bounce(ada, adaMail.messageId), { signWith: sendgrid.otherKeys.privateKey }), 401],
      ['the body altered after signing', altered(valid, '"bounce"', '"bounce" '), 401],
      ['the timestamp header changed after signing', { ...valid, headers: { ...valid.headers, 'x-twilio-email-event-webhook-timestamp': String(Math.floor(Date.now() / 1000) - 1) } }, 401],
      ['a stale timestamp', sendgrid.request(bounce(ada, adaMail.messageId), { timestamp: tenMinutesAgo() }), 401],
      ['no signature header', { ...valid, headers: unsigned }, 401],
      ['malformed JSON, signed', sendgrid.request('[{"event":"bounce",'), 400],
      ['a body over maxBodySize', oversized('application/json'), 413],
    ];
    for (const [what, request, status] of cases) {
      const response = await post(app, 'sendgrid', request);
      expect({ what, status: response.status }).toEqual({ what, status });
    }
    // Signed and well-formed, but not a JSON array: 400.
    expect((await post(app, 'sendgrid', sendgrid.request(JSON.stringify({ event: 'bounce', email: ada }))))).toEqual({ status: 400, body: expect.not.stringMatching(/array/) });
    expect((await post(app, 'sendgrid', sendgrid.request(bounce(ada, `<${randomUUID()}@acme.test>`)))).status).toBe(200);
    expect((await post(app, 'sendgrid', sendgrid.request(bounce(address('mallory', 'sendgrid.test'), adaMail.messageId)))).status).toBe(200);
    expect(app.events.seen[EmailEvent.ReportIgnored].slice(ignoredBefore).map((event) => event.reason)).toEqual(['unknown-message', 'recipient-mismatch']);
    expect(await observe(app, [adaMail.messageId])).toEqual(before);
  });

  it('Mailgun (HMAC of timestamp + token): failed permanent and temporary, complained, delivered, unsubscribed; a replayed token is refused', async () => {
    const [ada, bob, carol, dan, erin] = ['ada', 'bob', 'carol', 'dan', 'erin'].map((name) => address(name, 'mailgun.test'));
    const mails = await Promise.all([ada, bob, carol, dan, erin].map((to) => sent(app, to)));
    // Mailgun gives the Message-ID without angle brackets.
    const data = (recipient: string, messageId: string, event: string, extra: Record<string, unknown> = {}) => ({
      id: randomUUID(),
      timestamp: Date.now() / 1000,
      event,
      recipient,
      message: { headers: { 'message-id': messageId.slice(1, -1), to: recipient } },
      ...extra,
    });
    const requests = [
      mailgun.request(data(ada, mails[0].messageId, 'failed', { severity: 'permanent', reason: 'bounce', 'delivery-status': { code: 550, message: '5.1.1 The email account that you tried to reach does not exist' } })),
      mailgun.request(data(bob, mails[1].messageId, 'failed', { severity: 'temporary', reason: 'generic', 'delivery-status': { code: 421, message: '4.4.2 Connection dropped' } })),
      mailgun.request(data(carol, mails[2].messageId, 'complained')),
      mailgun.request(data(dan, mails[3].messageId, 'delivered', { 'delivery-status': { code: 250, message: 'OK' } })),
      mailgun.request(data(erin, mails[4].messageId, 'unsubscribed')),
    ];
    for (const request of requests) expect(await post(app, 'mailgun', request)).toEqual({ status: 200, body: '' });
    expect(await app.suppressions.find(ada)).toMatchObject({ reason: 'bounce', code: '5.1.1', messageId: mails[0].messageId });
    expect(await app.suppressions.find(carol)).toMatchObject({ reason: 'complaint' });
    expect(await app.suppressions.find(erin)).toMatchObject({ reason: 'unsubscribed' });
    expect(await app.suppressions.has(bob)).toBe(false);
    const statuses = await Promise.all(mails.map(async ({ messageId }) => (await app.log.get(messageId))!.status));
    expect(statuses).toEqual(['bounced', 'delayed', 'complained', 'delivered', 'unsubscribed']);
    expect(app.events.seen[EmailEvent.Bounced].at(-1)).toEqual({
      messageId: mails[0].messageId,
      template: 'test-email',
      to: ada,
      status: '5.1.1',
      diagnosticCode: '550 5.1.1 The email account that you tried to reach does not exist',
      suppressed: true,
      provider: 'mailgun',
    });

    // The very request again (same token): refused, and nothing counted twice.
    const after = await observe(app, mails.map((mail) => mail.messageId));
    expect((await post(app, 'mailgun', requests[3])).status).toBe(401);
    expect(await observe(app, mails.map((mail) => mail.messageId))).toEqual(after);
  });

  it('Mailgun: a wrong key, a token or timestamp altered after signing, a stale timestamp, malformed JSON, an oversize body, an unknown email and another recipient change nothing', async () => {
    const ada = address('ada', 'mailgun.test');
    const adaMail = await sent(app, ada);
    const before = await observe(app, [adaMail.messageId]);
    const ignoredBefore = app.events.seen[EmailEvent.ReportIgnored].length;
    const failed = (recipient: string, messageId: string) => ({ event: 'failed', severity: 'permanent', recipient, message: { headers: { 'message-id': messageId.replace(/[<>]/g, '') } } });
    const signature = mailgun.signature();
    const cases: Array<[string, SignedRequest, number]> = [
      ['signed with another key', mailgun.request(failed(ada, adaMail.messageId), mailgun.signature({ key: 'not-the-signing-key' })), 401],
      ['the token altered after signing', mailgun.request(failed(ada, adaMail.messageId), { ...signature, token: `${signature.token.slice(0, -1)}${signature.token.endsWith('0') ? '1' : '0'}` }), 401],
      ['the timestamp altered after signing', mailgun.request(failed(ada, adaMail.messageId), { ...signature, timestamp: String(Number(signature.timestamp) - 1) }), 401],
      ['a stale timestamp', mailgun.request(failed(ada, adaMail.messageId), mailgun.signature({ timestamp: tenMinutesAgo() })), 401],
      ['no signature', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ 'event-data': failed(ada, adaMail.messageId) }) }, 401],
      ['malformed JSON', { headers: { 'content-type': 'application/json' }, body: '{"signature":' }, 400],
      ['a body over maxBodySize', oversized('application/json'), 413],
    ];
    for (const [what, request, status] of cases) {
      const response = await post(app, 'mailgun', request);
      expect({ what, status: response.status }).toEqual({ what, status });
    }
    expect((await post(app, 'mailgun', mailgun.request(failed(ada, `<${randomUUID()}@acme.test>`)))).status).toBe(200);
    expect((await post(app, 'mailgun', mailgun.request(failed(address('mallory', 'mailgun.test'), adaMail.messageId)))).status).toBe(200);
    expect(app.events.seen[EmailEvent.ReportIgnored].slice(ignoredBefore).map((event) => event.reason)).toEqual(['unknown-message', 'recipient-mismatch']);
    expect(await observe(app, [adaMail.messageId])).toEqual(before);
  });

  it('Postmark (basic auth and IP allow-list): hard and soft bounce, spam complaint, delivery and unsubscribe, matched by the MessageID of its 250 reply', async () => {
    const [ada, bob, carol, dan, erin] = ['ada', 'bob', 'carol', 'dan', 'erin'].map((name) => address(name, 'postmark.test'));
    const mails = await Promise.all([ada, bob, carol, dan, erin].map((to) => sent(app, to)));
    expect(mails.every((mail) => /^[0-9a-f-]{36}$/.test(mail.providerId ?? ''))).toBe(true);
    const records = [
      { RecordType: 'Bounce', ID: 42, Type: 'HardBounce', TypeCode: 1, MessageID: mails[0].providerId, Email: ada, Details: 'smtp;550 5.1.1 The email account that you tried to reach does not exist', BouncedAt: new Date().toISOString() },
      { RecordType: 'Bounce', ID: 43, Type: 'SoftBounce', TypeCode: 4096, MessageID: mails[1].providerId, Email: bob, Details: 'smtp;452 4.2.2 Mailbox full' },
      { RecordType: 'SpamComplaint', ID: 44, Type: 'SpamComplaint', TypeCode: 512, MessageID: mails[2].providerId, Email: carol },
      { RecordType: 'Delivery', MessageID: mails[3].providerId, Recipient: dan, DeliveredAt: new Date().toISOString(), Details: 'Test delivery webhook details' },
      { RecordType: 'SubscriptionChange', MessageID: mails[4].providerId, Recipient: erin, SuppressSending: true, SuppressionReason: 'ManualSuppression', ChangedAt: new Date().toISOString() },
    ];
    for (const record of records) expect(await post(app, 'postmark', postmarkRequest(record, POSTMARK_AUTH))).toEqual({ status: 200, body: '' });
    expect(await app.suppressions.find(ada)).toMatchObject({ reason: 'bounce', code: '5.1.1', messageId: mails[0].messageId });
    expect(await app.suppressions.find(carol)).toMatchObject({ reason: 'complaint' });
    expect(await app.suppressions.find(erin)).toMatchObject({ reason: 'unsubscribed' });
    expect(await app.suppressions.has(bob)).toBe(false);
    const statuses = await Promise.all(mails.map(async ({ messageId }) => (await app.log.get(messageId))!.status));
    expect(statuses).toEqual(['bounced', 'bounced', 'complained', 'delivered', 'unsubscribed']);
    expect((await app.log.get(mails[1].messageId))!.steps.at(-1)).toMatchObject({ provider: 'postmark', suppressed: false, enhancedCode: '4.2.2' });
  });

  it('Postmark: wrong or missing credentials, malformed JSON, an oversize body, an unknown MessageID and another recipient change nothing', async () => {
    const ada = address('ada', 'postmark.test');
    const adaMail = await sent(app, ada);
    const before = await observe(app, [adaMail.messageId]);
    const ignoredBefore = app.events.seen[EmailEvent.ReportIgnored].length;
    const bounce = (email: string, messageId: string | undefined) => ({ RecordType: 'Bounce', Type: 'HardBounce', MessageID: messageId, Email: email });
    const cases: Array<[string, SignedRequest, number]> = [
      ['a wrong password', postmarkRequest(bounce(ada, adaMail.providerId), { ...POSTMARK_AUTH, password: 'guessed' }), 401],
      ['a wrong user', postmarkRequest(bounce(ada, adaMail.providerId), { ...POSTMARK_AUTH, username: 'admin' }), 401],
      ['no credentials', postmarkRequest(bounce(ada, adaMail.providerId)), 401],
      ['malformed JSON', { ...postmarkRequest({}, POSTMARK_AUTH), body: '{"RecordType":' }, 400],
      ['a body over maxBodySize', { ...oversized('application/json'), headers: postmarkRequest({}, POSTMARK_AUTH).headers }, 413],
    ];
    for (const [what, request, status] of cases) {
      const response = await post(app, 'postmark', request);
      expect({ what, status: response.status }).toEqual({ what, status });
    }
    expect((await post(app, 'postmark', postmarkRequest(bounce(ada, randomUUID()), POSTMARK_AUTH))).status).toBe(200);
    expect((await post(app, 'postmark', postmarkRequest(bounce(address('mallory', 'postmark.test'), adaMail.providerId), POSTMARK_AUTH))).status).toBe(200);
    expect(app.events.seen[EmailEvent.ReportIgnored].slice(ignoredBefore).map((event) => event.reason)).toEqual(['unknown-message', 'recipient-mismatch']);
    expect(await observe(app, [adaMail.messageId])).toEqual(before);
  });

  it('Resend (Svix): bounced (permanent), complained, delivered, delivery delayed, matched by message_id', async () => {
    const [ada, bob, carol, dan] = ['ada', 'bob', 'carol', 'dan'].map((name) => address(name, 'resend.test'));
    const mails = await Promise.all([ada, bob, carol, dan].map((to) => sent(app, to)));
    const event = (type: string, to: string, messageId: string, extra: Record<string, unknown> = {}) => ({
      type,
      created_at: new Date().toISOString(),
      data: { email_id: randomUUID(), message_id: messageId, created_at: new Date().toISOString(), from: 'Acme <no-reply@acme.test>', to: [to], subject: 'Test', ...extra },
    });
    const requests = [
      resend.request(event('email.bounced', ada, mails[0].messageId, { bounce: { type: 'Permanent', subType: 'General', message: "550 5.1.1 The recipient's mailbox does not exist" } })),
      resend.request(event('email.complained', bob, mails[1].messageId)),
      resend.request(event('email.delivered', carol, mails[2].messageId)),
      resend.request(event('email.delivery_delayed', dan, mails[3].messageId)),
      resend.request(event('email.opened', carol, mails[2].messageId)),
    ];
    for (const request of requests) expect(await post(app, 'resend', request)).toEqual({ status: 200, body: '' });
    expect(await app.suppressions.find(ada)).toMatchObject({ reason: 'bounce', messageId: mails[0].messageId });
    expect(await app.suppressions.find(bob)).toMatchObject({ reason: 'complaint' });
    const statuses = await Promise.all(mails.map(async ({ messageId }) => (await app.log.get(messageId))!.status));
    expect(statuses).toEqual(['bounced', 'complained', 'delivered', 'delayed']);
    expect(app.events.seen[EmailEvent.Delivered].at(-1)).toMatchObject({ messageId: mails[2].messageId, to: carol, provider: 'resend' });
    // Svix resends the same message (same svix-id, signed again): counted once.
    const after = await observe(app, mails.map((mail) => mail.messageId));
    expect((await post(app, 'resend', resend.request(JSON.parse(requests[0].body), { id: requests[0].headers['svix-id'] }))).status).toBe(200);
    expect(await observe(app, mails.map((mail) => mail.messageId))).toEqual(after);
  });

  it('Resend: a wrong secret, a body or id altered after signing, a stale or missing timestamp, malformed JSON, an oversize body, an unknown email and another recipient change nothing', async () => {
    const ada = address('ada', 'resend.test');
    const adaMail = await sent(app, ada);
    const before = await observe(app, [adaMail.messageId]);
    const ignoredBefore = app.events.seen[EmailEvent.ReportIgnored].length;
    const bounced = (to: string, messageId: string) => ({ type: 'email.bounced', data: { email_id: randomUUID(), message_id: messageId, to: [to], bounce: { type: 'Permanent' } } });
    const valid = resend.request(bounced(ada, adaMail.messageId));
    const cases: Array<[string, SignedRequest, number]> = [
      ['signed with another secret', resend.request(bounced(ada, adaMail.messageId), { key: randomBytes(24) }), 401],
      ['the body altered after signing', altered(valid, '"Permanent"', '"Permanent" '), 401],
      ['svix-id altered after signing', { ...valid, headers: { ...valid.headers, 'svix-id': 'msg_other' } }, 401],
      ['a stale timestamp', resend.request(bounced(ada, adaMail.messageId), { timestamp: tenMinutesAgo() }), 401],
      ['no svix-timestamp', { ...valid, headers: { ...valid.headers, 'svix-timestamp': '' } }, 401],
      ['malformed JSON, signed', resend.request('{"type":"email.bounced",'), 400],
      ['a body over maxBodySize', oversized('application/json'), 413],
    ];
    for (const [what, request, status] of cases) {
      const response = await post(app, 'resend', request);
      expect({ what, status: response.status }).toEqual({ what, status });
    }
    expect((await post(app, 'resend', resend.request(bounced(ada, `<${randomUUID()}@acme.test>`)))).status).toBe(200);
    expect((await post(app, 'resend', resend.request(bounced(address('mallory', 'resend.test'), adaMail.messageId)))).status).toBe(200);
    expect(app.events.seen[EmailEvent.ReportIgnored].slice(ignoredBefore).map((event) => event.reason)).toEqual(['unknown-message', 'recipient-mismatch']);
    expect(await observe(app, [adaMail.messageId])).toEqual(before);
  });
});
