import { Inject, Injectable, Logger } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { join } from 'node:path';
import type { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import {
  BeforeEmailSend,
  EmailEvent,
  EmailEventPayloads,
  EmailBounceProcessor,
  EmailDeliveryLog,
  EmailEventSubscriptions,
  EmailSuppressions,
  EmailWorkflowModule,
  EmailWorkflowService,
  InvalidHeaderError,
  OnEmailEvent,
  TestEmailCancelledError,
} from 'nestjs-email-workflow';
import * as publicApi from 'nestjs-email-workflow';
import type { EmailTemplateStore, OutgoingEmail } from 'nestjs-email-workflow';
import { arf, dsn } from '../support/bounce-reports';
import { InMemoryUsers, InMemoryUsersModule } from '../support/in-memory-users';
import { localOptions } from '../support/module-options';
import { linkIn, SmtpSink, smtpReply } from '../support/smtp-sink';
import { sleep, until, untilQueueIdle } from '../support/wait';
import { EventLog } from '../support/workflow';

const VERIFY_PREFIX = 'http://localhost:3000/verify-email';
const RESET_PREFIX = 'http://localhost:3000/reset-password';
const SIGN_IN_PREFIX = 'http://localhost:3000/sign-in';
const CONFIRM_PREFIX = 'http://localhost:3000/email/confirm';
const REVERT_PREFIX = 'http://localhost:3000/email/revert';
const HOOK_TEMPLATES_DIR = join(__dirname, '..', 'fixtures', 'templates', 'hooks');
/** The one SMTP transport these tests send through, as email.sent names it: password replaced. */
const SENDING_TRANSPORT = expect.stringMatching(/^smtp:\/\/mailer:\*\*\*@127\.0\.0\.1:\d+ \(no TLS\)$/);

type Received = { [E in EmailEvent]: Array<EmailEventPayloads[E]> };

/**
 * The app's template store: a German test email that fails its checks (a line break in its subject),
 * so that email.template-skipped is emitted; nothing for any other template or locale.
 */
const BROKEN_STORE: EmailTemplateStore = {
  get: async (name, locale) => (name === 'test-email' && locale === 'de' ? { subject: 'Test\r\nBcc: victim@example.test', html: '<p>Test</p>', version: 'broken-1' } : null),
};

function emptyLog(): Received {
  return Object.fromEntries(Object.values(EmailEvent).map((event) => [event, []])) as unknown as Received;
}

function tokenFrom(link: string | undefined): string {
  expect(link).toBeDefined();
  const token = new URL(link as string).searchParams.get('token');
  expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  return token as string;
}

/** Records every documented event. Registered three times: as a class, from a factory and as a value. */
@Injectable()
class RecordingListener {
  readonly received = emptyLog();

  @OnEmailEvent(EmailEvent.VerificationRequested)
  onVerificationRequested(payload: EmailEventPayloads[EmailEvent.VerificationRequested]) {
    this.received[EmailEvent.VerificationRequested].push(payload);
  }

  @OnEmailEvent(EmailEvent.EmailVerified)
  onEmailVerified(payload: EmailEventPayloads[EmailEvent.EmailVerified]) {
    this.received[EmailEvent.EmailVerified].push(payload);
  }

  @OnEmailEvent(EmailEvent.PasswordResetRequested)
  onPasswordResetRequested(payload: EmailEventPayloads[EmailEvent.PasswordResetRequested]) {
    this.received[EmailEvent.PasswordResetRequested].push(payload);
  }

  @OnEmailEvent(EmailEvent.PasswordChanged)
  onPasswordChanged(payload: EmailEventPayloads[EmailEvent.PasswordChanged]) {
    this.received[EmailEvent.PasswordChanged].push(payload);
  }

  @OnEmailEvent(EmailEvent.Queued)
  onQueued(payload: EmailEventPayloads[EmailEvent.Queued]) {
    this.received[EmailEvent.Queued].push(payload);
  }

  @OnEmailEvent(EmailEvent.Sent)
  onSent(payload: EmailEventPayloads[EmailEvent.Sent]) {
    this.received[EmailEvent.Sent].push(payload);
  }

  @OnEmailEvent(EmailEvent.Retrying)
  onRetrying(payload: EmailEventPayloads[EmailEvent.Retrying]) {
    this.received[EmailEvent.Retrying].push(payload);
  }

  @OnEmailEvent(EmailEvent.Failed)
  onFailed(payload: EmailEventPayloads[EmailEvent.Failed]) {
    this.received[EmailEvent.Failed].push(payload);
  }

  @OnEmailEvent(EmailEvent.SignInRequested)
  onSignInRequested(payload: EmailEventPayloads[EmailEvent.SignInRequested]) {
    this.received[EmailEvent.SignInRequested].push(payload);
  }

  @OnEmailEvent(EmailEvent.SignedIn)
  onSignedIn(payload: EmailEventPayloads[EmailEvent.SignedIn]) {
    this.received[EmailEvent.SignedIn].push(payload);
  }

  @OnEmailEvent(EmailEvent.EmailChangeRequested)
  onEmailChangeRequested(payload: EmailEventPayloads[EmailEvent.EmailChangeRequested]) {
    this.received[EmailEvent.EmailChangeRequested].push(payload);
  }

  @OnEmailEvent(EmailEvent.EmailChanged)
  onEmailChanged(payload: EmailEventPayloads[EmailEvent.EmailChanged]) {
    this.received[EmailEvent.EmailChanged].push(payload);
  }

  @OnEmailEvent(EmailEvent.EmailChangeReverted)
  onEmailChangeReverted(payload: EmailEventPayloads[EmailEvent.EmailChangeReverted]) {
    this.received[EmailEvent.EmailChangeReverted].push(payload);
  }

  @OnEmailEvent(EmailEvent.Suppressed)
  onSuppressed(payload: EmailEventPayloads[EmailEvent.Suppressed]) {
    this.received[EmailEvent.Suppressed].push(payload);
  }

  @OnEmailEvent(EmailEvent.Cancelled)
  onCancelled(payload: EmailEventPayloads[EmailEvent.Cancelled]) {
    this.received[EmailEvent.Cancelled].push(payload);
  }

  // Stacked: one method per kind of report read back.
  @OnEmailEvent(EmailEvent.Bounced)
  onBounced(payload: EmailEventPayloads[EmailEvent.Bounced]) {
    this.received[EmailEvent.Bounced].push(payload);
  }

  @OnEmailEvent(EmailEvent.Delayed)
  onDelayed(payload: EmailEventPayloads[EmailEvent.Delayed]) {
    this.received[EmailEvent.Delayed].push(payload);
  }

  @OnEmailEvent(EmailEvent.Complained)
  onComplained(payload: EmailEventPayloads[EmailEvent.Complained]) {
    this.received[EmailEvent.Complained].push(payload);
  }

  @OnEmailEvent(EmailEvent.ReportIgnored)
  onReportIgnored(payload: EmailEventPayloads[EmailEvent.ReportIgnored]) {
    this.received[EmailEvent.ReportIgnored].push(payload);
  }

  @OnEmailEvent(EmailEvent.Delivered)
  onDelivered(payload: EmailEventPayloads[EmailEvent.Delivered]) {
    this.received[EmailEvent.Delivered].push(payload);
  }

  @OnEmailEvent(EmailEvent.Unsubscribed)
  onUnsubscribed(payload: EmailEventPayloads[EmailEvent.Unsubscribed]) {
    this.received[EmailEvent.Unsubscribed].push(payload);
  }

  @OnEmailEvent(EmailEvent.TemplateSkipped)
  onTemplateSkipped(payload: EmailEventPayloads[EmailEvent.TemplateSkipped]) {
    this.received[EmailEvent.TemplateSkipped].push(payload);
  }

  // Stacked: one method for both gate events.
  @OnEmailEvent(EmailEvent.DeliveryPaused)
  @OnEmailEvent(EmailEvent.DeliveryResumed)
  onGate(payload: EmailEventPayloads[EmailEvent.DeliveryPaused] | EmailEventPayloads[EmailEvent.DeliveryResumed]) {
    if ('pausedForMs' in payload) this.received[EmailEvent.DeliveryResumed].push(payload);
    else this.received[EmailEvent.DeliveryPaused].push(payload);
  }
}

const ALL_EVENTS = Object.values(EmailEvent);

/** Throws synchronously on every event. */
@Injectable()
class ThrowingListener {
  calls = 0;

  @OnEmailEvent(EmailEvent.VerificationRequested)
  @OnEmailEvent(EmailEvent.EmailVerified)
  @OnEmailEvent(EmailEvent.PasswordResetRequested)
  @OnEmailEvent(EmailEvent.PasswordChanged)
  @OnEmailEvent(EmailEvent.Queued)
  @OnEmailEvent(EmailEvent.Sent)
  @OnEmailEvent(EmailEvent.Retrying)
  @OnEmailEvent(EmailEvent.Failed)
  @OnEmailEvent(EmailEvent.DeliveryPaused)
  @OnEmailEvent(EmailEvent.DeliveryResumed)
  @OnEmailEvent(EmailEvent.SignInRequested)
  @OnEmailEvent(EmailEvent.SignedIn)
  @OnEmailEvent(EmailEvent.EmailChangeRequested)
  @OnEmailEvent(EmailEvent.EmailChanged)
  @OnEmailEvent(EmailEvent.EmailChangeReverted)
  @OnEmailEvent(EmailEvent.Suppressed)
  @OnEmailEvent(EmailEvent.Cancelled)
  @OnEmailEvent(EmailEvent.Bounced)
  @OnEmailEvent(EmailEvent.Delayed)
  @OnEmailEvent(EmailEvent.Complained)
  @OnEmailEvent(EmailEvent.ReportIgnored)
  @OnEmailEvent(EmailEvent.Delivered)
  @OnEmailEvent(EmailEvent.Unsubscribed)
  @OnEmailEvent(EmailEvent.TemplateSkipped)
  explode(): void {
    this.calls++;
    throw new Error('sync listener failure');
  }
}

/** Rejects on every event. */
class RejectingListener {
  calls = 0;

  @OnEmailEvent(EmailEvent.VerificationRequested)
  @OnEmailEvent(EmailEvent.EmailVerified)
  @OnEmailEvent(EmailEvent.PasswordResetRequested)
  @OnEmailEvent(EmailEvent.PasswordChanged)
  @OnEmailEvent(EmailEvent.Queued)
  @OnEmailEvent(EmailEvent.Sent)
  @OnEmailEvent(EmailEvent.Retrying)
  @OnEmailEvent(EmailEvent.Failed)
  @OnEmailEvent(EmailEvent.DeliveryPaused)
  @OnEmailEvent(EmailEvent.DeliveryResumed)
  @OnEmailEvent(EmailEvent.SignInRequested)
  @OnEmailEvent(EmailEvent.SignedIn)
  @OnEmailEvent(EmailEvent.EmailChangeRequested)
  @OnEmailEvent(EmailEvent.EmailChanged)
  @OnEmailEvent(EmailEvent.EmailChangeReverted)
  @OnEmailEvent(EmailEvent.Suppressed)
  @OnEmailEvent(EmailEvent.Cancelled)
  @OnEmailEvent(EmailEvent.Bounced)
  @OnEmailEvent(EmailEvent.Delayed)
  @OnEmailEvent(EmailEvent.Complained)
  @OnEmailEvent(EmailEvent.ReportIgnored)
  @OnEmailEvent(EmailEvent.Delivered)
  @OnEmailEvent(EmailEvent.Unsubscribed)
  @OnEmailEvent(EmailEvent.TemplateSkipped)
  async reject(): Promise<void> {
    this.calls++;
    await Promise.resolve();
    throw new Error('async listener failure');
  }
}

const FACTORY_LISTENER = 'FACTORY_LISTENER';
const VALUE_LISTENER = 'VALUE_LISTENER';
const REJECTING_LISTENER = 'REJECTING_LISTENER';

/** Gives the tests the three registered listener instances. */
@Injectable()
class ListenerHandles {
  constructor(
    readonly byClass: RecordingListener,
    @Inject(FACTORY_LISTENER) readonly byFactory: RecordingListener,
    @Inject(VALUE_LISTENER) readonly byValue: RecordingListener,
  ) {}
}

describe('workflow and delivery events reach @OnEmailEvent listeners of every registration style', () => {
  const SMTP_USER = 'mailer';
  const SMTP_PASS = 'current-password';
  let sink: SmtpSink;
  let moduleRef: TestingModule;
  let emails: EmailWorkflowService;
  let users: InMemoryUsers;
  let listeners: Array<[style: string, listener: RecordingListener]>;
  let throwing: ThrowingListener;
  let rejecting: RejectingListener;
  let errorLog: jest.SpyInstance;
  let flakyRefusals = 0;
  let ghostAttempts = 0;
  /** Every token and link the flows produced; no event payload may contain one. */
  const secrets: string[] = [];

  function expectNoSecretInPayloads(): void {
    expect(secrets.length).toBeGreaterThan(0);
    for (const [style, listener] of listeners) {
      for (const event of ALL_EVENTS) {
        for (const payload of listener.received[event]) {
          const json = JSON.stringify(payload);
          for (const secret of secrets) {
            if (json.includes(secret)) throw new Error(`${style} listener got ${event} with a secret: ${json}`);
          }
          expect(json).not.toMatch(/token/i);
          expect(json).not.toContain('http://localhost:3000/');
        }
      }
    }
  }

  /** Every style saw exactly the same payloads (no listener missed or doubled). */
  function expectStylesAgree(): void {
    const [, reference] = listeners[0];
    for (const [, listener] of listeners.slice(1)) {
      for (const event of ALL_EVENTS) expect(listener.received[event]).toEqual(reference.received[event]);
    }
  }

  beforeAll(async () => {
    errorLog = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    sink = await SmtpSink.start({
      hideENHANCEDSTATUSCODES: true,
      credentials: { user: SMTP_USER, pass: SMTP_PASS },
      onRcptTo: (address: SMTPServerAddress, _session: SMTPServerSession, callback: (error?: Error | null) => void) => {
        if (address.address === 'flaky@example.test' && flakyRefusals++ === 0) {
          return callback(smtpReply(452, '4.2.2 Mailbox full, try later'));
        }
        if (address.address === 'ghost@example.test') {
          ghostAttempts++;
          return callback(smtpReply(550, '5.1.1 No such user'));
        }
        return callback();
      },
    });
    const port = sink.port;
    const valueListener = new RecordingListener();
    moduleRef = await Test.createTestingModule({
      imports: [
        EmailWorkflowModule.forRootAsync({
          imports: [InMemoryUsersModule],
          inject: [InMemoryUsers],
          useFactory: (directory: InMemoryUsers) =>
            localOptions(port, {
              transport: { host: '127.0.0.1', port, security: 'none', pool: false, auth: { user: SMTP_USER, pass: SMTP_PASS } },
              users: directory,
              templates: { store: BROKEN_STORE },
              links: {
                ...localOptions(port).links,
                signIn: `${SIGN_IN_PREFIX}?token={token}`,
                confirmEmailChange: `${CONFIRM_PREFIX}?token={token}`,
                revertEmailChange: `${REVERT_PREFIX}?token={token}`,
              },
              queue: { redis: false, attempts: 3, backoff: { delay: 20, maxDelay: 50 }, probeInterval: 100, shutdownTimeout: 1_000 },
            }),
        }),
      ],
      providers: [
        ThrowingListener,
        { provide: REJECTING_LISTENER, useValue: new RejectingListener() },
        RecordingListener,
        { provide: FACTORY_LISTENER, useFactory: () => new RecordingListener() },
        { provide: VALUE_LISTENER, useValue: valueListener },
        ListenerHandles,
      ],
    }).compile();
    await moduleRef.init();
    emails = moduleRef.get(EmailWorkflowService);
    users = moduleRef.get(InMemoryUsers, { strict: false });
    const handles = moduleRef.get(ListenerHandles);
    expect(handles.byValue).toBe(valueListener);
    expect(new Set([handles.byClass, handles.byFactory, handles.byValue]).size).toBe(3);
    listeners = [
      ['class', handles.byClass],
      ['useFactory', handles.byFactory],
      ['useValue', handles.byValue],
    ];
    throwing = moduleRef.get(ThrowingListener);
    rejecting = moduleRef.get<RejectingListener>(REJECTING_LISTENER);
  });

  afterAll(async () => {
    await moduleRef?.close();
    await sink?.close();
    jest.restoreAllMocks();
  });

  it('email verification: verification-requested, queued, sent, then email.verified and the welcome email', async () => {
    const ada = users.add({ id: 'u-ada', email: 'ada@example.test', name: 'Ada' });

    const started = await emails.startEmailVerification(ada);
    const verifyMail = await sink.mailWithId(started.messageId);
    const link = linkIn(verifyMail.html as string, VERIFY_PREFIX);
    const token = tokenFrom(link);
    secrets.push(token, link as string);

    const verified = await emails.verifyEmail(token);
    expect(verified).toMatchObject({ id: 'u-ada', email: 'ada@example.test', emailVerified: true });
    expect((await users.findById('u-ada'))?.emailVerified).toBe(true);
    const welcome = await sink.mailTo('ada@example.test', /^Welcome to Acme$/);

    for (const [style, listener] of listeners) {
      await until(() => listener.received[EmailEvent.Sent].length >= 2, `two email.sent at the ${style} listener`);
      const { received } = listener;
      expect(received[EmailEvent.VerificationRequested]).toEqual([{ userId: 'u-ada', email: 'ada@example.test' }]);
      expect(received[EmailEvent.EmailVerified]).toEqual([{ userId: 'u-ada', email: 'ada@example.test' }]);
      expect(received[EmailEvent.Queued]).toEqual([
        { id: started.id, messageId: started.messageId, template: 'verify-email', to: 'ada@example.test' },
        { id: expect.any(String), messageId: welcome.messageId, template: 'welcome', to: 'ada@example.test' },
      ]);
      const welcomeJobId = received[EmailEvent.Queued][1].id;
      expect(welcomeJobId).not.toBe('');
      expect(received[EmailEvent.Sent]).toEqual(
        expect.arrayContaining([
          {
            id: started.id,
            messageId: started.messageId,
            template: 'verify-email',
            to: 'ada@example.test',
            attempt: 1,
            accepted: ['ada@example.test'],
            rejected: [],
            queuedAt: expect.any(Date),
            sendDurationMs: expect.any(Number),
            response: expect.stringMatching(/^250 /),
            transport: SENDING_TRANSPORT,
          },
          {
            id: welcomeJobId,
            messageId: welcome.messageId,
            template: 'welcome',
            to: 'ada@example.test',
            attempt: 1,
            accepted: ['ada@example.test'],
            rejected: [],
            queuedAt: expect.any(Date),
            sendDurationMs: expect.any(Number),
            response: expect.stringMatching(/^250 /),
            transport: SENDING_TRANSPORT,
          },
        ]),
      );
      expect(received[EmailEvent.Sent]).toHaveLength(2);
    }
    expectStylesAgree();
    expectNoSecretInPayloads();
  });

  it('password reset: password.reset-requested with the IP, then password.changed and the password-changed email', async () => {
    const requested = await emails.requestPasswordReset('  ADA@example.test ', { ip: '203.0.113.7' });
    expect(requested).toBeUndefined();
    const resetMail = await sink.mailTo('ada@example.test', /^Reset your Acme password$/);
    const link = linkIn(resetMail.html as string, RESET_PREFIX);
    const token = tokenFrom(link);
    secrets.push(token, link as string);

    const applied: string[] = [];
    const user = await emails.resetPassword(token, async (found) => {
      applied.push(found.id);
    });
    expect(user).toMatchObject({ id: 'u-ada', email: 'ada@example.test' });
    expect(applied).toEqual(['u-ada']);
    const changedMail = await sink.mailTo('ada@example.test', /^Your Acme password was changed$/);

    for (const [style, listener] of listeners) {
      await until(() => listener.received[EmailEvent.Sent].length >= 4, `four email.sent at the ${style} listener`);
      const { received } = listener;
      expect(received[EmailEvent.PasswordResetRequested]).toEqual([{ userId: 'u-ada', email: 'ada@example.test', ip: '203.0.113.7' }]);
      expect(received[EmailEvent.PasswordChanged]).toEqual([{ userId: 'u-ada', email: 'ada@example.test' }]);
      const queued = received[EmailEvent.Queued].slice(2);
      expect(queued).toEqual([
        { id: expect.any(String), messageId: resetMail.messageId, template: 'reset-password', to: 'ada@example.test' },
        { id: expect.any(String), messageId: changedMail.messageId, template: 'password-changed', to: 'ada@example.test' },
      ]);
      const sent = received[EmailEvent.Sent].slice(2);
      expect(sent).toHaveLength(2);
      for (const { id, messageId, template } of queued) {
        expect(sent).toContainEqual({ id, messageId, template, to: 'ada@example.test', attempt: 1, accepted: ['ada@example.test'], rejected: [], queuedAt: expect.any(Date), sendDurationMs: expect.any(Number), response: expect.stringMatching(/^250 /), transport: SENDING_TRANSPORT });
      }
      // Workflow events are emitted once per action.
      expect(received[EmailEvent.VerificationRequested]).toHaveLength(1);
      expect(received[EmailEvent.EmailVerified]).toHaveLength(1);
    }
    expectStylesAgree();
    expectNoSecretInPayloads();
  });

  it('a reset for an unknown address emits nothing and sends nothing', async () => {
    const before = listeners.map(([, listener]) => listener.received[EmailEvent.Queued].length);
    const messagesBefore = sink.messages.length;
    await emails.requestPasswordReset('nobody@example.test', { ip: '203.0.113.8' });
    await until(() => users.lookups.includes('nobody@example.test'), 'the directory lookup of the unknown address');
    // Proves an absence: the work after the answer has no end to wait for, so give a wrongly queued email this window to show.
    await sleep(300);
    expect(listeners.map(([, listener]) => listener.received[EmailEvent.Queued].length)).toEqual(before);
    for (const [, listener] of listeners) expect(listener.received[EmailEvent.PasswordResetRequested]).toHaveLength(1);
    expect(sink.messages.length).toBe(messagesBefore);
  });

  it('email.retrying on 452 then email.sent on the next attempt; email.failed on 550', async () => {
    const flaky = await emails.send({ template: 'test-email', to: 'flaky@example.test' });
    const ghost = await emails.send({ template: 'test-email', to: 'ghost@example.test' });
    const flakyMail = await sink.mailWithId(flaky.messageId);
    expect(flakyMail.subject).toBe('Test email from Acme');

    for (const [style, listener] of listeners) {
      await until(
        () =>
          listener.received[EmailEvent.Failed].length >= 1 &&
          listener.received[EmailEvent.Sent].some((sent) => sent.messageId === flaky.messageId),
        `email.failed and the retried email.sent at the ${style} listener`,
      );
      const { received } = listener;
      expect(received[EmailEvent.Retrying]).toHaveLength(1);
      const [retrying] = received[EmailEvent.Retrying];
      expect(retrying).toMatchObject({
        id: flaky.id,
        messageId: flaky.messageId,
        template: 'test-email',
        to: 'flaky@example.test',
        attempt: 1,
        responseCode: 452,
        enhancedCode: '4.2.2',
      });
      expect(retrying.reason).toContain('Mailbox full');
      expect(retrying.nextAttemptAt).toBeInstanceOf(Date);
      expect(retrying.nextAttemptAt.getTime()).toBeLessThanOrEqual(Date.now() + 1_000);
      expect(received[EmailEvent.Sent].find((sent) => sent.messageId === flaky.messageId)).toEqual({
        id: flaky.id,
        messageId: flaky.messageId,
        template: 'test-email',
        to: 'flaky@example.test',
        attempt: 2,
        accepted: ['flaky@example.test'],
        rejected: [],
        queuedAt: expect.any(Date),
        sendDurationMs: expect.any(Number),
        response: expect.stringMatching(/^250 /),
        transport: SENDING_TRANSPORT,
      });

      expect(received[EmailEvent.Failed]).toHaveLength(1);
      const [failed] = received[EmailEvent.Failed];
      expect(failed).toMatchObject({
        id: ghost.id,
        messageId: ghost.messageId,
        template: 'test-email',
        to: 'ghost@example.test',
        attempt: 1,
        kind: 'permanent',
        responseCode: 550,
        enhancedCode: '5.1.1',
      });
      expect(failed.reason).toContain('No such user');
    }
    expect(ghostAttempts).toBe(1);
    expect(sink.messages.some((mail) => mail.messageId === ghost.messageId)).toBe(false);
    expectStylesAgree();
    expectNoSecretInPayloads();
  });

  it('email.suppressed when the address that failed with 5.1.1 is sent to again', async () => {
    const suppressions = moduleRef.get(EmailSuppressions);
    await until(() => suppressions.has('ghost@example.test'), 'the bounced address on the suppression list');
    const again = await emails.send({ template: 'test-email', to: 'ghost@example.test' });
    expect(again.cancelled).toEqual({ reason: 'suppressed' });
    for (const [style, listener] of listeners) {
      await until(() => listener.received[EmailEvent.Suppressed].length >= 1, `email.suppressed at the ${style} listener`);
      expect(listener.received[EmailEvent.Suppressed]).toEqual([
        { messageId: again.messageId, template: 'test-email', to: 'ghost@example.test', reason: 'bounce', code: '5.1.1', suppressedAt: expect.any(Date) },
      ]);
    }
    expect(ghostAttempts).toBe(1);
    expectStylesAgree();
  });

  it('email.delivery-paused on a refused login and email.delivery-resumed once it works again', async () => {
    sink.credentials = { user: SMTP_USER, pass: 'rotated-password' };
    const held = await emails.send({ template: 'test-email', to: 'held@example.test' });
    for (const [style, listener] of listeners) {
      await until(() => listener.received[EmailEvent.DeliveryPaused].length >= 1, `email.delivery-paused at the ${style} listener`);
    }
    expect(sink.messages.some((mail) => mail.messageId === held.messageId)).toBe(false);

    sink.credentials = { user: SMTP_USER, pass: SMTP_PASS };
    await sink.mailWithId(held.messageId);
    for (const [style, listener] of listeners) {
      await until(
        () => listener.received[EmailEvent.Sent].some((sent) => sent.messageId === held.messageId),
        `email.sent after resuming at the ${style} listener`,
      );
      const { received } = listener;
      expect(received[EmailEvent.DeliveryPaused]).toHaveLength(1);
      expect(received[EmailEvent.DeliveryPaused][0]).toMatchObject({ responseCode: 535 });
      expect(received[EmailEvent.DeliveryPaused][0].reason).not.toContain(SMTP_PASS);
      expect(received[EmailEvent.DeliveryResumed]).toHaveLength(1);
      expect(received[EmailEvent.DeliveryResumed][0]).toEqual({ pausedForMs: expect.any(Number) });
      expect(received[EmailEvent.DeliveryResumed][0].pausedForMs).toBeGreaterThan(0);
      // A configuration failure holds the email: no retry is spent and it is not failed.
      expect(received[EmailEvent.Retrying].filter((event) => event.messageId === held.messageId)).toHaveLength(0);
      expect(received[EmailEvent.Failed].filter((event) => event.messageId === held.messageId)).toHaveLength(0);
    }
    expectStylesAgree();
    expectNoSecretInPayloads();
  });

  it('sign-in and email change: email.sign-in-requested, email.signed-in, email.change-requested, email.changed, email.change-reverted', async () => {
    const bo = users.add({ id: 'u-bo', email: 'bo@example.test', name: 'Bo', emailVerified: true });
    await emails.requestSignIn('bo@example.test', { ip: '198.51.100.4' });
    const signInLink = linkIn((await sink.mailTo('bo@example.test', /^Sign in to Acme$/)).html as string, SIGN_IN_PREFIX);
    const signInToken = tokenFrom(signInLink);
    secrets.push(signInToken, signInLink as string);
    await emails.completeSignIn(signInToken);

    await emails.requestEmailChange(bo, 'bo.new@example.test');
    const confirmLink = linkIn((await sink.mailTo('bo.new@example.test', /^Confirm your new email address for Acme$/)).html as string, CONFIRM_PREFIX);
    const revertLink = linkIn((await sink.mailTo('bo@example.test', /^Your Acme email address is being changed$/)).html as string, REVERT_PREFIX);
    const [confirmToken, revertToken] = [tokenFrom(confirmLink), tokenFrom(revertLink)];
    secrets.push(confirmToken, revertToken, confirmLink as string, revertLink as string);
    await emails.confirmEmailChange(confirmToken);
    await emails.revertEmailChange(revertToken);

    for (const [, listener] of listeners) {
      const { received } = listener;
      expect(received[EmailEvent.SignInRequested]).toEqual([{ userId: 'u-bo', email: 'bo@example.test', ip: '198.51.100.4' }]);
      expect(received[EmailEvent.SignedIn]).toEqual([{ userId: 'u-bo', email: 'bo@example.test' }]);
      expect(received[EmailEvent.EmailChangeRequested]).toEqual([{ userId: 'u-bo', email: 'bo@example.test', newEmail: 'bo.new@example.test' }]);
      expect(received[EmailEvent.EmailChanged]).toEqual([{ userId: 'u-bo', email: 'bo.new@example.test', previousEmail: 'bo@example.test' }]);
      expect(received[EmailEvent.EmailChangeReverted]).toEqual([{ userId: 'u-bo', email: 'bo@example.test', revertedEmail: 'bo.new@example.test' }]);
    }
    await untilQueueIdle(emails);
    expectStylesAgree();
    expectNoSecretInPayloads();
  });

  it('email.cancelled by a hook; email.bounced, email.delayed, email.complained and email.report-ignored from reports read back; email.delivered and email.unsubscribed from a provider', async () => {
    const bus = moduleRef.get(EmailEventSubscriptions);
    const remove = bus.beforeSend('test-email', (email) => email.cancel('unsubscribed'));
    const cancelled = await emails.send({ template: 'test-email', to: 'cancelled@example.test' });
    remove();
    const reports = moduleRef.get(EmailBounceProcessor);
    const sentTo = async (to: string) => {
      const { messageId } = await emails.send({ template: 'test-email', to });
      await sink.mailWithId(messageId);
      await until(async () => (await moduleRef.get(EmailDeliveryLog).get(messageId))?.status === 'sent', `${messageId} sent in the log`);
      return messageId;
    };
    const [gone, slow, annoyed] = [await sentTo('gone.later@example.test'), await sentTo('slow@example.test'), await sentTo('annoyed@example.test')];
    const [arrived, leaving] = [await sentTo('arrived@example.test'), await sentTo('leaving@example.test')];
    // No envelope tag (no bounces.address here): matched by the returned Message-ID and the recipient it names.
    await reports.process(dsn({ recipient: 'gone.later@example.test', messageId: gone }));
    await reports.process(dsn({ recipient: 'slow@example.test', messageId: slow, action: 'delayed', status: '4.4.7', diagnostic: '421 4.4.7 Try later' }));
    await reports.process(arf({ recipient: 'annoyed@example.test', messageId: annoyed }));
    await reports.process(dsn({ recipient: 'gone.later@example.test', messageId: `<made-up@acme.test>` }));
    // What a provider's signed webhook reports (EmailWebhooksModule calls this once the signature verifies).
    await reports.recordProviderEvent({ provider: 'sendgrid', type: 'delivered', messageId: arrived, recipient: 'arrived@example.test', diagnosticCode: '250 2.0.0 OK' });
    await reports.recordProviderEvent({ provider: 'sendgrid', type: 'unsubscribed', messageId: leaving, recipient: 'leaving@example.test' });
    for (const [style, listener] of listeners) {
      const { received } = listener;
      await until(() => received[EmailEvent.ReportIgnored].length === 1, `email.report-ignored at the ${style} listener`);
      expect(received[EmailEvent.Cancelled]).toEqual([{ messageId: cancelled.messageId, template: 'test-email', to: 'cancelled@example.test', reason: 'unsubscribed' }]);
      expect(received[EmailEvent.Bounced]).toEqual([{ messageId: gone, template: 'test-email', to: 'gone.later@example.test', status: '5.1.1', diagnosticCode: '550 5.1.1 <[address]>: Recipient address rejected: User unknown', suppressed: true }]);
      expect(received[EmailEvent.Delayed]).toEqual([{ messageId: slow, template: 'test-email', to: 'slow@example.test', status: '4.4.7', diagnosticCode: '421 4.4.7 Try later', suppressed: false }]);
      expect(received[EmailEvent.Complained]).toEqual([{ messageId: annoyed, template: 'test-email', to: 'annoyed@example.test', suppressed: true }]);
      expect(received[EmailEvent.ReportIgnored]).toEqual([{ type: 'bounce', reason: 'unknown-message' }]);
      expect(received[EmailEvent.Delivered]).toEqual([{ messageId: arrived, template: 'test-email', to: 'arrived@example.test', diagnosticCode: '250 2.0.0 OK', suppressed: false, provider: 'sendgrid' }]);
      expect(received[EmailEvent.Unsubscribed]).toEqual([{ messageId: leaving, template: 'test-email', to: 'leaving@example.test', suppressed: true, provider: 'sendgrid' }]);
    }
    expectStylesAgree();
    expectNoSecretInPayloads();
  });

  it('email.template-skipped when a stored template fails its checks; the built-in goes out', async () => {
    const { messageId } = await emails.send({ template: 'test-email', to: 'ada@example.test', locale: 'de' });
    expect((await sink.mailWithId(messageId)).subject).not.toContain('Bcc');
    for (const [style, listener] of listeners) {
      await until(() => listener.received[EmailEvent.TemplateSkipped].length === 1, `email.template-skipped at the ${style} listener`);
      expect(listener.received[EmailEvent.TemplateSkipped]).toEqual([
        { name: 'test-email', locale: 'de', version: 'broken-1', reason: 'invalid', problems: [expect.objectContaining({ field: 'subject', line: 1, code: 'subject-line-break' })] },
      ]);
    }
    expectStylesAgree();
    expectNoSecretInPayloads();
  });

  it('a listener that throws or rejects is logged, and neither delivery nor the flows broke', async () => {
    // Every event kind was emitted above, and each reached the failing listeners.
    const emitted = listeners[0][1].received;
    const total = ALL_EVENTS.reduce((sum, event) => sum + emitted[event].length, 0);
    expect(ALL_EVENTS.every((event) => emitted[event].length > 0)).toBe(true);
    expect(throwing.calls).toBe(total);
    await until(() => rejecting.calls === total, 'the rejecting listener to see every event');

    const messages = errorLog.mock.calls.map((call: unknown[]) => String(call[0]));
    await until(
      () => errorLog.mock.calls.filter((call: unknown[]) => /async listener failure/.test(String(call[0]))).length === total,
      'every rejection to be logged',
    );
    for (const event of ALL_EVENTS) {
      expect(messages).toContain(`A listener of ${event} failed: sync listener failure`);
    }
    const logged = errorLog.mock.calls.map((call: unknown[]) => String(call[0]));
    for (const event of ALL_EVENTS) {
      expect(logged).toContain(`A listener of ${event} failed: async listener failure`);
    }
    expect(logged.filter((line) => /sync listener failure/.test(line) && !/async/.test(line))).toHaveLength(total);

    // And the module still works after all those failures.
    const after = await emails.send({ template: 'test-email', to: 'ada@example.test' });
    await sink.mailWithId(after.messageId);
  });
});

/** Before-send hooks. The first decides per recipient what to do, so one module covers every case. */
const BAD_HEADERS: Record<string, Record<string, string>> = {
  'crlf@example.test': { 'X-Campaign': 'spring\r\nBcc: victim@evil.test' },
  'lf@example.test': { 'X-Campaign': 'spring\nX-Injected: yes' },
  'bcc@example.test': { Bcc: 'victim@evil.test' },
  'lower-bcc@example.test': { bcc: 'victim@evil.test' },
  'message-id@example.test': { 'Message-ID': '<forged@evil.test>' },
  'bad-name@example.test': { 'X Campaign: injected\r\nBcc': 'victim@evil.test' },
};

@Injectable()
class SendHooks {
  readonly calls: Array<{ hook: string; template: string; to: string; name: string; locale?: string; context: Record<string, unknown> }> =
    [];

  @BeforeEmailSend()
  everyTemplate(email: OutgoingEmail): void {
    this.record('all', email);
    const address = email.to.address;
    if (address === 'suppressed@example.test') return email.cancel('suppressed');
    if (address === 'broken@example.test') throw new Error('suppression list unreachable');
    Object.assign(email.headers, BAD_HEADERS[address] ?? { 'X-Campaign': 'spring' });
  }

  @BeforeEmailSend('welcome')
  welcomeOnly(email: OutgoingEmail): void {
    this.record('welcome', email);
    email.context = { ...email.context, name: 'Hooked Ada' };
  }

  @BeforeEmailSend('promo')
  async promoOnly(email: OutgoingEmail): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 5));
    this.record('promo', email);
    email.context.campaignCode = 'SPRING-24';
    email.headers['X-Promo'] = 'yes';
  }

  private record(hook: string, email: OutgoingEmail): void {
    this.calls.push({ hook, template: email.template, to: email.to.address, name: email.to.name, locale: email.locale, context: { ...email.context } });
  }
}

/** A hook on a factory-made provider is found too. */
class AuditHook {
  readonly templates: string[] = [];

  @BeforeEmailSend()
  audit(email: OutgoingEmail): void {
    this.templates.push(email.template);
  }
}

describe('@BeforeEmailSend hooks', () => {
  let sink: SmtpSink;
  let moduleRef: TestingModule;
  let emails: EmailWorkflowService;
  let hooks: SendHooks;
  let audit: AuditHook;
  let events: EventLog;

  beforeAll(async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    sink = await SmtpSink.start();
    moduleRef = await Test.createTestingModule({
      imports: [
        EmailWorkflowModule.forRoot(
          localOptions(sink.port, {
            templates: { dir: HOOK_TEMPLATES_DIR },
            queue: { redis: false, attempts: 2, backoff: { delay: 20, maxDelay: 50 }, shutdownTimeout: 1_000 },
          }),
        ),
      ],
      providers: [SendHooks, { provide: 'AUDIT_HOOK', useFactory: () => new AuditHook() }],
    }).compile();
    events = new EventLog(moduleRef.get(EmailEventSubscriptions));
    await moduleRef.init();
    emails = moduleRef.get(EmailWorkflowService);
    hooks = moduleRef.get(SendHooks);
    audit = moduleRef.get<AuditHook>('AUDIT_HOOK');
  });

  afterAll(async () => {
    await moduleRef?.close();
    await sink?.close();
    jest.restoreAllMocks();
  });

  beforeEach(() => {
    hooks.calls.length = 0;
    audit.templates.length = 0;
  });

  /** Sends a marker and waits for it and for the queue to be idle, so anything queued before it has arrived. */
  async function flush(): Promise<void> {
    const marker = await emails.send({ template: 'test-email', to: 'marker@example.test' });
    await sink.mailWithId(marker.messageId);
    await untilQueueIdle(emails);
  }

  it('a hook for all templates gets the outgoing email and its header arrives on the message', async () => {
    const context = { note: 'kept' };
    const result = await emails.send({ template: 'test-email', to: { address: 'ada@example.test', name: 'Ada Lovelace' }, locale: 'fr', context });
    const mail = await sink.mailWithId(result.messageId);

    expect(mail.headers.get('x-campaign')).toBe('spring');
    expect(hooks.calls).toEqual([
      { hook: 'all', template: 'test-email', to: 'ada@example.test', name: 'Ada Lovelace', locale: 'fr', context: { note: 'kept' } },
    ]);
    expect(audit.templates).toEqual(['test-email']);
  });

  it('runs for the workflow emails too (a verification email carries the hook header)', async () => {
    const result = await emails.send({ template: 'verify-email', to: 'ada@example.test', context: { name: 'Ada', link: `${VERIFY_PREFIX}?token=x` } });
    const mail = await sink.mailWithId(result.messageId);
    expect(mail.headers.get('x-campaign')).toBe('spring');
    expect(hooks.calls.map((call) => call.hook)).toEqual(['all']);
  });

  it("@BeforeEmailSend('welcome') runs only for welcome, and its context change reaches the render", async () => {
    const other = await emails.send({ template: 'test-email', to: 'ada@example.test' });
    await sink.mailWithId(other.messageId);
    expect(hooks.calls.map((call) => call.hook)).toEqual(['all']);

    hooks.calls.length = 0;
    const callerContext = { name: 'Ada' };
    const result = await emails.send({ template: 'welcome', to: 'ada@example.test', context: callerContext });
    const mail = await sink.mailWithId(result.messageId);

    expect(hooks.calls.map((call) => [call.hook, call.template])).toEqual([
      ['all', 'welcome'],
      ['welcome', 'welcome'],
    ]);
    expect(mail.text).toContain('Hi Hooked Ada,');
    expect(mail.html).toContain('Hooked Ada');
    expect(mail.headers.get('x-campaign')).toBe('spring');
    expect(callerContext).toEqual({ name: 'Ada' });
  });

  it('an async hook can supply a variable a custom template needs', async () => {
    const callerContext: Record<string, unknown> = {};
    const result = await emails.send({ template: 'promo', to: 'ada@example.test', context: callerContext });
    const mail = await sink.mailWithId(result.messageId);

    expect(mail.subject).toBe('Your Acme offer SPRING-24');
    expect(mail.text).toContain('Use the code SPRING-24 at checkout.');
    expect(mail.headers.get('x-promo')).toBe('yes');
    expect(mail.headers.get('x-campaign')).toBe('spring');
    expect(callerContext).toEqual({});
    expect(hooks.calls.map((call) => call.hook)).toEqual(['all', 'promo']);
  });

  it("cancel('suppressed') resolves with the reason, queues nothing and sends nothing", async () => {
    const queuedBefore = events.seen[EmailEvent.Queued].length;
    const result = await emails.send({ template: 'welcome', to: 'suppressed@example.test', context: { name: 'Sam' } });

    expect(result.cancelled).toEqual({ reason: 'suppressed' });
    expect(result.id).toBe('');
    expect(result.messageId).toMatch(/^<[^@]+@acme\.test>$/);
    // Hooks after the cancelling one do not run.
    expect(hooks.calls.map((call) => call.hook)).toEqual(['all']);
    expect(events.seen[EmailEvent.Queued]).toHaveLength(queuedBefore);

    await flush();
    expect(sink.messages.some((mail) => mail.messageId === result.messageId)).toBe(false);
    expect(sink.messages.some((mail) => JSON.stringify(mail.to).includes('suppressed@example.test'))).toBe(false);
  });

  it.each(Object.entries(BAD_HEADERS))('a hook setting a forbidden header for %s makes send() reject with InvalidHeaderError', async (to, headers) => {
    const queuedBefore = events.seen[EmailEvent.Queued].length;
    const error = await emails.send({ template: 'test-email', to }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidHeaderError);
    expect(error).toMatchObject({ code: 'EMAIL_WORKFLOW_INVALID_HEADER', header: Object.keys(headers)[0] });
    expect((error as Error).message).not.toMatch(/[\r\n]/);
    expect(events.seen[EmailEvent.Queued]).toHaveLength(queuedBefore);

    await flush();
    expect(sink.messages.some((mail) => JSON.stringify(mail.to).includes(to))).toBe(false);
    expect(sink.messages.some((mail) => mail.headers.has('x-injected'))).toBe(false);
    expect(sink.messages.some((mail) => mail.headers.has('bcc'))).toBe(false);
  });

  it('a hook that throws makes send() reject with its error and nothing is queued', async () => {
    const queuedBefore = events.seen[EmailEvent.Queued].length;
    await expect(emails.send({ template: 'test-email', to: 'broken@example.test' })).rejects.toThrow('suppression list unreachable');
    expect(events.seen[EmailEvent.Queued]).toHaveLength(queuedBefore);

    await flush();
    expect(sink.messages.some((mail) => JSON.stringify(mail.to).includes('broken@example.test'))).toBe(false);
  });
  it('removing a hook twice leaves the other hooks in place', async () => {
    const bus = moduleRef.get(EmailEventSubscriptions);
    const removeFirst = bus.beforeSend('test-email', (email) => void (email.headers['X-First'] = '1'));
    const removeSecond = bus.beforeSend('test-email', (email) => void (email.headers['X-Second'] = '2'));
    removeFirst();
    removeFirst();
    try {
      const result = await emails.send({ template: 'test-email', to: 'twice@example.test' });
      const mail = await sink.mailWithId(result.messageId);
      expect(mail.headers.get('x-second')).toBe('2');
      expect(mail.headers.has('x-first')).toBe(false);
    } finally {
      removeSecond();
    }
  });

  it('a hook cannot change the validated recipient, nor set MIME or Content- headers', async () => {
    const bus = moduleRef.get(EmailEventSubscriptions);
    const removeRedirect = bus.beforeSend('test-email', (email) => {
      (email.to as { address: string }).address = 'attacker@evil.test';
    });
    await expect(emails.send({ template: 'test-email', to: 'victim@example.test' })).rejects.toThrow(TypeError);
    removeRedirect();
    for (const header of ['MIME-Version', 'Content-Type', 'Content-Transfer-Encoding']) {
      const remove = bus.beforeSend('test-email', (email) => void (email.headers[header] = 'x'));
      await expect(emails.send({ template: 'test-email', to: 'ada@example.test' })).rejects.toBeInstanceOf(InvalidHeaderError);
      remove();
    }
    await flush();
    expect(sink.messages.some((mail) => JSON.stringify(mail.to).includes('attacker@evil.test'))).toBe(false);
  });

  it('a cancelled verification email emits no email.verification-requested', async () => {
    const bus = moduleRef.get(EmailEventSubscriptions);
    const remove = bus.beforeSend('verify-email', (email) => email.cancel('suppressed'));
    const before = events.seen[EmailEvent.VerificationRequested].length;
    try {
      const result = await emails.startEmailVerification({ id: 'u-cancel', email: 'cancel@example.test', name: 'Cy' });
      expect(result.cancelled).toEqual({ reason: 'suppressed' });
      expect(events.seen[EmailEvent.VerificationRequested]).toHaveLength(before);
    } finally {
      remove();
    }
  });
});

describe('EmailEventSubscriptions is for listening; only the library emits', () => {
  let moduleRef: TestingModule;

  beforeAll(async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    moduleRef = await Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(localOptions(2525, { queue: false }))] }).compile();
  });

  afterAll(async () => {
    await moduleRef?.close();
    jest.restoreAllMocks();
  });

  it('the injectable EmailEventSubscriptions subscribes and adds hooks, and has no emit or runBeforeSend, not even at run time', () => {
    const events = moduleRef.get(EmailEventSubscriptions);
    // @ts-expect-error emitting is not part of the public EmailEventSubscriptions
    expect(events.emit).toBeUndefined();
    // @ts-expect-error running the hooks is not part of the public EmailEventSubscriptions
    expect(events.runBeforeSend).toBeUndefined();
    expect((events as unknown as Record<string, unknown>).emit).toBeUndefined();
    expect((events as unknown as Record<string, unknown>).runBeforeSend).toBeUndefined();
    expect(typeof events.on).toBe('function');
    expect(typeof events.beforeSend).toBe('function');
    // No field leads to the emitting side either.
    expect(Object.keys(events)).toEqual([]);
    expect(Object.getOwnPropertyNames(Object.getPrototypeOf(events)).sort()).toEqual(['beforeSend', 'constructor', 'on']);
  });

  it('the emitting side is not exported from the package', () => {
    expect(Object.keys(publicApi)).not.toContain('EmailEventBus');
    // Classes only: an async function (parseBounce) has no prototype, and nothing to emit with.
    const classes = Object.values(publicApi as Record<string, unknown>).filter((value): value is new () => object => typeof value === 'function' && value.prototype !== undefined);
    expect(classes.filter((type) => 'emit' in type.prototype || 'runBeforeSend' in type.prototype)).toEqual([]);
  });
});

describe('sendTestEmail() goes out like real mail', () => {
  const REPLY_TO = 'help@acme.test';
  let sink: SmtpSink;
  let moduleRef: TestingModule;
  let emails: EmailWorkflowService;
  let hooks: SendHooks;

  beforeAll(async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    sink = await SmtpSink.start();
    moduleRef = await Test.createTestingModule({
      imports: [EmailWorkflowModule.forRoot(localOptions(sink.port, { replyTo: REPLY_TO, queue: { redis: false, shutdownTimeout: 1_000 } }))],
      providers: [SendHooks],
    }).compile();
    await moduleRef.init();
    emails = moduleRef.get(EmailWorkflowService);
    hooks = moduleRef.get(SendHooks);
  });

  afterAll(async () => {
    await moduleRef?.close();
    await sink?.close();
    jest.restoreAllMocks();
  });

  beforeEach(() => {
    hooks.calls.length = 0;
  });

  it('runs the before-send hooks and carries replyTo and their headers, as the same template sent through send() does', async () => {
    const diagnosis = await emails.sendTestEmail('ada@example.test');
    expect(diagnosis.ok).toBe(true);
    const [testMail] = await sink.waitForMessages(1);
    expect(hooks.calls).toEqual([{ hook: 'all', template: 'test-email', to: 'ada@example.test', name: '', locale: undefined, context: {} }]);

    const sent = await emails.send({ template: 'test-email', to: 'ada@example.test' });
    const realMail = await sink.mailWithId(sent.messageId);

    for (const mail of [testMail, realMail]) {
      expect(mail.replyTo?.text).toBe(REPLY_TO);
      expect(mail.headers.get('x-campaign')).toBe('spring');
      expect(mail.from?.text).toContain('no-reply@acme.test');
      expect(mail.messageId).toMatch(/@acme\.test>?$/);
    }
    expect(testMail.subject).toBe(realMail.subject);
    expect(testMail.text).toBe(realMail.text);
  });

  it('a hook that cancels the test email makes it reject with TestEmailCancelledError; nothing is sent', async () => {
    const before = sink.messages.length;
    const error = await emails.sendTestEmail('suppressed@example.test').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TestEmailCancelledError);
    expect(error).toMatchObject({ code: 'EMAIL_WORKFLOW_TEST_EMAIL_CANCELLED', reason: 'suppressed' });
    expect((error as Error).message).toContain('suppressed');
    // Proves an absence: sendTestEmail() does not queue, so there is no queue to see idle; a message would show within this window.
    await sleep(100);
    expect(sink.messages).toHaveLength(before);
  });

  it('a hook that throws, or sets a forbidden header, fails the test email the way it fails send()', async () => {
    const before = sink.messages.length;
    await expect(emails.sendTestEmail('broken@example.test')).rejects.toThrow('suppression list unreachable');
    await expect(emails.sendTestEmail('bcc@example.test')).rejects.toBeInstanceOf(InvalidHeaderError);
    // Proves an absence, as above.
    await sleep(100);
    expect(sink.messages).toHaveLength(before);
  });
});
