import { INestApplication, Injectable } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import {
  BeforeEmailSend,
  EmailEvent,
  EmailEventSubscriptions,
  EmailWorkflowErrorCode,
  EmailWorkflowModule,
  EmailWorkflowService,
  FlowNotConfiguredError,
  InvalidArgumentError,
  InvalidRecipientError,
} from 'nestjs-email-workflow';
import type { EmailUserDirectory, EmailWorkflowModuleOptions, OutgoingEmail } from 'nestjs-email-workflow';
import { UsersStore } from '../fixtures/auth-app/users.store';
import { authAppHarness, Overrides, recipientOf, tokenIn } from '../support/auth-app-harness';
import { CapturingLogger } from '../support/capturing-logger';
import { InMemoryUsers } from '../support/in-memory-users';
import { localOptions } from '../support/module-options';
import { dumpKeys, REDIS_URL, TEST_SECRET } from '../support/redis';
import { SmtpSink } from '../support/smtp-sink';
import { sleep, until, untilQueueIdle } from '../support/wait';
import { EventLog } from '../support/workflow';

const APP = 'http://localhost:3000';
const LINKS = {
  ...localOptions(0).links,
  confirmEmailChange: `${APP}/confirm-email-change?token={token}`,
  revertEmailChange: `${APP}/revert-email-change?token={token}`,
  signIn: `${APP}/sign-in/complete?token={token}`,
};

describe('email change through a real app, Redis and SMTP server', () => {
  const harness = authAppHarness({ links: LINKS });
  const { call, tokenSentTo } = harness;
  let sink: SmtpSink;
  let app: INestApplication;
  let prefix: string;
  let users: UsersStore;
  let emails: EmailWorkflowService;
  let events: EventLog;

  beforeEach(() => {
    ({ sink, prefix } = harness);
  });

  async function startApp(overrides: Overrides = {}): Promise<void> {
    app = await harness.startApp(overrides);
    events = new EventLog(app.get(EmailEventSubscriptions));
    users = app.get(UsersStore);
    emails = app.get(EmailWorkflowService);
  }

  /** Registers a user, verifies their address, and clears the sink of the emails that took. */
  async function registered(name: string, email: string, password = 'pw-123456'): Promise<string> {
    const { body } = await call('POST', '/register', { name, email, password });
    await call('POST', '/verify-email', { token: await tokenSentTo(email, 'verify-email') });
    await sink.mailTo(email, /Welcome/);
    sink.messages.length = 0;
    return body.id as string;
  }

  describe.each<[string, Partial<EmailWorkflowModuleOptions>]>([
    ['a Redis queue', {}],
    ['the in-process queue', { queue: false }],
  ])('on %s', (_queue, queueOptions) => {
    it('confirm moves the account to the new address; the revert link from the old inbox puts it back and voids every token', async () => {
      await startApp(queueOptions);
      const id = await registered('Ada', 'ada@example.test', 'ada-password');
      await call('POST', '/forgot-password', { email: 'ada@example.test' });
      const resetBeforeChange = await tokenSentTo('ada@example.test', 'reset-password');

      expect(await call('POST', '/change-email', { userId: id, newEmail: ' Ada.New@Example.test ' })).toMatchObject({ status: 202 });
      const confirmToken = await tokenSentTo('ada.new@example.test', 'confirm-email-change');
      const revertToken = await tokenSentTo('ada@example.test', 'revert-email-change');
      const notice = sink.messages.find((mail) => recipientOf(mail) === 'ada@example.test' && tokenIn(mail, 'revert-email-change'));
      expect(notice?.text).toContain('ada.new@example.test');
      // Each inbox gets only its own link: the old one cannot confirm, the new one cannot revert.
      expect(sink.messages.filter((mail) => recipientOf(mail) === 'ada.new@example.test').map((mail) => tokenIn(mail, 'revert-email-change'))).toEqual([undefined]);

      // A GET (a link scanner) only inspects.
      expect(await call('GET', `/confirm-email-change?token=${confirmToken}`)).toMatchObject({ status: 200, body: { valid: true } });
      expect(await call('POST', '/confirm-email-change', { token: revertToken })).toMatchObject({ status: 400, body: { error: 'EMAIL_WORKFLOW_TOKEN_WRONG_PURPOSE' } });
      expect(await call('POST', '/confirm-email-change', { token: confirmToken })).toEqual({ status: 200, body: { id, email: 'ada.new@example.test' } });
      expect(await users.findById(id)).toMatchObject({ email: 'ada.new@example.test', emailVerified: true });
      expect(await call('POST', '/sign-in', { email: 'ada.new@example.test', password: 'ada-password' })).toMatchObject({ body: { ok: true } });
      expect(await call('POST', '/confirm-email-change', { token: confirmToken })).toMatchObject({ status: 400, body: { error: 'EMAIL_WORKFLOW_TOKEN_USED' } });

      // The confirmation voided the user's other tokens, but not the revert link.
      expect(await emails.inspectToken(resetBeforeChange, 'reset-password')).toEqual({ valid: false, reason: 'expired' });
      expect(await emails.inspectToken(revertToken, 'revert-email-change')).toMatchObject({ valid: true });

      // Whoever holds the new inbox asks for a reset link and a sign-in link: valid until the revert.
      await call('POST', '/forgot-password', { email: 'ada.new@example.test' });
      const resetAfterChange = await tokenSentTo('ada.new@example.test', 'reset-password');
      await emails.requestSignIn('ada.new@example.test');
      const signInAfterChange = await tokenSentTo('ada.new@example.test', 'sign-in/complete');
      expect(await emails.inspectToken(resetAfterChange, 'reset-password')).toMatchObject({ valid: true });
      expect(await emails.inspectToken(signInAfterChange, 'sign-in')).toMatchObject({ valid: true });

      expect(await call('GET', `/revert-email-change?token=${revertToken}`)).toMatchObject({ status: 200, body: { valid: true } });
      expect(await call('POST', '/revert-email-change', { token: revertToken })).toEqual({ status: 200, body: { id, email: 'ada@example.test' } });
      expect(await users.findById(id)).toMatchObject({ email: 'ada@example.test', emailVerified: true });
      expect(await users.findByEmail('ada.new@example.test')).toBeUndefined();
      // Voided, not merely sent to an address the account no longer has: inspection does not compare addresses.
      expect(await emails.inspectToken(resetAfterChange, 'reset-password')).toEqual({ valid: false, reason: 'expired' });
      expect(await call('POST', '/reset-password', { token: resetAfterChange, password: 'attacker' })).toMatchObject({ status: 400 });
      expect(await emails.inspectToken(signInAfterChange, 'sign-in')).toEqual({ valid: false, reason: 'expired' });
      await expect(emails.completeSignIn(signInAfterChange)).rejects.toMatchObject({ code: EmailWorkflowErrorCode.TokenExpired });
      expect(await call('POST', '/revert-email-change', { token: revertToken })).toMatchObject({ status: 400, body: { error: 'EMAIL_WORKFLOW_TOKEN_USED' } });

      expect(events.seen[EmailEvent.EmailChangeRequested]).toEqual([{ userId: id, email: 'ada@example.test', newEmail: 'ada.new@example.test' }]);
      expect(events.seen[EmailEvent.EmailChanged]).toEqual([{ userId: id, email: 'ada.new@example.test', previousEmail: 'ada@example.test' }]);
      expect(events.seen[EmailEvent.EmailChangeReverted]).toEqual([{ userId: id, email: 'ada@example.test', revertedEmail: 'ada.new@example.test' }]);
      const payloads = JSON.stringify([EmailEvent.EmailChangeRequested, EmailEvent.EmailChanged, EmailEvent.EmailChangeReverted].map((event) => events.seen[event]));
      for (const secret of [confirmToken, revertToken, encodeURIComponent(confirmToken), 'http', 'token']) expect(payloads).not.toContain(secret);
    });

    it('a new address that already has an account gets the same answer and no email; the requester gets the usual notice', async () => {
      await startApp(queueOptions);
      const bo = await registered('Bo', 'bo@example.test');
      await registered('Cy', 'cy@example.test');
      const lookupsBefore = users.lookups.length;

      const taken = await call('POST', '/change-email', { userId: bo, newEmail: 'cy@example.test' });
      await until(() => users.lookups.slice(lookupsBefore).includes('cy@example.test'), 'the look-up of the taken address');
      await untilQueueIdle(emails);
      await sink.untilNothingArriving();
      // Proves an absence: nothing is left to wait for, so give a wrongly queued email this window to show.
      await sleep(300);
      // The requester's inbox cannot tell a taken address from a free one.
      expect(sink.messages.map(recipientOf)).toEqual(['bo@example.test']);
      expect(sink.messages[0].subject).toMatch(/being changed/);
      expect(events.seen[EmailEvent.EmailChangeRequested]).toEqual([]);

      const free = await call('POST', '/change-email', { userId: bo, newEmail: 'bo.new@example.test' });
      expect(taken).toEqual(free);
      expect(free.status).toBe(202);
      await tokenSentTo('bo.new@example.test', 'confirm-email-change');
      await tokenSentTo('bo@example.test', 'revert-email-change');
    });
  });

  it('stores the request before answering, with neither address in clear; a worker started later sends both emails', async () => {
    // The answering process has no worker: only another process on that Redis can do the request.
    await startApp((keyPrefix) => ({ queue: { redis: REDIS_URL, prefix: keyPrefix, worker: false } }));
    const { id } = await users.create('Hal', 'hal@example.test', 'pw-123456');
    expect(await call('POST', '/change-email', { userId: id, newEmail: 'hal.new@example.test' })).toMatchObject({ status: 202 });
    const stored = [...(await dumpKeys(prefix)).entries()].flat().join('\n');
    expect(stored).not.toBe('');
    expect(stored).not.toContain('hal.new@example.test');
    expect(stored).not.toContain('hal@example.test');

    const directory = users;
    await app.close();
    const worker = await Test.createTestingModule({
      imports: [
        EmailWorkflowModule.forRoot(localOptions(sink.port, { secret: TEST_SECRET, queue: { redis: REDIS_URL, prefix }, links: LINKS, users: directory })),
      ],
    })
      .setLogger(new CapturingLogger())
      .compile();
    app = harness.adopt(worker.createNestApplication({ logger: false }));
    await app.init();
    await tokenSentTo('hal.new@example.test', 'confirm-email-change');
    await tokenSentTo('hal@example.test', 'revert-email-change');
  });

  it('refuses the confirmation when the new address got an account since the request, and keeps the old address', async () => {
    await startApp();
    const di = await registered('Di', 'di@example.test');
    await call('POST', '/change-email', { userId: di, newEmail: 'di.new@example.test' });
    const confirmToken = await tokenSentTo('di.new@example.test', 'confirm-email-change');
    await call('POST', '/register', { name: 'Other', email: 'di.new@example.test', password: 'pw-123456' });

    expect(await call('POST', '/confirm-email-change', { token: confirmToken })).toMatchObject({ status: 400, body: { error: 'EMAIL_WORKFLOW_TOKEN_EXPIRED' } });
    expect(await users.findById(di)).toMatchObject({ email: 'di@example.test' });
    expect(events.seen[EmailEvent.EmailChanged]).toEqual([]);
  });

  it('the revert link used before the confirmation cancels the change: the confirmation link is void', async () => {
    await startApp();
    const ed = await registered('Ed', 'ed@example.test');
    await call('POST', '/change-email', { userId: ed, newEmail: 'ed.new@example.test' });
    const confirmToken = await tokenSentTo('ed.new@example.test', 'confirm-email-change');
    const revertToken = await tokenSentTo('ed@example.test', 'revert-email-change');

    expect(await call('POST', '/revert-email-change', { token: revertToken })).toEqual({ status: 200, body: { id: ed, email: 'ed@example.test' } });
    expect(await call('POST', '/confirm-email-change', { token: confirmToken })).toMatchObject({ status: 400, body: { error: 'EMAIL_WORKFLOW_TOKEN_EXPIRED' } });
    expect(await users.findById(ed)).toMatchObject({ email: 'ed@example.test' });
    expect(events.seen[EmailEvent.EmailChangeReverted]).toEqual([{ userId: ed, email: 'ed@example.test', revertedEmail: 'ed@example.test' }]);
  });

  it('limits requests per user (flows.changeEmail.limits.perUser), whatever the new address', async () => {
    await startApp({ flows: { changeEmail: { limits: { perUser: { limit: 2, windowSeconds: 60 } } } } });
    const flo = await registered('Flo', 'flo@example.test');
    const statuses = [];
    for (const newEmail of ['flo.1@example.test', 'flo.2@example.test', 'flo.3@example.test']) {
      statuses.push((await call('POST', '/change-email', { userId: flo, newEmail })).status);
    }
    expect(statuses).toEqual([202, 202, 429]);
    expect(await call('POST', '/change-email', { userId: flo, newEmail: 'flo.4@example.test' })).toMatchObject({ body: { error: 'EMAIL_WORKFLOW_RATE_LIMITED' } });
    // Another user's budget is their own.
    const gus = await registered('Gus', 'gus@example.test');
    expect((await call('POST', '/change-email', { userId: gus, newEmail: 'gus.new@example.test' })).status).toBe(202);
  });

  it('limits requests naming one new address from any account (flows.changeEmail.limits.perNewAddress), spelled any way', async () => {
    await startApp({ flows: { changeEmail: { limits: { perNewAddress: { limit: 2, windowSeconds: 60 } } } } });
    // Registered first: registered() clears the sink.
    const requesters = [[await registered('Hal', 'hal@example.test'), 'target@example.test'], [await registered('Ida', 'ida@example.test'), 'TARGET@example.test'], [await registered('Jo', 'jo@example.test'), ' target@example.test ']];
    const statuses = [];
    for (const [userId, newEmail] of requesters) statuses.push((await call('POST', '/change-email', { userId, newEmail })).status);
    expect(statuses).toEqual([202, 202, 429]);
    await until(() => sink.messages.filter((mail) => /target@example\.test/i.test(JSON.stringify(mail.to))).length >= 2, 'two confirmations to the target');
    await untilQueueIdle(emails);
    expect(sink.messages.filter((mail) => /target@example\.test/i.test(JSON.stringify(mail.to)))).toHaveLength(2);
  });
});

/** Sees every email of an email change, and cancels the confirmation to a suppressed address. */
@Injectable()
class ChangeHooks {
  readonly seen: Array<{ template: string; to: string }> = [];

  @BeforeEmailSend()
  check(email: OutgoingEmail): void {
    this.seen.push({ template: email.template, to: email.to.address });
    if (email.to.address === 'suppressed@example.test') email.cancel('suppressed');
  }
}

describe('email change: what it needs, and what it refuses', () => {
  let sink: SmtpSink;
  const started: TestingModule[] = [];

  async function boot(options: Partial<EmailWorkflowModuleOptions>, providers: Array<new () => unknown> = []): Promise<EmailWorkflowService> {
    const moduleRef = await Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(localOptions(sink.port, { queue: false, ...options }))], providers })
      .setLogger(new CapturingLogger())
      .compile();
    started.push(moduleRef);
    await moduleRef.init();
    return moduleRef.get(EmailWorkflowService);
  }

  async function rejection(call: () => Promise<unknown>): Promise<unknown> {
    return call().then(
      () => undefined,
      (error: unknown) => error,
    );
  }

  const ada = { id: 'u1', email: 'ada@example.test', name: 'Ada' };

  beforeAll(async () => {
    sink = await SmtpSink.start();
  });

  afterAll(async () => {
    await Promise.all(started.splice(0).map((moduleRef) => moduleRef.close()));
    await sink.close();
  });

  it('without users.updateEmail every email-change method throws FlowNotConfiguredError naming it', async () => {
    const memory = new InMemoryUsers();
    memory.add(ada);
    const withoutUpdate: EmailUserDirectory = {
      findByEmail: (email) => memory.findByEmail(email),
      findById: (id) => memory.findById(id),
      markEmailVerified: (id) => memory.markEmailVerified(id),
    };
    const emails = await boot({ links: LINKS, users: withoutUpdate });
    for (const call of [() => emails.requestEmailChange(ada, 'ada.new@example.test'), () => emails.confirmEmailChange('x'.repeat(43)), () => emails.revertEmailChange('x'.repeat(43))]) {
      const error = await rejection(call);
      expect(error).toBeInstanceOf(FlowNotConfiguredError);
      expect(error).toMatchObject({ code: EmailWorkflowErrorCode.FlowNotConfigured });
      expect((error as Error).message).toContain('users.updateEmail');
    }
  });

  it.each([
    ['links.confirmEmailChange', { ...localOptions(0).links, revertEmailChange: LINKS.revertEmailChange }],
    ['links.revertEmailChange', { ...localOptions(0).links, confirmEmailChange: LINKS.confirmEmailChange }],
  ])('without %s, requestEmailChange throws FlowNotConfiguredError naming it', async (missing, links) => {
    const emails = await boot({ links, users: new InMemoryUsers() });
    const error = await rejection(() => emails.requestEmailChange(ada, 'ada.new@example.test'));
    expect(error).toBeInstanceOf(FlowNotConfiguredError);
    expect((error as Error).message).toContain(missing);
  });

  it('runs the before-send hooks for both emails; when one cancels the confirmation, the current address is not warned either', async () => {
    const users = new InMemoryUsers();
    users.add(ada);
    const emails = await boot({ links: LINKS, users }, [ChangeHooks]);
    sink.messages.length = 0;
    const hooks = started[started.length - 1].get(ChangeHooks);

    await emails.requestEmailChange(ada, 'suppressed@example.test');
    await until(() => hooks.seen.length === 1, 'the hook to see the confirmation');
    await untilQueueIdle(emails);
    // Proves an absence: the flow stops once the hook cancels, so give a wrongly queued warning this window to show.
    await sleep(300);
    expect(hooks.seen).toEqual([{ template: 'confirm-email-change', to: 'suppressed@example.test' }]);
    expect(sink.messages).toEqual([]);

    await emails.requestEmailChange(ada, 'ada.new@example.test');
    await until(() => sink.messages.length === 2, 'both emails of the change');
    expect(hooks.seen.slice(1)).toEqual([
      { template: 'confirm-email-change', to: 'ada.new@example.test' },
      { template: 'email-change-requested', to: 'ada@example.test' },
    ]);
  });

  it('refuses a new address that is not one address, or is the current one, with typed errors', async () => {
    const emails = await boot({ links: LINKS, users: new InMemoryUsers() });
    expect(await rejection(() => emails.requestEmailChange(ada, 'not an address'))).toBeInstanceOf(InvalidRecipientError);
    expect(await rejection(() => emails.requestEmailChange(ada, 'a@example.test, b@example.test'))).toBeInstanceOf(InvalidRecipientError);
    const same = await rejection(() => emails.requestEmailChange(ada, ' ADA@example.test'));
    expect(same).toBeInstanceOf(InvalidArgumentError);
    expect(same).toMatchObject({ argument: 'newEmail' });
  });
});
