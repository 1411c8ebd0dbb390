import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import { EmailEvent } from 'nestjs-email-workflow';
import { EmailWebhooksModule } from 'nestjs-email-workflow/webhooks';
import { deleteKeys, dumpKeys, REDIS_URL, ThrowawayRedis, uniquePrefix } from '../support/redis';
import { address, bootWebhookApp, observe, PLATFORMS, post, sent, startProviderSink } from '../support/webhook-app';
import type { WebhookApp } from '../support/webhook-app';
import { MailgunSide, postmarkRequest, ResendSide, SendGridSide, sesNotification, SnsSide } from '../support/webhook-signers';
import type { SmtpSink } from '../support/smtp-sink';

/*
 * Issue 24: what the webhook routes need from the app and from Redis. Without `rawBody: true` nothing can be
 * checked (500, one clear error, so the provider retries); with Redis gone they answer 503 so the provider
 * retries, and the retry counts once; only configured providers get a route; Postmark's IP allow-list; the
 * SES id index and the Mailgun token cache live in Redis, shared by every process.
 */

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:ses-events';
const sendgrid = new SendGridSide();
const mailgun = new MailgunSide();
const resend = new ResendSide();
let sink: SmtpSink;
const apps: WebhookApp[] = [];

beforeAll(async () => {
  sink = await startProviderSink();
});

afterEach(async () => {
  while (apps.length > 0) await apps.pop()!.app.close();
});

afterAll(async () => {
  await sink?.close();
});

const bounceOf = (email: string, messageId: string) => [{ email, timestamp: Math.floor(Date.now() / 1000), 'smtp-id': messageId, event: 'bounce', type: 'bounce', status: '5.1.1', sg_event_id: randomUUID() }];

describe.each(PLATFORMS)('provider webhooks set up on %s', (_platform, adapter) => {
  const boot = async (...args: Parameters<typeof bootWebhookApp> extends [unknown, unknown, ...infer Rest] ? Rest : never) => {
    const app = await bootWebhookApp(adapter(), sink.port, ...args);
    apps.push(app);
    return app;
  };

  it('without rawBody: true, a signed webhook is answered 500 with one error saying what to do, and nothing changes', async () => {
    const app = await boot({ sendgrid: { publicKey: sendgrid.publicKey } }, { rawBody: false });
    const ada = address('ada');
    const { messageId } = await sent(app, ada);
    const before = await observe(app, [messageId]);
    const request = sendgrid.request(bounceOf(ada, messageId));
    expect((await post(app, 'sendgrid', request)).status).toBe(500);
    expect((await post(app, 'sendgrid', request)).status).toBe(500);
    const errors = app.logger.entries.filter((entry) => entry.level === 'error').map((entry) => entry.message);
    expect(errors.filter((message) => message.includes('NestFactory.create(AppModule, { rawBody: true })'))).toHaveLength(1);
    expect(await observe(app, [messageId])).toEqual(before);
  });

  it('mounts only the configured providers, under the given path', async () => {
    const app = await boot({ path: 'hooks/mail/', resend: { secret: resend.secret } });
    const ada = address('ada');
    const { messageId } = await sent(app, ada);
    const bounce = { type: 'email.bounced', data: { message_id: messageId, to: [ada], bounce: { type: 'Permanent' } } };
    expect((await post(app, 'resend', resend.request(bounce), '/hooks/mail')).status).toBe(200);
    expect(await app.suppressions.has(ada)).toBe(true);
    expect((await post(app, 'resend', resend.request(bounce))).status).toBe(404);
    for (const provider of ['ses', 'sendgrid', 'mailgun', 'postmark']) expect((await post(app, provider, sendgrid.request([]), '/hooks/mail')).status).toBe(404);
  });

  it('Postmark with an IP allow-list only: a client outside it is refused (401), one inside is heard', async () => {
    const outside = await boot({ postmark: { allowIps: ['192.0.2.0/24', '2001:db8::/32'] } });
    const inside = await boot({ postmark: { allowIps: ['127.0.0.0/8'] } });
    for (const app of [outside, inside]) {
      const ada = address('ada', 'postmark.test');
      const mail = await sent(app, ada);
      const bounce = postmarkRequest({ RecordType: 'Bounce', Type: 'HardBounce', MessageID: mail.providerId, Email: ada });
      expect((await post(app, 'postmark', bounce)).status).toBe(app === outside ? 401 : 200);
      expect(await app.suppressions.has(ada)).toBe(app === inside);
    }
  });

  it('refuses to boot without EmailWorkflowModule, saying so', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [EmailWebhooksModule.forRoot({ resend: { secret: resend.secret } })] }).compile();
    const app = moduleRef.createNestApplication(adapter(), { rawBody: true, logger: false });
    await expect(app.listen(0, '127.0.0.1')).rejects.toThrow('EmailWebhooksModule needs EmailWorkflowModule: import EmailWorkflowModule.forRoot(…) in the same app.');
    await app.close();
  });
});

describe.each(PLATFORMS)('provider webhooks with Redis on %s', (_platform, adapter) => {
  let redis: ThrowawayRedis;
  let dir: string;
  let sns: SnsSide;
  const prefixes: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'webhooks-redis-'));
    [redis, sns] = await Promise.all([ThrowawayRedis.start(), SnsSide.start(dir)]);
  });

  afterAll(async () => {
    await Promise.all([redis?.stop(), sns?.close()]);
    await rm(dir, { recursive: true, force: true });
    for (const prefix of prefixes) await deleteKeys(prefix);
  });

  const onRedis = (url: string, prefix: string) => ({ workflow: { queue: { redis: url, prefix, commandTimeout: 1_000 } } });

  it('answers 503 while Redis does not answer, so the provider retries; the retry is recorded, once', async () => {
    const app = await bootWebhookApp(adapter(), sink.port, { sendgrid: { publicKey: sendgrid.publicKey } }, onRedis(redis.url, uniquePrefix()));
    apps.push(app);
    const ada = address('ada');
    const { messageId } = await sent(app, ada);
    const request = sendgrid.request(bounceOf(ada, messageId));
    redis.freeze();
    try {
      const response = await post(app, 'sendgrid', request);
      expect(response.status).toBe(503);
    } finally {
      redis.thaw();
    }
    expect(app.logger.warnings().some((message) => /sendgrid webhook could not be recorded now, answered 503/.test(message))).toBe(true);
    expect(app.events.seen[EmailEvent.Bounced]).toEqual([]);
    expect((await post(app, 'sendgrid', request)).status).toBe(200);
    expect((await post(app, 'sendgrid', request)).status).toBe(200);
    expect(app.events.seen[EmailEvent.Bounced]).toHaveLength(1);
    expect(await app.suppressions.has(ada)).toBe(true);
    expect((await app.log.get(messageId))!.steps.map((step) => step.event)).toEqual(['queued', 'sent', 'bounced']);
  });

  it('two processes on one Redis: the SES id filed by one is found by the other, and a Mailgun token used at one is refused at the other', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const webhooks = {
      ses: { topics: [TOPIC], testOnlyCertificateServer: { host: sns.host, ca: sns.tls.ca } },
      mailgun: { signingKey: mailgun.signingKey },
    };
    const [first, second] = [await bootWebhookApp(adapter(), sink.port, webhooks, onRedis(REDIS_URL, prefix)), await bootWebhookApp(adapter(), sink.port, webhooks, onRedis(REDIS_URL, prefix))];
    apps.push(first, second);
    const ada = address('ada', 'ses.test');
    const mail = await sent(first, ada);
    const bounce = sns.message({
      topicArn: TOPIC,
      message: sesNotification('Bounce', { sesId: mail.providerId!, to: ada }, { bounceType: 'Permanent', bouncedRecipients: [{ emailAddress: ada, status: '5.1.1' }] }),
    });
    expect((await post(second, 'ses', sns.request(bounce))).status).toBe(200);
    expect(await first.suppressions.find(ada)).toMatchObject({ reason: 'bounce', code: '5.1.1', messageId: mail.messageId });

    const bob = address('bob');
    const bobMail = await sent(first, bob);
    const delivered = mailgun.request({ event: 'delivered', recipient: bob, message: { headers: { 'message-id': bobMail.messageId.slice(1, -1) } } });
    expect((await post(first, 'mailgun', delivered)).status).toBe(200);
    expect((await post(second, 'mailgun', delivered)).status).toBe(401);
    expect((await first.log.get(bobMail.messageId))!.steps.map((step) => step.event)).toEqual(['queued', 'sent', 'delivered']);

    // The delivery log's keys (its records, the SES id index, the Mailgun token claims) hold the SES id, the token,
    // the Message-IDs and the addresses only as keyed hashes or sealed. (The queue's own job keys are not the log's.)
    const token = (JSON.parse(delivered.body) as { signature: { token: string } }).signature.token;
    const stored = [...(await dumpKeys(prefix))].filter(([key]) => key.startsWith(`${prefix}:email-workflow:log`)).flat().join('\n');
    expect(stored).toContain(':log-queue-id:');
    for (const clear of [mail.providerId!, token, mail.messageId, bobMail.messageId, ada, bob]) expect({ clear, found: stored.includes(clear) }).toEqual({ clear, found: false });
  });
});
