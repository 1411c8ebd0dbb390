import { randomUUID } from 'node:crypto';
import type { TestingModule } from '@nestjs/testing';
import Redis from 'ioredis';
import { EmailEvent, InvalidArgumentError } from 'nestjs-email-workflow';
import type { EmailWorkflowModuleOptions } from 'nestjs-email-workflow';
import { arf, bootBounceApp, dsn, outOfOffice } from '../support/bounce-reports';
import type { BounceApp } from '../support/bounce-reports';
import { invalidOptionsError, localOptions } from '../support/module-options';
import { deleteKeys, dumpKeys, REDIS_URL, TEST_SECRET, ThrowawayRedis, uniquePrefix } from '../support/redis';
import { SmtpSink } from '../support/smtp-sink';
import { until } from '../support/wait';

/*
 * Issue 22: what a bounce or complaint read back may change, and what it may not. Every report here is
 * built from the documented layouts and handed to the processor the mailbox reader uses; the reader itself
 * and Postfix's own reports are in bounce-mailbox.spec.ts.
 */

/** MAIL FROM of each message the sink took, by the Message-ID the test sent. */
const envelopeSenders: string[] = [];
let sink: SmtpSink;
const modules: TestingModule[] = [];

beforeAll(async () => {
  sink = await SmtpSink.start({
    onMailFrom: (address, _session, callback) => {
      envelopeSenders.push(address.address);
      callback();
    },
  });
});

afterEach(async () => {
  while (modules.length > 0) await modules.pop()!.close();
});

afterAll(async () => {
  await sink?.close();
});

type Booted = BounceApp;

async function boot(overrides: Partial<EmailWorkflowModuleOptions> = {}): Promise<Booted> {
  const app = await bootBounceApp(localOptions(sink.port, { secret: TEST_SECRET, bounces: { address: 'bounces@acme.test' }, ...overrides }));
  modules.push(app.moduleRef);
  return app;
}

/** Sends and waits until the log says sent; returns its Message-ID and the envelope tag it went out with. */
async function sent(app: Booted, to: string, template = 'test-email'): Promise<{ messageId: string; tag: string }> {
  const { messageId } = await app.emails.send({ template, to });
  await until(async () => (await app.log.get(messageId))?.status === 'sent', `the log to say ${messageId} was sent`);
  const mail = await sink.mailWithId(messageId);
  const sender = envelopeSenders[sink.messages.indexOf(mail)];
  const tag = /^bounces\+([a-z2-7]+)@acme\.test$/.exec(sender)?.[1];
  if (tag === undefined) throw new Error(`envelope sender ${sender} carries no tag`);
  return { messageId, tag };
}

const PLACES: Array<[string, Partial<EmailWorkflowModuleOptions>]> = [
  ['in-process queue', {}],
  ['Redis, Bull', { queue: { redis: REDIS_URL, driver: 'bull' } }],
  ['Redis, BullMQ', { queue: { redis: REDIS_URL, driver: 'bullmq' } }],
];

describe.each(PLACES)('bounces and the delivery log (%s)', (_name, place) => {
  const prefixes: string[] = [];
  /** A prefix of each test's own: the suppression list and the log are shared by everything on one prefix. */
  const options = (): Partial<EmailWorkflowModuleOptions> => {
    if (!place.queue) return {};
    prefixes.push(uniquePrefix());
    return { queue: { ...place.queue, prefix: prefixes[prefixes.length - 1] } };
  };
  afterAll(async () => {
    for (const prefix of prefixes) await deleteKeys(prefix);
  });

  it('sends with a tagged envelope sender, From unchanged; a hard bounce with that tag suppresses, logs, fires email.bounced once', async () => {
    const app = await boot(options());
    const ada = `ada-${randomUUID().slice(0, 6)}@example.test`;
    const { messageId, tag } = await sent(app, ada);
    expect(tag).toHaveLength(26);
    const mail = await sink.mailWithId(messageId);
    expect(mail.from?.value[0].address).toBe('no-reply@acme.test');

    const report = dsn({ tag, recipient: ada, status: '5.1.1' });
    await expect(app.bounces.process(report)).resolves.toEqual({ outcome: 'recorded', type: 'bounce', messageId, suppressed: true });
    expect(await app.suppressions.find(ada)).toEqual({ address: ada, reason: 'bounce', code: '5.1.1', messageId, suppressedAt: expect.any(Date) });
    const record = await app.log.get(messageId);
    expect(record).toMatchObject({ messageId, to: ada, template: 'test-email', status: 'bounced' });
    expect(record!.steps.map((step) => step.event)).toEqual(['queued', 'sent', 'bounced']);
    expect(record!.steps[2]).toMatchObject({ enhancedCode: '5.1.1', suppressed: true, reply: '550 5.1.1 <[address]>: Recipient address rejected: User unknown' });
    expect(app.events.seen[EmailEvent.Bounced]).toEqual([
      { messageId, template: 'test-email', to: ada, status: '5.1.1', diagnosticCode: '550 5.1.1 <[address]>: Recipient address rejected: User unknown', suppressed: true },
    ]);

    // The same report again, and a second copy from the relay: counted once.
    await expect(app.bounces.process(report)).resolves.toEqual({ outcome: 'ignored', type: 'bounce', reason: 'duplicate' });
    await expect(app.bounces.process(dsn({ tag, recipient: ada, reportId: 'B2' }))).resolves.toMatchObject({ reason: 'duplicate' });
    expect(app.events.seen[EmailEvent.Bounced]).toHaveLength(1);
    expect((await app.log.get(messageId))!.steps).toHaveLength(3);
  });

  it('changes nothing for a forged tag, a missing tag, a tag of another recipient\'s email, a look-alike recipient, or a success notice', async () => {
    const app = await boot(options());
    const ada = `ada-${randomUUID().slice(0, 6)}@example.test`;
    const mallory = `mallory-${randomUUID().slice(0, 6)}@example.test`;
    const { messageId: adaEmail, tag: adaTag } = await sent(app, ada);
    const { tag: malloryTag } = await sent(app, mallory);

    const forgedTag = [...adaTag].map((char, i) => (i === 20 ? (char === 'a' ? 'b' : 'a') : char)).join('');
    const attempts: Array<[string, string, string]> = [
      ['a tag whose MAC does not verify', dsn({ tag: forgedTag, recipient: ada }), 'forged-tag'],
      ['a tag of the right length made up', dsn({ tag: 'a'.repeat(26), recipient: ada }), 'forged-tag'],
      ['no tag and no Message-ID', dsn({ recipient: ada }), 'unknown-message'],
      ['no tag, a made-up Message-ID', dsn({ recipient: ada, messageId: `<${randomUUID()}@acme.test>` }), 'unknown-message'],
      // Mallory's own email gives her a valid tag and Message-ID: neither may touch Ada.
      ["Mallory's tag, naming Ada", dsn({ tag: malloryTag, recipient: ada }), 'recipient-mismatch'],
      ["Ada's tag, naming a look-alike (Cyrillic а)", dsn({ tag: adaTag, recipient: ada.replace('a', '\u0430') }), 'recipient-mismatch'],
      ["Ada's email's Message-ID, no tag, naming Mallory", dsn({ recipient: mallory, messageId: adaEmail }), 'recipient-mismatch'],
      ["a complaint by Message-ID naming a look-alike", arf({ recipient: ada.replace('a', '\u0430'), messageId: adaEmail }), 'recipient-mismatch'],
    ];
    for (const [what, report, reason] of attempts) {
      const result = await app.bounces.process(report);
      expect({ what, result }).toEqual({ what, result: { outcome: 'ignored', type: expect.any(String), reason } });
    }
    expect(await app.suppressions.list()).toEqual([]);
    expect((await app.log.get(adaEmail))!.status).toBe('sent');
    expect(app.events.seen[EmailEvent.Bounced]).toEqual([]);
    expect(app.events.seen[EmailEvent.ReportIgnored].map((event) => event.reason)).toEqual(attempts.map(([, , reason]) => reason));
    // No address in an ignored-report event: anyone can send one.
    expect(JSON.stringify(app.events.seen[EmailEvent.ReportIgnored])).not.toMatch(/@/);
    await expect(app.bounces.process(outOfOffice(adaTag))).resolves.toEqual({ outcome: 'unrecognised' });
    // A success notice (every recipient delivered) is no report of a failure.
    await expect(app.bounces.process(dsn({ tag: adaTag, recipient: ada, action: 'delivered', status: '2.0.0', diagnostic: '250 2.0.0 Ok' }))).resolves.toEqual({ outcome: 'unrecognised' });
    // Mallory's own tag in a complaint naming Ada acts on the one email that tag names: Mallory's, never Ada's.
    await expect(app.bounces.process(arf({ tag: malloryTag, recipient: ada }))).resolves.toMatchObject({ outcome: 'recorded', type: 'complaint' });
    expect((await app.suppressions.list()).map((entry) => entry.address)).toEqual([mallory]);
    expect((await app.log.get(adaEmail))!.status).toBe('sent');
  });

  it('a relay that rewrote the envelope sender: matched by the returned Message-ID of an email to that same recipient', async () => {
    const app = await boot(options());
    const ada = `ada-${randomUUID().slice(0, 6)}@example.test`;
    const { messageId } = await sent(app, ada);
    await expect(app.bounces.process(dsn({ recipient: `other-${ada}`, messageId }))).resolves.toMatchObject({ reason: 'recipient-mismatch' });
    await expect(app.bounces.process(dsn({ recipient: ada.toUpperCase().replace('@EXAMPLE.TEST', '@example.test'), messageId }))).resolves.toMatchObject({ outcome: 'recorded', suppressed: true });
    expect(await app.suppressions.has(ada)).toBe(true);
  });

  it('a delay notice is logged and fires email.delayed, nothing suppressed; a soft bounce (4.x.x, 5.7.1) is logged, not suppressed', async () => {
    const app = await boot(options());
    const ada = `ada-${randomUUID().slice(0, 6)}@example.test`;
    const bob = `bob-${randomUUID().slice(0, 6)}@example.test`;
    const { messageId, tag } = await sent(app, ada);
    const { messageId: bobEmail, tag: bobTag } = await sent(app, bob);
    const delay = dsn({ tag, recipient: ada, action: 'delayed', status: '4.4.1', diagnostic: '421 4.4.1 Connection timed out' });
    await expect(app.bounces.process(delay)).resolves.toEqual({ outcome: 'recorded', type: 'delay', messageId, suppressed: false });
    expect(app.events.seen[EmailEvent.Delayed]).toEqual([{ messageId, template: 'test-email', to: ada, status: '4.4.1', diagnosticCode: '421 4.4.1 Connection timed out', suppressed: false }]);
    expect((await app.log.get(messageId))!.status).toBe('delayed');
    await expect(app.bounces.process(dsn({ tag: bobTag, recipient: bob, status: '5.7.1', diagnostic: '550 5.7.1 Message rejected as spam' }))).resolves.toMatchObject({ outcome: 'recorded', suppressed: false });
    expect((await app.log.get(bobEmail))!.status).toBe('bounced');
    expect(await app.suppressions.list()).toEqual([]);
  });

  it('a complaint (ARF) suppresses with reason complaint, even with the recipient redacted; list() names the email', async () => {
    const app = await boot(options());
    const ada = `ada-${randomUUID().slice(0, 6)}@example.test`;
    const { messageId, tag } = await sent(app, ada);
    await expect(app.bounces.process(arf({ tag }))).resolves.toEqual({ outcome: 'recorded', type: 'complaint', messageId, suppressed: true });
    expect(await app.suppressions.list()).toEqual([{ address: ada, reason: 'complaint', messageId, suppressedAt: expect.any(Date) }]);
    expect(app.events.seen[EmailEvent.Complained]).toEqual([{ messageId, template: 'test-email', to: ada, suppressed: true }]);
    expect((await app.log.get(messageId))!.steps.map((step) => step.event)).toEqual(['queued', 'sent', 'complained']);
    // The security notices still reach a complainer (suppression.bypassTemplates).
    const notice = await app.emails.send({ template: 'password-changed', to: ada, context: { name: 'Ada' } });
    expect(notice.cancelled).toBeUndefined();
  });

  it('find: newest first, only that address (no look-alike), since and limit; get of an unknown id is undefined; bad arguments are typed errors', async () => {
    const app = await boot(options());
    const ada = `ada-${randomUUID().slice(0, 6)}@example.test`;
    const first = await sent(app, ada);
    const second = await sent(app, ada);
    await sent(app, ada.replace('a', '\u0430'));
    const found = await app.log.find({ to: ada.toUpperCase().replace('@EXAMPLE.TEST', '@example.test') });
    expect(found.map((record) => record.messageId)).toEqual([second.messageId, first.messageId]);
    expect(found[0].steps.find((step) => step.event === 'sent')).toMatchObject({ attempt: 1, reply: expect.stringMatching(/^250 /), durationMs: expect.any(Number) });
    expect(await app.log.find({ to: ada, limit: 1 })).toHaveLength(1);
    expect(await app.log.find({ to: ada, since: new Date(Date.now() + 60_000) })).toEqual([]);
    expect(await app.log.get(`<${randomUUID()}@acme.test>`)).toBeUndefined();
    for (const bad of [undefined, {}, { to: 42 }, { to: ada, limit: 0 }, { to: ada, limit: 1.5 }, { to: ada, since: 'yesterday' }]) {
      await expect(app.log.find(bad as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    await expect(app.log.get('' as never)).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('logs a cancel: suppressed before queueing, or by a hook', async () => {
    const app = await boot(options());
    const ada = `ada-${randomUUID().slice(0, 6)}@example.test`;
    await app.suppressions.add(ada, 'manual');
    const cancelled = await app.emails.send({ template: 'test-email', to: ada });
    await until(async () => (await app.log.get(cancelled.messageId)) !== undefined, 'the cancel in the log');
    expect(await app.log.get(cancelled.messageId)).toMatchObject({ status: 'cancelled', steps: [{ event: 'cancelled', reason: 'suppressed' }] });
  });
});

describe('the delivery log in Redis', () => {
  const prefix = uniquePrefix();
  afterAll(() => deleteKeys(prefix));

  it('holds no address, Message-ID, tag or reply in clear in any key or value; an edited or moved value is not shown', async () => {
    const app = await boot({ queue: { redis: REDIS_URL, prefix } });
    const ada = `ada-${randomUUID().slice(0, 6)}@example.test`;
    const { messageId, tag } = await sent(app, ada);
    await app.bounces.process(dsn({ tag, recipient: ada }));
    const bob = `bob-${randomUUID().slice(0, 6)}@example.test`;
    const { messageId: bobEmail } = await sent(app, bob);
    const dump = await dumpKeys(prefix);
    const everything = [...dump].flat().join('\n');
    // The queue's own jobs name their Message-ID (dashboards show it); the log's keys name nothing.
    const logOnly = [...dump].filter(([key]) => /:log/.test(key)).flat().join('\n');
    expect(everything.toLowerCase()).not.toContain(ada.toLowerCase());
    for (const secret of [ada, ada.split('@')[0], messageId.slice(1, -1).split('@')[0], tag, 'queued as', 'User unknown']) {
      expect({ secret, found: logOnly.toLowerCase().includes(secret.toLowerCase()) }).toEqual({ secret, found: false });
    }
    // A writer copies Ada's steps over Bob's record: they are sealed to Ada's record, so Bob's shows nothing of hers.
    const redis = new Redis(REDIS_URL);
    try {
      const logKeys = [...dump.keys()].filter((key) => /:log:[a-z2-7]{16}$/.test(key));
      expect(logKeys).toHaveLength(2);
      const steps = await Promise.all(logKeys.map((key) => redis.lrange(key, 0, -1)));
      const [adaKey, bobKey] = steps[0].length === 3 ? logKeys : [logKeys[1], logKeys[0]];
      await redis.rpush(bobKey, ...(await redis.lrange(adaKey, 0, -1)));
      const bobRecord = await app.log.get(bobEmail);
      expect(bobRecord).toMatchObject({ to: bob, status: 'sent' });
      expect(bobRecord!.steps.map((step) => step.event)).toEqual(['queued', 'sent']);
      // An edited step does not open: the record keeps what still verifies.
      const [firstStep] = await redis.lrange(adaKey, 0, 0);
      await redis.lset(adaKey, 0, `${firstStep.slice(0, -4)}AAAA`);
      expect(await app.log.get(messageId)).toBeUndefined();
    } finally {
      redis.disconnect();
    }
  });

  it('keeps at most deliveryLog.perAddress records per address, deleting the oldest with their steps; records expire after the retention', async () => {
    const app = await boot({ queue: { redis: REDIS_URL, prefix: `${prefix}-cap` }, deliveryLog: { perAddress: 3, retention: 4_000 } });
    const ada = `ada-${randomUUID().slice(0, 6)}@example.test`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await sent(app, ada)).messageId);
    expect((await app.log.find({ to: ada })).map((record) => record.messageId)).toEqual(ids.slice(2).reverse());
    expect(await app.log.get(ids[0])).toBeUndefined();
    const logKeys = [...(await dumpKeys(`${prefix}-cap`)).keys()].filter((key) => key.includes(':log:'));
    expect(logKeys).toHaveLength(3);
    const redis = new Redis(REDIS_URL);
    try {
      for (const key of logKeys) expect(await redis.pttl(key)).toBeLessThanOrEqual(4_000);
      await until(async () => (await redis.keys(`${prefix}-cap:*log*`)).length === 0, 'every log key to expire', 10_000);
    } finally {
      redis.disconnect();
    }
    expect(await app.log.find({ to: ada })).toEqual([]);
  });
});

describe('a report read while Redis is frozen', () => {
  let redis: ThrowawayRedis;
  beforeAll(async () => {
    redis = await ThrowawayRedis.start();
  });
  afterAll(async () => {
    redis?.thaw();
    await redis?.stop();
  });

  it('stays in the mailbox (retry) within the command timeout, and counts once after the thaw', async () => {
    const app = await boot({ queue: { redis: redis.url, commandTimeout: 500 } });
    const ada = `ada-${randomUUID().slice(0, 6)}@example.test`;
    const { messageId, tag } = await sent(app, ada);
    const report = Buffer.from(dsn({ tag, recipient: ada }));
    redis.freeze();
    try {
      await expect(app.bounces.handle(report)).resolves.toBe('retry');
    } finally {
      redis.thaw();
    }
    await expect(app.bounces.handle(report)).resolves.toBe('done');
    await expect(app.bounces.handle(report)).resolves.toBe('done');
    expect(app.events.seen[EmailEvent.Bounced]).toHaveLength(1);
    expect((await app.log.get(messageId))!.steps.map((step) => step.event)).toEqual(['queued', 'sent', 'bounced']);
    expect(await app.suppressions.has(ada)).toBe(true);
  });
});

describe('bounce options', () => {
  it('refuses a bounce address with a display name, a "+", or too long a local part; imap without an address; no secret', async () => {
    const problems = async (options: Partial<EmailWorkflowModuleOptions>) =>
      (await invalidOptionsError(localOptions(1, options))).problems.map(({ path, problem }) => `${path} ${problem}`);
    expect(await problems({ secret: TEST_SECRET, bounces: { address: 'Acme <bounces@acme.test>' } })).toEqual(['bounces.address must be a plain address without "+" or a display name']);
    expect(await problems({ secret: TEST_SECRET, bounces: { address: 'bounces+x@acme.test' } })).toEqual(['bounces.address must be a plain address without "+" or a display name']);
    expect(await problems({ secret: TEST_SECRET, bounces: { address: `${'b'.repeat(40)}@acme.test` } })).toEqual([
      'bounces.address has a local part longer than 37 characters: "+" and the tag would not fit in 64',
    ]);
    expect(await problems({ secret: TEST_SECRET, bounces: { imap: { host: 'imap.acme.test', auth: { user: 'u', pass: 'p' } } } })).toEqual([
      'bounces.imap is set without bounces.address: reports could not be told from forgeries',
    ]);
    expect(await problems({ bounces: { address: 'bounces@acme.test' } })).toEqual([
      'secret is required with bounces.address: envelope tags are signed with it, and a bounce may come back after a restart',
    ]);
    expect(await problems({ deliveryLog: { retention: 10, perAddress: 0 } })).toEqual([
      'deliveryLog.retention must be a number of milliseconds, 1000 or more',
      'deliveryLog.perAddress must be a whole number of 1 or more',
    ]);
  });
});
