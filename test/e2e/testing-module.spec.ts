import { Injectable, Module, ModuleMetadata } from '@nestjs/common';
import { Test, TestingModule, TestingModuleBuilder } from '@nestjs/testing';
import { createServer, Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  BeforeEmailSend,
  EmailWorkflowError,
  EmailWorkflowErrorCode,
  EmailWorkflowModule,
  EmailWorkflowService,
  SmtpTransportOptions,
} from 'nestjs-email-workflow';
import type { OutgoingEmail } from 'nestjs-email-workflow';
import { captureEmails, EmailNotSentError, EmailWorkflowTestingModule, TestOutbox } from 'nestjs-email-workflow/testing';
import type { CapturedEmail } from 'nestjs-email-workflow/testing';
import { CapturingLogger } from '../support/capturing-logger';
import { InMemoryUsers, InMemoryUsersModule } from '../support/in-memory-users';
import { TEST_SECRET } from '../support/redis';

const TESTING_TEMPLATES_DIR = join(__dirname, '..', 'fixtures', 'templates', 'testing');

/** A TCP server that only counts connections: an SMTP server the tests can prove nobody dialled. */
class ConnectionCounter {
  connections = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server) {
    server.on('connection', (socket) => {
      this.connections += 1;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(): Promise<ConnectionCounter> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new ConnectionCounter(server);
  }

  transport(): SmtpTransportOptions {
    return { host: '127.0.0.1', port: (this.server.address() as AddressInfo).port, security: 'none', pool: false };
  }

  async close(): Promise<void> {
    this.sockets.forEach((socket) => socket.destroy());
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** An app's hooks: a suppression list, a header on every email, and a greeting rewritten for one template. */
@Injectable()
class AppHooks {
  @BeforeEmailSend()
  tag(email: OutgoingEmail): void {
    if (email.to.address === 'blocked@example.test') email.cancel('address bounced');
    email.headers['X-Campaign'] = 'spring';
  }

  @BeforeEmailSend('welcome')
  greet(email: OutgoingEmail): void {
    email.context = { ...email.context, name: 'Hooked Ada' };
  }
}

/** An app provider that injects the outbox, as an app's own test helper would. */
@Injectable()
class OutboxReader {
  constructor(readonly outbox: TestOutbox) {}
}

describe('nestjs-email-workflow/testing', () => {
  let logger: CapturingLogger;
  let counter: ConnectionCounter;
  const started: TestingModule[] = [];

  async function start(builder: TestingModuleBuilder): Promise<TestingModule> {
    const moduleRef = await builder.setLogger(logger).compile();
    started.push(moduleRef);
    await moduleRef.init();
    return moduleRef;
  }

  async function boot(imports: ModuleMetadata['imports'], providers: ModuleMetadata['providers'] = []) {
    const moduleRef = await start(Test.createTestingModule({ imports, providers }));
    return { moduleRef, emails: moduleRef.get(EmailWorkflowService), outbox: moduleRef.get(TestOutbox) };
  }

  /** The token of the email's link to `page`, as a user clicking it would hand it back. */
  function tokenIn(email: CapturedEmail, page: string): string {
    const link = email.links.find((candidate) => candidate.startsWith(`http://localhost/${page}?token=`));
    if (!link) throw new Error(`no ${page} link among ${email.links.join(', ')}`);
    return new URL(link).searchParams.get('token') as string;
  }

  beforeEach(async () => {
    logger = new CapturingLogger();
    counter = await ConnectionCounter.start();
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((moduleRef) => moduleRef.close()));
    await counter.close();
    // The testing module boots and runs without a warning (the in-process queue's included) or an error.
    expect(logger.entries.filter((entry) => entry.level === 'warn' || entry.level === 'error')).toEqual([]);
  });

  it('captures a sent email, rendered, with what the worker knew, and opens no SMTP connection', async () => {
    const { moduleRef, emails, outbox } = await boot([EmailWorkflowTestingModule.forRoot({ transport: counter.transport() })], [OutboxReader]);
    const result = await emails.send({
      template: 'welcome',
      to: { address: 'ada@example.test', name: 'Ada Lovelace' },
      locale: 'fr',
      context: { name: 'Ada', link: 'https://app.example.test/start' },
    });

    const email = await outbox.expectSent({ template: 'welcome', to: 'ada@example.test' });
    expect(email).toMatchObject({
      id: result.id,
      messageId: result.messageId,
      template: 'welcome',
      locale: 'fr',
      tenant: undefined,
      to: { address: 'ada@example.test', name: 'Ada Lovelace' },
      from: 'Test App <no-reply@app.test>',
      subject: 'Bienvenue sur Test App',
      headers: {},
      context: { name: 'Ada', link: 'https://app.example.test/start' },
      codes: [],
    });
    expect(email.html).toContain('<!doctype html>');
    expect(email.text).toContain('Bonjour Ada,');
    expect(outbox.linksIn(email)).toEqual(['https://app.example.test/start']);
    expect(outbox.codesIn(email)).toEqual([]);
    expect(Object.isFrozen(email)).toBe(true);
    expect(outbox.emails).toEqual([email]);
    // The outbox is injectable into the app's own providers, and is the one the test reads.
    expect(moduleRef.get(OutboxReader).outbox).toBe(outbox);

    await moduleRef.close();
    expect(counter.connections).toBe(0);
  });

  it('lastEmailTo gives the newest email to an address, in any case, and undefined for an address with none', async () => {
    const { emails, outbox } = await boot([EmailWorkflowTestingModule.forRoot()]);
    await emails.send({ template: 'welcome', to: 'ada@example.test', context: { name: 'first' } });
    await outbox.nextEmailTo('ada@example.test');
    const second = await emails.send({ template: 'welcome', to: 'ada@example.test', context: { name: 'second' } });
    await outbox.nextEmailTo('ada@example.test');

    expect(outbox.lastEmailTo('ADA@Example.test')?.messageId).toBe(second.messageId);
    expect(outbox.lastEmailTo('nobody@example.test')).toBeUndefined();
  });

  it('nextEmailTo waits for an email not yet sent, then walks through the address’s emails in order', async () => {
    const { emails, outbox } = await boot([EmailWorkflowTestingModule.forRoot()]);
    const waiting = outbox.nextEmailTo('cy@example.test');
    const first = await emails.send({ template: 'welcome', to: 'cy@example.test', context: { name: 'one' } });
    expect((await waiting).messageId).toBe(first.messageId);

    // Two waits at once never claim the same email.
    const both = Promise.all([outbox.nextEmailTo('cy@example.test'), outbox.nextEmailTo('cy@example.test')]);
    const sent = [
      await emails.send({ template: 'welcome', to: 'cy@example.test', context: { name: 'two' } }),
      await emails.send({ template: 'welcome', to: 'cy@example.test', context: { name: 'three' } }),
    ];
    const claimed = await both;
    expect(claimed.map((email) => email.messageId).sort()).toEqual(sent.map((email) => email.messageId).sort());

    const error = await outbox.nextEmailTo('cy@example.test', { timeout: 50 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EmailNotSentError);
    expect((error as EmailNotSentError).message).toContain(
      'No email to cy@example.test beyond the 3 that nextEmailTo already returned was sent within 50 ms.',
    );
  });

  it('expectSent rejects with a typed error listing what was sent when nothing matches in time', async () => {
    const { emails, outbox } = await boot([EmailWorkflowTestingModule.forRoot()]);
    await emails.send({ template: 'welcome', to: 'ada@example.test', context: { name: 'Ada' } });
    await outbox.expectSent({ subject: /^Welcome/ });

    const error = await outbox.expectSent({ template: 'reset-password', to: 'ada@example.test' }, { timeout: 50 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EmailNotSentError);
    expect(error).toBeInstanceOf(EmailWorkflowError);
    const notSent = error as EmailNotSentError;
    expect(notSent.code).toBe(EmailWorkflowErrorCode.EmailNotSent);
    expect(notSent.code).toBe('EMAIL_WORKFLOW_EMAIL_NOT_SENT');
    expect(notSent.sent).toEqual([{ template: 'welcome', to: 'ada@example.test', subject: 'Welcome to Test App' }]);
    expect(notSent.message).toBe(
      'No email matching { template: "reset-password", to: "ada@example.test" } was sent within 50 ms. ' +
        'Sent since the outbox was last cleared (1):\n' +
        '  - welcome to ada@example.test: "Welcome to Test App"\n' +
        'Fix: check the template name and the address, and that the code under test awaits the call that sends the email.',
    );

    outbox.clear();
    const empty = await outbox.expectSent({ subject: /password/ }, { timeout: 20 }).catch((caught: unknown) => caught);
    expect((empty as EmailNotSentError).message).toContain(
      'No email matching { subject: /password/ } was sent within 20 ms. Nothing was sent since the outbox was last cleared.',
    );
  });

  it('clear() forgets every captured email and where nextEmailTo stands', async () => {
    const { emails, outbox } = await boot([EmailWorkflowTestingModule.forRoot()]);
    await emails.send({ template: 'welcome', to: 'di@example.test', context: { name: 'before' } });
    await outbox.nextEmailTo('di@example.test');

    outbox.clear();
    expect(outbox.emails).toEqual([]);
    expect(outbox.lastEmailTo('di@example.test')).toBeUndefined();

    const after = await emails.send({ template: 'welcome', to: 'di@example.test', context: { name: 'after' } });
    // Were the position of nextEmailTo kept, this would wait for a second email and time out.
    expect((await outbox.nextEmailTo('di@example.test', { timeout: 1_000 })).messageId).toBe(after.messageId);
    expect(outbox.emails.map((email) => email.context.name)).toEqual(['after']);
  });

  it('codesIn finds a one-time code standing alone, and linksIn decodes links; neither takes digits from links, references or phone numbers', async () => {
    const { emails, outbox } = await boot([EmailWorkflowTestingModule.forRoot({ templates: { dir: TESTING_TEMPLATES_DIR } })]);
    await emails.send({ template: 'sign-in-code', to: 'ed@example.test', context: { code: '493817' } });

    const email = await outbox.expectSent({ template: 'sign-in-code' });
    expect(email.subject).toBe('Your Test App sign-in code is 493817');
    expect(email.text).toContain('+4915112345678');
    expect(outbox.codesIn(email)).toEqual(['493817']);
    expect(outbox.linksIn(email)).toEqual(['https://app.example.test/orders/12345678?step=2&from=email']);
  });

  it('captures the verification and reset flows, whose links carry tokens the workflow accepts', async () => {
    const users = new InMemoryUsers();
    const ada = users.add({ id: 'u1', email: 'ada@example.test', name: 'Ada', emailVerified: false });
    const { emails, outbox } = await boot([EmailWorkflowTestingModule.forRoot({ users })]);

    await emails.startEmailVerification(ada);
    const verification = await outbox.expectSent({ template: 'verify-email', to: 'ada@example.test' });
    expect(verification.subject).toBe('Confirm your email address for Test App');
    expect(await emails.verifyEmail(tokenIn(verification, 'verify-email'))).toMatchObject({ id: 'u1', emailVerified: true });
    await outbox.expectSent({ template: 'welcome', to: 'ada@example.test' });

    // The reset email is queued after requestPasswordReset has answered: expectSent waits for it.
    await emails.requestPasswordReset('ada@example.test');
    const reset = await outbox.expectSent({ template: 'reset-password', to: 'ada@example.test' });
    let newPasswordFor: string | undefined;
    await emails.resetPassword(tokenIn(reset, 'reset-password'), async (user) => void (newPasswordFor = user.id));
    expect(newPasswordFor).toBe('u1');
    await outbox.expectSent({ template: 'password-changed', to: 'ada@example.test' });
    expect(outbox.emails.map((email) => email.template)).toEqual(['verify-email', 'welcome', 'reset-password', 'password-changed']);
  });

  it('captures sign-in by code and link and the email change: codesIn and linksIn give what the workflow accepts', async () => {
    const users = new InMemoryUsers();
    users.add({ id: 'u2', email: 'bo@example.test', name: 'Bo', emailVerified: false });
    const { emails, outbox } = await boot([EmailWorkflowTestingModule.forRoot({ users, flows: { signIn: { delivery: 'both' } } })]);

    await emails.requestSignIn('bo@example.test');
    const signIn = await outbox.expectSent({ template: 'sign-in', to: 'bo@example.test' });
    const [code] = outbox.codesIn(signIn);
    expect(code).toMatch(/^\d{6}$/);
    expect(outbox.linksIn(signIn)).toEqual([expect.stringMatching(/^http:\/\/localhost\/sign-in\?token=[\w-]{43}$/)]);
    expect(await emails.completeSignInWithCode('bo@example.test', code)).toMatchObject({ id: 'u2', emailVerified: true });

    const bo = (await users.findById('u2'))!;
    await emails.requestEmailChange(bo, 'bo.new@example.test');
    const confirm = await outbox.expectSent({ template: 'confirm-email-change', to: 'bo.new@example.test' });
    await outbox.expectSent({ template: 'email-change-requested', to: 'bo@example.test' });
    expect(await emails.confirmEmailChange(tokenIn(confirm, 'confirm-email-change'))).toMatchObject({ id: 'u2', email: 'bo.new@example.test' });
  });

  it('runs @BeforeEmailSend hooks as in production: their headers and context changes are captured, a cancelled email is not', async () => {
    const { emails, outbox } = await boot([EmailWorkflowTestingModule.forRoot()], [AppHooks]);
    const blocked = await emails.send({ template: 'welcome', to: 'blocked@example.test', context: { name: 'Bo' } });
    expect(blocked.cancelled).toEqual({ reason: 'address bounced' });
    await emails.send({ template: 'welcome', to: 'ada@example.test', context: { name: 'Ada' } });

    const email = await outbox.expectSent({ to: 'ada@example.test' });
    expect(email.headers).toEqual({ 'X-Campaign': 'spring' });
    expect(email.context.name).toBe('Hooked Ada');
    expect(email.text).toContain('Hi Hooked Ada,');
    expect(outbox.emails.map((captured) => captured.to.address)).toEqual(['ada@example.test']);
  });

  it('forRootAsync takes its options from a factory with injected providers', async () => {
    const { moduleRef, emails, outbox } = await boot([
      InMemoryUsersModule,
      EmailWorkflowTestingModule.forRootAsync({
        imports: [InMemoryUsersModule],
        inject: [InMemoryUsers],
        useFactory: (users: InMemoryUsers) => ({ users, brand: { name: 'Async App' }, links: { verifyEmail: 'https://async.example.test/verify?token={token}' } }),
      }),
    ]);
    const bo = moduleRef.get(InMemoryUsers).add({ id: 'u2', email: 'bo@example.test', name: 'Bo', emailVerified: false });

    await emails.resendVerification('bo@example.test');
    const email = await outbox.nextEmailTo('bo@example.test');
    expect(email.subject).toBe('Confirm your email address for Async App');
    const link = email.links.find((candidate) => candidate.startsWith('https://async.example.test/verify?token='));
    expect(link).toBeDefined();
    expect(await emails.verifyEmail(new URL(link as string).searchParams.get('token') as string)).toMatchObject({ id: bo.id, emailVerified: true });
  });

  it('captures tenant emails with their tenant, without resolving the tenant’s SMTP settings', async () => {
    const resolved: string[] = [];
    const { emails, outbox } = await boot([
      EmailWorkflowTestingModule.forRoot({
        transportResolver: async (tenantId) => {
          resolved.push(tenantId);
          return counter.transport();
        },
      }),
    ]);
    await emails.send({ template: 'welcome', to: 'ada@example.test', tenant: 'acme', context: { name: 'Ada' } });

    expect(await outbox.expectSent({ tenant: 'acme' })).toMatchObject({ tenant: 'acme', to: { address: 'ada@example.test' } });
    expect(resolved).toEqual([]);
    expect(counter.connections).toBe(0);
  });

  it('captureEmails overrides an app module that imports EmailWorkflowModule: no SMTP, no Redis, the app’s options and hooks kept', async () => {
    @Module({
      imports: [
        EmailWorkflowModule.forRootAsync({
          useFactory: () => ({
            transport: counter.transport(),
            from: 'Acme <no-reply@acme.test>',
            brand: { name: 'Acme' },
            links: { verifyEmail: 'https://acme.test/verify?token={token}', resetPassword: 'https://acme.test/reset?token={token}' },
            // Nothing listens there: opening this queue would fail the boot.
            queue: { redis: 'redis://127.0.0.1:1', worker: false },
            secret: TEST_SECRET,
          }),
        }),
      ],
      providers: [AppHooks],
    })
    class AppModule {}

    const outbox = new TestOutbox();
    const moduleRef = await start(captureEmails(Test.createTestingModule({ imports: [AppModule] }), outbox));
    const result = await moduleRef.get(EmailWorkflowService).send({ template: 'welcome', to: 'ada@example.test', context: { name: 'Ada' } });

    const email = await outbox.expectSent({ template: 'welcome', to: 'ada@example.test' });
    expect(email).toMatchObject({
      messageId: result.messageId,
      from: 'Acme <no-reply@acme.test>',
      subject: 'Welcome to Acme',
      headers: { 'X-Campaign': 'spring' },
      context: { name: 'Hooked Ada' },
    });
    expect(result.messageId).toMatch(/@acme\.test>$/);
    expect(counter.connections).toBe(0);
  });
});
