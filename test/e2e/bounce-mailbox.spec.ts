import { ImapFlow } from 'imapflow';
import { randomUUID } from 'node:crypto';
import type { TestingModule } from '@nestjs/testing';
import { EmailEvent } from 'nestjs-email-workflow';
import type { BounceImapOptions, EmailWorkflowModuleOptions } from 'nestjs-email-workflow';
import { EmailBounceReaderHealthIndicator } from 'nestjs-email-workflow/health';
import { HealthIndicatorService } from '@nestjs/terminus';
import { arf, bootBounceApp, dsn } from '../support/bounce-reports';
import type { BounceApp } from '../support/bounce-reports';
import { BounceRelay, DEFER_REPLY, ThrowawayDovecot, ThrowawayPostfix } from '../support/mail-servers';
import { localOptions } from '../support/module-options';
import { deleteKeys, REDIS_URL, TEST_SECRET, uniquePrefix } from '../support/redis';
import { until } from '../support/wait';

/*
 * Issue 22 end to end, on real servers: the library sends through Debian's Postfix, which answers 250 and
 * bounces or defers later with its own DSNs into the bounce Maildir; Debian's Dovecot serves that Maildir over
 * IMAP, and the library's reader picks the reports up.
 */

const LOCAL_DOMAIN = 'relay.test';
const BOUNCE_DOMAIN = 'bounce.test';
const DEFERRED = 'slow@deferred.test';
const USER = { name: 'bounces', password: 'bounce-box-pass-0123' };

let relay: BounceRelay;
let postfix: ThrowawayPostfix;
let dovecot: ThrowawayDovecot;
const modules: TestingModule[] = [];

beforeAll(async () => {
  relay = await BounceRelay.start({ localDomain: LOCAL_DOMAIN, bounceDomain: BOUNCE_DOMAIN, deferred: DEFERRED, user: USER });
  ({ postfix, dovecot } = relay);
}, 30_000);

afterEach(async () => {
  while (modules.length > 0) await modules.pop()!.close();
});

afterAll(async () => {
  await relay?.stop();
});

type Booted = BounceApp;

function imapOptions(overrides: Partial<BounceImapOptions> = {}): BounceImapOptions {
  return {
    host: '127.0.0.1',
    port: dovecot.port,
    secure: false,
    starttls: true,
    tls: { ca: dovecot.caPem, servername: 'localhost' },
    auth: { user: USER.name, pass: USER.password },
    pollInterval: 1_000,
    ...overrides,
  };
}

async function boot(overrides: Partial<EmailWorkflowModuleOptions> = {}, imap: Partial<BounceImapOptions> = {}): Promise<Booted> {
  const app = await bootBounceApp(
    localOptions(postfix.port, { secret: TEST_SECRET, bounces: { address: `bounces@${BOUNCE_DOMAIN}`, imap: imapOptions(imap) }, ...overrides }),
  );
  modules.push(app.moduleRef);
  return app;
}

/** A plain IMAP client of the test's own, to look into the mailbox and to drop reports in. */
async function withImap<T>(use: (client: ImapFlow) => Promise<T>): Promise<T> {
  const client = new ImapFlow({ host: dovecot.host, port: dovecot.port, secure: false, doSTARTTLS: false, auth: { user: USER.name, pass: USER.password }, logger: false });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.logout().catch(() => client.close());
  }
}

async function messagesIn(client: ImapFlow, mailbox: string): Promise<number> {
  const status = await client.status(mailbox, { messages: true });
  return status === false ? 0 : (status.messages ?? 0);
}

const inboxCount = () => withImap((client) => messagesIn(client, 'INBOX'));
const dropIn = (report: string) => withImap(async (client) => void (await client.append('INBOX', report)));

/** The envelope tag of an email, as its log record and Postfix's log know it. */
async function tagOf(queueId: string): Promise<string> {
  const [, tag] = await postfix.untilLogged(new RegExp(`${queueId}: from=<bounces\\+([a-z2-7]{26})@${BOUNCE_DOMAIN.replace('.', '\\.')}>`));
  return tag;
}

const PLACES: Array<[string, Partial<EmailWorkflowModuleOptions>]> = [
  ['in-process queue', {}],
  ['Redis, BullMQ', { queue: { redis: REDIS_URL, driver: 'bullmq' } }],
];

describe.each(PLACES)('the bounce mailbox read back (%s)', (_name, place) => {
  const prefix = uniquePrefix();
  const options = (): Partial<EmailWorkflowModuleOptions> => (place.queue ? { queue: { ...place.queue, prefix } } : {});
  afterAll(() => deleteKeys(prefix));

  it("Postfix takes an email for an unknown user (250, its queue id), bounces it later; the reader suppresses it, logs sent then bounced, fires email.bounced, and empties INBOX", async () => {
    const app = await boot(options());
    const nobody = `nobody-${randomUUID().slice(0, 6)}@${LOCAL_DOMAIN}`;
    const { messageId } = await app.emails.send({ template: 'test-email', to: nobody });

    await until(async () => (await app.log.get(messageId))?.steps.some((step) => step.event === 'sent') === true, 'the 250 in the log');
    const sent = (await app.log.get(messageId))!.steps.find((step) => step.event === 'sent')!;
    expect(sent.reply).toMatch(/^250 2\.0\.0 Ok: queued as [0-9A-F]+$/);
    const queueId = sent.queueId!;
    expect(sent.reply).toContain(queueId);
    await postfix.untilLogged(new RegExp(`${queueId}: to=<${nobody}>, relay=local, .*dsn=5\\.1\\.1, status=bounced`));

    const [bounced] = await app.events.waitFor(EmailEvent.Bounced, 1, 30_000);
    expect(bounced).toMatchObject({ messageId, template: 'test-email', to: nobody, status: '5.1.1', suppressed: true });
    expect(await app.suppressions.find(nobody)).toEqual({ address: nobody, reason: 'bounce', code: '5.1.1', messageId, suppressedAt: expect.any(Date) });
    const record = await app.log.get(messageId);
    expect(record!.steps.map((step) => step.event)).toEqual(['queued', 'sent', 'bounced']);
    expect(record!.status).toBe('bounced');
    await until(async () => (await inboxCount()) === 0, 'the DSN gone from INBOX');
    expect(app.mailbox.status()).toMatchObject({ state: 'connected', processed: expect.any(Number) });
  });

  it('a real Postfix delay notice → delayed, nothing suppressed; an ARF complaint → complained and suppressed; a forged DSN → nothing', async () => {
    const app = await boot(options());
    const { messageId: slow } = await app.emails.send({ template: 'test-email', to: DEFERRED });
    const [delayed] = await app.events.waitFor(EmailEvent.Delayed, 1, 30_000);
    expect(delayed).toMatchObject({ messageId: slow, to: DEFERRED, status: '4.3.2', diagnosticCode: DEFER_REPLY, suppressed: false });
    expect((await app.log.get(slow))!.status).toBe('delayed');
    expect(await app.suppressions.has(DEFERRED)).toBe(false);

    const ada = `ada-${randomUUID().slice(0, 6)}@${LOCAL_DOMAIN}`;
    // Ada is no local user either: Postfix will bounce it, but the complaint comes first in this test.
    const { messageId: welcome } = await app.emails.send({ template: 'test-email', to: ada });
    await until(async () => (await app.log.get(welcome))?.steps.some((step) => step.event === 'sent') === true, 'the email to Ada sent');
    const tag = await tagOf((await app.log.get(welcome))!.steps.find((step) => step.event === 'sent')!.queueId!);
    const ignoredBefore = app.events.seen[EmailEvent.ReportIgnored].length;
    await dropIn(dsn({ tag: tag.replace(/.$/, (last) => (last === 'a' ? 'b' : 'a')), recipient: DEFERRED, bounceDomain: BOUNCE_DOMAIN }));
    await app.events.waitFor(EmailEvent.ReportIgnored, ignoredBefore + 1, 30_000);
    expect(await app.suppressions.has(DEFERRED)).toBe(false);

    await dropIn(arf({ tag, recipient: ada }).replace(/@acme\.test>/, `@${BOUNCE_DOMAIN}>`));
    const [complained] = await app.events.waitFor(EmailEvent.Complained, 1, 30_000);
    expect(complained).toMatchObject({ messageId: welcome, to: ada, suppressed: true });
    const entry = await app.suppressions.find(ada);
    expect(entry?.reason === 'complaint' || entry?.reason === 'bounce').toBe(true);
    await until(async () => (await inboxCount()) === 0, 'every report gone from INBOX');
  });

  it('not a report (a newsletter) goes to the unrecognised mailbox, logged once; nothing else changes', async () => {
    const app = await boot(options());
    const listed = await app.suppressions.list();
    await dropIn(['From: News <news@example.test>', `To: bounces@${BOUNCE_DOMAIN}`, 'Subject: Our weekly news', 'Content-Type: text/plain', '', 'Hello!', ''].join('\r\n'));
    await until(async () => (await inboxCount()) === 0, 'the newsletter moved out of INBOX');
    const moved = await withImap((client) => messagesIn(client, 'unrecognised'));
    expect(moved).toBeGreaterThanOrEqual(1);
    expect(await app.suppressions.list()).toEqual(listed);
    expect(app.logger.text().match(/is no bounce or complaint report/g)).toHaveLength(1);
  });
});

describe('the reader across a Dovecot restart, on Redis (Bull)', () => {
  const prefix = uniquePrefix();
  afterAll(() => deleteKeys(prefix));

  it('reconnects; a report dropped in after the restart is processed once, none lost', async () => {
    const app = await boot({ queue: { redis: REDIS_URL, prefix, driver: 'bull' } });
    const ada = `ada-${randomUUID().slice(0, 6)}@${LOCAL_DOMAIN}`;
    const { messageId } = await app.emails.send({ template: 'test-email', to: ada });
    await until(async () => (await app.log.get(messageId))?.steps.some((step) => step.event === 'sent') === true, 'sent');
    const tag = await tagOf((await app.log.get(messageId))!.steps.find((step) => step.event === 'sent')!.queueId!);
    await until(() => app.mailbox.status()?.state === 'connected', 'the reader connected');

    await dovecot.restart();
    await dropIn(arf({ tag, recipient: ada }).replace(/@acme\.test>/, `@${BOUNCE_DOMAIN}>`));
    await app.events.waitFor(EmailEvent.Complained, 1, 30_000);
    await app.events.waitFor(EmailEvent.Bounced, 1, 30_000);
    await until(async () => (await inboxCount()) === 0, 'every report gone from INBOX', 30_000);
    expect(app.events.seen[EmailEvent.Complained]).toHaveLength(1);
    expect(app.events.seen[EmailEvent.Bounced]).toHaveLength(1);
    expect((await app.log.get(messageId))!.steps.map((step) => step.event).sort()).toEqual(['bounced', 'complained', 'queued', 'sent']);
    expect(app.logger.text()).not.toContain(USER.password);
  });
});

describe('the bounce reader health indicator', () => {
  const indicatorOf = (app: Booted) => new EmailBounceReaderHealthIndicator(new HealthIndicatorService(), app.mailbox);

  it('up while the reader reads the mailbox; up with reading: false without bounces.imap', async () => {
    const app = await boot();
    await until(() => app.mailbox.status()?.state === 'connected', 'the reader connected');
    expect(indicatorOf(app).isHealthy('bounces')).toEqual({ bounces: expect.objectContaining({ status: 'up', state: 'connected', mailbox: 'INBOX' }) });
    const without = await boot({ bounces: { address: `bounces@${BOUNCE_DOMAIN}` } });
    expect(without.mailbox.status()).toBeUndefined();
    expect(indicatorOf(without).isHealthy('bounces')).toEqual({ bounces: { status: 'up', reading: false } });
  });

  // Last: after a failed login Dovecot slows down further logins from this address for a few seconds.
  it('down with why when the login is refused, and the password appears nowhere', async () => {
    const app = await boot({}, { auth: { user: USER.name, pass: 'wrong-password-9876' } });
    await until(() => app.mailbox.status()?.lastError !== undefined, 'the refused login in the status', 20_000);
    const health = indicatorOf(app).isHealthy('bounces');
    expect(health.bounces.status).toBe('down');
    expect(JSON.stringify(health)).toMatch(/authentication failed/i);
    expect(JSON.stringify(health)).not.toContain('wrong-password-9876');
    expect(app.logger.text()).not.toContain('wrong-password-9876');
  });
});

