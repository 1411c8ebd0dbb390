import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { ParsedMail } from 'mailparser';
import { EmailEvent, EmailEventSubscriptions, EmailWorkflowModule, EmailWorkflowService, FlowNotConfiguredError } from 'nestjs-email-workflow';
import type { EmailEventPayloads, EmailWorkflowModuleOptions } from 'nestjs-email-workflow';
import { UsersStore } from '../fixtures/auth-app/users.store';
import { authAppHarness, tokenOf } from '../support/auth-app-harness';
import { CapturingLogger } from '../support/capturing-logger';
import { InMemoryUsers } from '../support/in-memory-users';
import { localOptions } from '../support/module-options';
import { deleteKeys, dumpKeys, uniquePrefix } from '../support/redis';
import { SmtpSink } from '../support/smtp-sink';
import { sleep, until, untilQueueIdle } from '../support/wait';
import { bootRedisWorkflow } from '../support/workflow';

const SIGN_IN_LINK = 'http://localhost:3000/passwordless/complete?token={token}';

function codeIn(mail: ParsedMail): string {
  const found = /^\s*(\d{6,10})\s*$/m.exec(mail.text ?? '');
  if (!found) throw new Error(`no code in the email "${mail.subject}"`);
  return found[1];
}

function tokenIn(mail: ParsedMail): string {
  return tokenOf(mail, 'passwordless/complete');
}

describe('passwordless sign-in through a real app, Redis and SMTP server', () => {
  const harness = authAppHarness({ links: { ...localOptions(0).links, signIn: SIGN_IN_LINK } });
  const { call } = harness;
  let sink: SmtpSink;
  let app: INestApplication;
  let prefix: string;
  let users: UsersStore;
  let signedIn: Array<EmailEventPayloads[EmailEvent.SignedIn]>;
  let requested: Array<EmailEventPayloads[EmailEvent.SignInRequested]>;

  beforeEach(() => {
    ({ sink, prefix } = harness);
  });

  async function startApp(overrides: Partial<EmailWorkflowModuleOptions> = {}): Promise<void> {
    app = await harness.startApp(overrides);
    const events = app.get(EmailEventSubscriptions);
    signedIn = [];
    requested = [];
    events.on(EmailEvent.SignedIn, (payload) => void signedIn.push(payload));
    events.on(EmailEvent.SignInRequested, (payload) => void requested.push(payload));
    users = app.get(UsersStore);
    await users.create('Ada', 'ada@example.test', 'a-password');
  }

  it('request → sign-in email → GET pages keep the link → POST signs in once, marking the address verified', async () => {
    await startApp();
    const known = await call('POST', '/passwordless/request', { email: 'Ada@Example.test' });
    const unknown = await call('POST', '/passwordless/request', { email: 'nobody@example.test' });
    expect(known).toEqual({ status: 202, body: { message: 'If the address has an account, a sign-in email is on its way.' } });
    expect(unknown).toEqual(known);

    const mail = await sink.mailTo('ada@example.test', /Sign in to Acme/);
    expect(mail.text).toContain('15 minutes');
    const token = tokenIn(mail);
    // A link scanner (or the user's own GET) fetches the page twice: the link stays usable.
    for (let fetched = 0; fetched < 2; fetched++) {
      expect(await call('GET', `/passwordless/complete?token=${token}`)).toMatchObject({ status: 200, body: { valid: true } });
    }
    const [ada] = [await users.findByEmail('ada@example.test')];
    expect(await call('POST', '/passwordless/complete', { token })).toEqual({ status: 200, body: { id: ada?.id, emailVerified: true } });
    expect((await users.findById(ada!.id))?.emailVerified).toBe(true);
    expect(signedIn).toEqual([{ userId: ada!.id, email: 'ada@example.test' }]);
    expect(requested).toEqual([{ userId: ada!.id, email: 'ada@example.test', ip: expect.any(String) }]);

    expect(await call('POST', '/passwordless/complete', { token })).toMatchObject({ status: 400, body: { error: 'EMAIL_WORKFLOW_TOKEN_USED' } });
    expect(await call('GET', `/passwordless/complete?token=${token}`)).toEqual({ status: 200, body: { valid: false, reason: 'used' } });
    expect(signedIn).toHaveLength(1);

    // The unknown address got nothing; and no job or key holds the token or an address in clear.
    await untilQueueIdle(app.get(EmailWorkflowService));
    await sink.untilNothingArriving();
    expect(sink.messages.map((message) => (message.to as { text: string }).text)).toEqual(['"Ada" <ada@example.test>']);
    const stored = [...(await dumpKeys(prefix)).values()].join('\n');
    for (const secret of [token, 'ada@example.test', 'nobody@example.test']) expect(stored).not.toContain(secret);
  });

  it("with delivery 'both', signs in by code once; the link beside it is then void", async () => {
    await startApp({ flows: { signIn: { delivery: 'both' } } });
    await call('POST', '/passwordless/request', { email: 'ada@example.test' });
    const mail = await sink.mailTo('ada@example.test', /Sign in to Acme/);
    const code = codeIn(mail);
    expect(await call('POST', '/passwordless/code', { email: 'ada@example.test', code })).toMatchObject({ status: 200, body: { emailVerified: true } });
    expect(await call('POST', '/passwordless/code', { email: 'ada@example.test', code })).toMatchObject({ status: 400, body: { error: 'EMAIL_WORKFLOW_CODE_INVALID' } });
    expect(await call('GET', `/passwordless/complete?token=${tokenIn(mail)}`)).toEqual({ status: 200, body: { valid: false, reason: 'expired' } });
    expect(signedIn).toHaveLength(1);
  });

  it('refuses a link past flows.signIn.ttl as expired', async () => {
    await startApp({ flows: { signIn: { ttl: 1 } } });
    await call('POST', '/passwordless/request', { email: 'ada@example.test' });
    const token = tokenIn(await sink.mailTo('ada@example.test', /Sign in to Acme/));
    await until(async () => (await call('GET', `/passwordless/complete?token=${token}`)).body.valid === false, 'the link to expire', 4_000, 100);
    expect(await call('POST', '/passwordless/complete', { token })).toMatchObject({ status: 400, body: { error: 'EMAIL_WORKFLOW_TOKEN_EXPIRED' } });
    expect(signedIn).toEqual([]);
  });

  it('limits requests per address (known or not alike) and per IP, as flows.signIn.limits says', async () => {
    await startApp({ flows: { signIn: { limits: { perAddress: { limit: 2, windowSeconds: 60 }, perIp: { limit: 4, windowSeconds: 60 } } } } });
    const statuses = async (email: string, times: number) => {
      const seen: number[] = [];
      for (let n = 0; n < times; n++) seen.push((await call('POST', '/passwordless/request', { email })).status);
      return seen;
    };
    expect(await statuses('ada@example.test', 3)).toEqual([202, 202, 429]);
    expect(await statuses('nobody@example.test', 3)).toEqual([202, 202, 429]);
    // Four requests from this IP got past their address's limit and were counted: the IP's budget is spent for any address.
    expect(await statuses('someone-else@example.test', 1)).toEqual([429]);
    await sink.waitForMessages(2);
    await untilQueueIdle(app.get(EmailWorkflowService));
    await sink.untilNothingArriving();
    expect(sink.messages).toHaveLength(2);
  });

  it('without links.signIn, a request is refused with FlowNotConfiguredError naming it', async () => {
    await startApp({ links: localOptions(0).links });
    const answer = await call('POST', '/passwordless/request', { email: 'ada@example.test' });
    expect(answer).toMatchObject({ status: 422, body: { error: 'EMAIL_WORKFLOW_FLOW_NOT_CONFIGURED' } });
    expect(answer.body.message).toMatch(/^requestSignIn\(\) cannot run: links\.signIn is not configured\. Fix: set links\.signIn to an absolute URL with \{token\}/);
  });
});

describe('passwordless sign-in on the in-process queue', () => {
  let sink: SmtpSink;

  beforeAll(async () => {
    sink = await SmtpSink.start();
  });

  afterAll(async () => {
    await sink.close();
  });

  it("signs in by code with delivery 'code' (no link needed), once", async () => {
    const users = new InMemoryUsers();
    users.add({ id: 'bo-1', email: 'bo@example.test', name: 'Bo', emailVerified: true });
    const moduleRef = await Test.createTestingModule({
      imports: [EmailWorkflowModule.forRoot(localOptions(sink.port, { users, flows: { signIn: { delivery: 'code' } } }))],
    })
      .setLogger(new CapturingLogger())
      .compile();
    await moduleRef.init();
    try {
      const emails = moduleRef.get(EmailWorkflowService);
      await emails.requestSignIn('bo@example.test', { ip: '192.0.2.7' });
      const mail = await sink.mailTo('bo@example.test', /Sign in to Acme/);
      expect(mail.html).not.toContain('token=');
      const code = codeIn(mail);
      await expect(emails.completeSignInWithCode('bo@example.test', code)).resolves.toMatchObject({ id: 'bo-1', emailVerified: true });
      await expect(emails.completeSignInWithCode('bo@example.test', code)).rejects.toMatchObject({ reason: 'invalid-code' });
      await expect(emails.requestSignIn('bo@example.test')).resolves.toBeUndefined();
    } finally {
      await moduleRef.close();
    }
  });

  it('refuses requestSignIn without links.signIn at once, before counting or looking anything up', async () => {
    const users = new InMemoryUsers();
    const moduleRef = await Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(localOptions(sink.port, { users }))] })
      .setLogger(new CapturingLogger())
      .compile();
    try {
      const emails = moduleRef.get(EmailWorkflowService);
      const error = await emails.requestSignIn('bo@example.test').catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(FlowNotConfiguredError);
      expect(error).toMatchObject({ code: 'EMAIL_WORKFLOW_FLOW_NOT_CONFIGURED', missing: 'links.signIn', method: 'requestSignIn' });
      expect(users.lookups).toEqual([]);
    } finally {
      await moduleRef.close();
    }
  });
});

describe('passwordless sign-in requests are durable with a Redis queue', () => {
  let sink: SmtpSink;
  let prefix: string;

  beforeAll(async () => {
    sink = await SmtpSink.start();
    prefix = uniquePrefix();
  });

  afterAll(async () => {
    await sink.close();
    await deleteKeys(prefix);
  });

  it('a request answered by a process without a worker is sent by a worker started later, its address stored sealed', async () => {
    const users = new InMemoryUsers();
    users.add({ id: 'cy-1', email: 'cy@example.test', name: 'Cy', emailVerified: false });
    const options = { users, links: { ...localOptions(0).links, signIn: SIGN_IN_LINK } };
    const answering = await bootRedisWorkflow(sink.port, prefix, { worker: false }, options);
    try {
      await answering.emails.requestSignIn('cy@example.test', { ip: '192.0.2.9' });
      // Proves an absence: without a worker nothing may look the account up or send; give it this window to show.
      await sleep(300);
      expect(users.lookups).toEqual([]);
      expect(sink.messages).toHaveLength(0);
      const stored = [...(await dumpKeys(prefix)).values()].join('\n');
      for (const clear of ['cy@example.test', '192.0.2.9']) expect(stored).not.toContain(clear);
    } finally {
      await answering.moduleRef.close();
    }

    const worker = await bootRedisWorkflow(sink.port, prefix, {}, options);
    try {
      const token = tokenIn(await sink.mailTo('cy@example.test', /Sign in to Acme/));
      await expect(worker.emails.completeSignIn(token)).resolves.toMatchObject({ id: 'cy-1', emailVerified: true });
      expect((await users.findById('cy-1'))?.emailVerified).toBe(true);
      expect(worker.events.seen[EmailEvent.SignInRequested]).toEqual([{ userId: 'cy-1', email: 'cy@example.test', ip: '192.0.2.9' }]);
    } finally {
      await worker.moduleRef.close();
    }
  });
});
