import { Test, TestingModule } from '@nestjs/testing';
import {
  EmailEvent,
  EmailEventSubscriptions,
  EmailSuppressions,
  EmailWorkflowModule,
  EmailWorkflowService,
  InvalidArgumentError,
  InvalidRecipientError,
} from 'nestjs-email-workflow';
import type { EmailQueueDriver, EmailWorkflowModuleOptions } from 'nestjs-email-workflow';
import type { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import { CapturingLogger } from '../support/capturing-logger';
import { InMemoryUsers } from '../support/in-memory-users';
import { invalidOptionsError, localOptions } from '../support/module-options';
import { deleteKeys, dumpKeys, TEST_SECRET, uniquePrefix } from '../support/redis';
import { linkIn, SmtpSink, smtpReply } from '../support/smtp-sink';
import { until, untilQueueIdle } from '../support/wait';
import { QUEUE_DRIVERS } from '../support/queue-drivers';
import { bootRedisWorkflow, BootedWorkflow, EventLog } from '../support/workflow';

/** Refusals by address: what the sink answers to RCPT TO for each, until a test takes it out. */
const refusals = new Map<string, [code: number, text: string]>();
const rcptAttempts: string[] = [];
let sink: SmtpSink;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  sink = await SmtpSink.start({
    // The library reads the enhanced code from the reply text; the sink must not add one of its own.
    hideENHANCEDSTATUSCODES: true,
    onRcptTo: (address: SMTPServerAddress, _session: SMTPServerSession, callback: (error?: Error | null) => void) => {
      rcptAttempts.push(address.address);
      const refusal = refusals.get(address.address);
      return refusal ? callback(smtpReply(...refusal)) : callback();
    },
  });
});

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
  refusals.clear();
  // Counted per test: the same addresses are used on each queue driver.
  rcptAttempts.length = 0;
  sink.messages.length = 0;
});

afterAll(async () => {
  await sink?.close();
});

/** Every flow's link, so each security notice can go out. */
const LINKS = {
  ...localOptions(0).links,
  signIn: 'http://localhost:3000/sign-in?token={token}',
  confirmEmailChange: 'http://localhost:3000/confirm-email-change?token={token}',
  revertEmailChange: 'http://localhost:3000/revert-email-change?token={token}',
};

/** The real address, and its look-alike with a full-width ｖ (U+FF56), which NFKC would fold into it. */
const VICTIM = 'victim@example.test';
const LOOK_ALIKE = '\uFF56ictim@example.test';

const attemptsTo = (address: string) => rcptAttempts.filter((attempt) => attempt === address).length;

/** A prefix of the test's own, its keys deleted after the test: for lists that must hold only what the test put there. */
function ownPrefix(): string {
  const prefix = uniquePrefix();
  cleanups.unshift(() => deleteKeys(prefix));
  return prefix;
}

async function onRedis(prefix: string, queue: { driver?: EmailQueueDriver; worker?: boolean } = {}, overrides: Partial<EmailWorkflowModuleOptions> = {}): Promise<BootedWorkflow & { suppressions: EmailSuppressions }> {
  const booted = await bootRedisWorkflow(sink.port, prefix, queue, overrides);
  cleanups.push(() => booted.moduleRef.close());
  return { ...booted, suppressions: booted.moduleRef.get(EmailSuppressions) };
}

/** A module on the in-process queue (memory list) with a user directory, its events logged. */
async function inProcess(overrides: Partial<EmailWorkflowModuleOptions> = {}) {
  const users = new InMemoryUsers();
  const moduleRef: TestingModule = await Test.createTestingModule({
    imports: [
      EmailWorkflowModule.forRoot(
        localOptions(sink.port, {
          users,
          links: { ...localOptions(0).links, signIn: 'http://localhost:3000/sign-in?token={token}' },
          ...overrides,
        }),
      ),
    ],
  })
    .setLogger(new CapturingLogger())
    .compile();
  const events = new EventLog(moduleRef.get(EmailEventSubscriptions));
  await moduleRef.init();
  cleanups.push(() => moduleRef.close());
  return { users, events, emails: moduleRef.get(EmailWorkflowService), suppressions: moduleRef.get(EmailSuppressions) };
}

describe.each(QUEUE_DRIVERS)('suppression list on Redis (%s), shared by two processes on one prefix', (driver) => {
  const prefix = uniquePrefix();
  afterAll(() => deleteKeys(prefix));

  it('a 550 5.1.1 suppresses; the next send is cancelled with email.suppressed and never queued; remove lets it through', async () => {
    const worker = await onRedis(prefix, { driver });
    const enqueuer = await onRedis(prefix, { driver, worker: false });
    refusals.set('gone@example.test', [550, '5.1.1 No such user']);

    const bounced = await enqueuer.emails.send({ template: 'test-email', to: 'gone@example.test' });
    const [failed] = await worker.events.waitFor(EmailEvent.Failed, 1);
    expect(failed).toMatchObject({ messageId: bounced.messageId, kind: 'permanent', enhancedCode: '5.1.1' });
    await until(() => worker.suppressions.has('gone@example.test'), 'the bounced address on the list');
    // The other process reads the same list, whatever the spelling.
    expect(await enqueuer.suppressions.find(' Gone@Example.TEST ')).toEqual({
      address: 'gone@example.test',
      reason: 'bounce',
      code: '5.1.1',
      messageId: bounced.messageId,
      suppressedAt: expect.any(Date),
    });

    const cancelled = await enqueuer.emails.send({ template: 'test-email', to: { address: 'gone@example.test', name: 'Gone' } });
    expect(cancelled).toEqual({ id: '', messageId: expect.stringMatching(/^<.+@acme\.test>$/), cancelled: { reason: 'suppressed' } });
    expect(enqueuer.events.seen[EmailEvent.Suppressed]).toEqual([
      { messageId: cancelled.messageId, template: 'test-email', to: 'gone@example.test', reason: 'bounce', code: '5.1.1', suppressedAt: expect.any(Date) },
    ]);
    // Cancelled before the queue: no email.queued, no job, no second attempt at the server.
    expect(enqueuer.events.seen[EmailEvent.Queued].map((queued) => queued.messageId)).toEqual([bounced.messageId]);
    await untilQueueIdle(worker.emails);
    expect(attemptsTo('gone@example.test')).toBe(1);

    // The mailbox exists again: support takes the address off the list from the other process.
    refusals.delete('gone@example.test');
    expect(await worker.suppressions.remove('GONE@example.test')).toBe(true);
    expect(await enqueuer.suppressions.has('gone@example.test')).toBe(false);
    expect(await worker.suppressions.remove('gone@example.test')).toBe(false);
    const again = await enqueuer.emails.send({ template: 'test-email', to: 'gone@example.test' });
    expect(again.cancelled).toBeUndefined();
    const mail = await sink.mailWithId(again.messageId);
    expect(mail.subject).toBe('Test email from Acme');
    expect(enqueuer.events.seen[EmailEvent.Suppressed]).toHaveLength(1);
  });

  it('a look-alike spelling refused with 550 5.1.1 is suppressed as it was spelt; the real address is not, and gets its sign-in link', async () => {
    const users = new InMemoryUsers();
    users.add({ id: 'victim', email: VICTIM, name: 'Victim', emailVerified: true });
    const mallory = users.add({ id: 'mallory', email: 'mallory@example.test', name: 'Mallory', emailVerified: true });
    const app = await onRedis(ownPrefix(), { driver }, { users, links: LINKS });
    expect(LOOK_ALIKE.normalize('NFKC')).toBe(VICTIM);
    refusals.set(LOOK_ALIKE, [550, '5.1.1 No such user']);

    // From their own account, the attacker asks to move it to the look-alike: the server refuses the confirmation.
    await app.emails.requestEmailChange(mallory, LOOK_ALIKE);
    const [failed] = await app.events.waitFor(EmailEvent.Failed, 1);
    expect(failed).toMatchObject({ template: 'confirm-email-change', to: LOOK_ALIKE, kind: 'permanent', enhancedCode: '5.1.1' });
    expect(attemptsTo(LOOK_ALIKE)).toBe(1);
    await until(() => app.suppressions.has(LOOK_ALIKE), 'the refused spelling on the list');
    expect(await app.suppressions.find(LOOK_ALIKE)).toEqual({ address: LOOK_ALIKE, reason: 'bounce', code: '5.1.1', messageId: expect.stringMatching(/^<[0-9a-f]{32}@acme\.test>$/), suppressedAt: expect.any(Date) });
    expect(await app.suppressions.has(VICTIM)).toBe(false);
    expect(await app.suppressions.find(VICTIM)).toBeUndefined();
    expect((await app.suppressions.list()).map(({ address }) => address)).toEqual([LOOK_ALIKE]);

    await app.emails.requestSignIn(VICTIM);
    const signIn = await sink.mailTo(VICTIM, /Sign in to Acme/);
    expect(linkIn(signIn.html as string, 'http://localhost:3000/sign-in?token=')).toBeDefined();
    expect(app.events.seen[EmailEvent.Suppressed]).toEqual([]);
  });

  it('every security notice reaches an address on the list (new-sign-in, reset-password, password-changed, email-change-requested); sign-in and verify-email stay suppressed', async () => {
    const users = new InMemoryUsers();
    const kept = users.add({ id: 'kept', email: 'kept@example.test', name: 'Kept', emailVerified: false });
    const app = await onRedis(ownPrefix(), { driver }, { users, links: LINKS });
    await app.suppressions.add('kept@example.test', 'bounce', { code: '5.1.1' });
    const delivered = (subject: RegExp) => sink.mailTo('kept@example.test', subject);

    // A suppressed address is asked for sign-in and verification: both stay cancelled.
    await app.emails.requestSignIn('kept@example.test');
    await app.emails.resendVerification('kept@example.test');
    await app.events.waitFor(EmailEvent.Suppressed, 2);

    const notice = await app.emails.notifyNewSignIn(kept, { ip: '192.0.2.10' });
    expect(notice.cancelled).toBeUndefined();
    expect((await sink.mailWithId(notice.messageId)).subject).toBe('New sign-in to your Acme account');

    await app.emails.requestPasswordReset('kept@example.test');
    const reset = await delivered(/Reset your Acme password/);
    const resetLink = linkIn(reset.html as string, 'http://localhost:3000/reset-password?token=') as string;
    expect(resetLink).toBeDefined();
    await app.emails.resetPassword(new URL(resetLink).searchParams.get('token') as string, async () => undefined);
    await delivered(/Your Acme password was changed/);

    await app.emails.requestEmailChange(kept, 'kept.new@example.test');
    const changeNotice = await delivered(/Your Acme email address is being changed/);
    expect(linkIn(changeNotice.html as string, 'http://localhost:3000/revert-email-change?token=')).toBeDefined();

    await untilQueueIdle(app.emails);
    expect(app.events.seen[EmailEvent.Suppressed].map(({ template, to }) => [template, to])).toEqual([
      ['sign-in', 'kept@example.test'],
      ['verify-email', 'kept@example.test'],
    ]);
    const received = sink.messages.filter((mail) => mail.to && !Array.isArray(mail.to) && mail.to.value[0]?.address === 'kept@example.test').map((mail) => mail.subject);
    expect(received.sort()).toEqual(
      ['New sign-in to your Acme account', 'Reset your Acme password', 'Your Acme email address is being changed', 'Your Acme password was changed'].sort(),
    );
  });

  it('Redis holds the address only sealed beside its keyed hash; list() opens it; another secret reads nothing', async () => {
    const worker = await onRedis(prefix, { driver });
    refusals.set('disabled.mailbox@example.test', [550, '5.2.1 Mailbox disabled']);
    const disabled = await worker.emails.send({ template: 'test-email', to: 'disabled.mailbox@example.test' });
    await until(() => worker.suppressions.has('disabled.mailbox@example.test'), 'the 5.2.1 address on the list');
    await worker.suppressions.add('Complainer@Example.test', 'complaint');

    const dump = await dumpKeys(prefix);
    const stored = dump.get(`${prefix}:email-workflow:suppressions`);
    expect(stored).toBeDefined();
    const fields = JSON.parse(stored as string) as Record<string, string>;
    expect(Object.keys(fields)).toHaveLength(2);
    // Field: the HMAC of the address (SHA-256, base64url); value: reason, code and time in clear, the address sealed.
    for (const field of Object.keys(fields)) expect(field).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const values = Object.values(fields).map((value) => JSON.parse(value) as Record<string, unknown>);
    expect(values.sort((a, b) => String(a.reason).localeCompare(String(b.reason)))).toEqual([
      { sealedAddress: expect.stringMatching(/^v1\./), reason: 'bounce', code: '5.2.1', sealedMessageId: expect.stringMatching(/^v1\./), at: expect.any(Number) },
      { sealedAddress: expect.stringMatching(/^v1\./), reason: 'complaint', at: expect.any(Number) },
    ]);
    const everything = [...dump.entries()].flat().join('\n').toLowerCase();
    for (const part of ['disabled.mailbox', 'complainer', 'example.test']) expect(everything).not.toContain(part);

    const listed = await worker.suppressions.list();
    expect(listed).toEqual([
      { address: 'complainer@example.test', reason: 'complaint', suppressedAt: expect.any(Date) },
      { address: 'disabled.mailbox@example.test', reason: 'bounce', code: '5.2.1', messageId: disabled.messageId, suppressedAt: expect.any(Date) },
    ]);

    const otherSecret = await onRedis(prefix, { driver, worker: false }, { secret: `${TEST_SECRET}-another-one` });
    expect(await otherSecret.suppressions.list()).toEqual([]);
    expect(await otherSecret.suppressions.has('complainer@example.test')).toBe(false);
  });
});

describe('suppression list in process memory (in-process queue)', () => {
  it('5.7.1 (a policy refusal) suppresses only when the app lists it in suppression.codes', async () => {
    refusals.set('policy@example.test', [550, '5.7.1 Message refused by policy']);
    refusals.set('plain550@example.test', [554, 'Transaction failed']);
    const { emails, events, suppressions } = await inProcess({ suppression: { codes: ['5.7', '554'] } });
    await emails.send({ template: 'test-email', to: 'policy@example.test' });
    await emails.send({ template: 'test-email', to: 'plain550@example.test' });
    await events.waitFor(EmailEvent.Failed, 2);
    await until(async () => (await suppressions.list()).length === 2, 'both refused addresses on the list');
    expect((await suppressions.list()).map(({ address, code }) => [address, code]).sort()).toEqual([
      ['plain550@example.test', '554'],
      ['policy@example.test', '5.7.1'],
    ]);
  });

  it('reset-password is still sent to a suppressed address by default; sign-in and verification are not; the flows answer alike', async () => {
    const { users, emails, events, suppressions } = await inProcess();
    users.add({ id: 'u-1', email: 'kept@example.test', name: 'Kept', emailVerified: false });
    await suppressions.add('kept@example.test', 'complaint');

    // Suppressed account, unknown address: the same answer, so a caller cannot tell who is on the list.
    expect(await emails.requestSignIn('kept@example.test')).toBeUndefined();
    expect(await emails.requestSignIn('nobody@example.test')).toBeUndefined();
    expect(await emails.resendVerification('kept@example.test')).toBeUndefined();
    expect(await emails.resendVerification('nobody@example.test')).toBeUndefined();
    await events.waitFor(EmailEvent.Suppressed, 2);
    expect(events.seen[EmailEvent.Suppressed].map((event) => [event.template, event.to, event.reason])).toEqual([
      ['sign-in', 'kept@example.test', 'complaint'],
      ['verify-email', 'kept@example.test', 'complaint'],
    ]);

    expect(await emails.requestPasswordReset('kept@example.test')).toBeUndefined();
    const reset = await sink.mailTo('kept@example.test', /Reset your Acme password/);
    expect(reset.to).toBeDefined();
    await untilQueueIdle(emails);
    expect(events.seen[EmailEvent.Queued].map((queued) => queued.template)).toEqual(['reset-password']);
    expect(events.seen[EmailEvent.Suppressed]).toHaveLength(2);
    for (const payload of events.seen[EmailEvent.Suppressed]) expect(JSON.stringify(payload)).not.toMatch(/token|http/i);
  });

  it('look-alikes that NFKC or Unicode case mapping would fold are entries of their own; spaces and ASCII case are not', async () => {
    const { suppressions } = await inProcess();
    // Full-width ｖ (U+FF56), the Kelvin sign (U+212A, which toLowerCase() maps to k), the ﬁ ligature (U+FB01).
    const lookAlikes = [LOOK_ALIKE, '\u212Aate@example.test', 'of\uFB01ce@example.test'];
    for (const address of lookAlikes) await suppressions.add(address, 'bounce', { code: '5.1.1' });
    for (const real of [VICTIM, 'kate@example.test', 'office@example.test']) {
      expect(await suppressions.has(real)).toBe(false);
      expect(await suppressions.remove(real)).toBe(false);
    }
    expect(await suppressions.has(' \uFF56ICTIM@Example.TEST ')).toBe(true);
    expect(await suppressions.find('\u212AATE@EXAMPLE.TEST')).toMatchObject({ address: '\u212Aate@example.test', code: '5.1.1' });
    expect((await suppressions.list()).map(({ address }) => address).sort()).toEqual([...lookAlikes].sort());
  });

  it('suppression.bypassTemplates: [] suppresses reset-password too', async () => {
    const { users, emails, events, suppressions } = await inProcess({ suppression: { bypassTemplates: [] } });
    users.add({ id: 'u-2', email: 'strict@example.test', name: 'Strict' });
    await suppressions.add('strict@example.test', 'manual');
    await emails.requestPasswordReset('strict@example.test');
    const [suppressed] = await events.waitFor(EmailEvent.Suppressed, 1);
    expect(suppressed).toMatchObject({ template: 'reset-password', to: 'strict@example.test', reason: 'manual' });
    expect(events.seen[EmailEvent.Queued]).toHaveLength(0);
  });

  it('wrong arguments are InvalidArgumentError naming the argument; a bad address is InvalidRecipientError', async () => {
    const { suppressions } = await inProcess();
    const loose = suppressions as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const cases: Array<[method: string, args: unknown[], argument: string]> = [
      ['add', [42, 'manual'], 'address'],
      ['add', ['a@example.test', ''], 'reason'],
      ['add', ['a@example.test', 7], 'reason'],
      ['add', ['a@example.test', 'manual', 'x'], 'details'],
      ['add', ['a@example.test', 'manual', { code: 550 }], 'details.code'],
      ['remove', [null], 'address'],
      ['has', [{ address: 'a@example.test' }], 'address'],
      ['find', [undefined], 'address'],
    ];
    for (const [method, args, argument] of cases) {
      const error = await loose[method].apply(suppressions, args).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ method: `EmailSuppressions.${method}`, argument });
    }
    await expect(suppressions.add('not an address', 'manual')).rejects.toBeInstanceOf(InvalidRecipientError);
    expect(await suppressions.list()).toEqual([]);
  });

  it('bad suppression options fail the boot, each naming its field', async () => {
    const error = await invalidOptionsError(
      localOptions(sink.port, { suppression: { codes: ['4.2.2', '5.1.1'], bypassTemplates: 'reset-password', unknown: true } as never }),
    );
    expect(error.problems.map((problem) => problem.path).sort()).toEqual(['suppression.bypassTemplates', 'suppression.codes', 'suppression.unknown']);
    expect(error.problems.find((problem) => problem.path === 'suppression.codes')?.fix).toContain("'5.7.1'");
  });
});

