import { execFile } from 'node:child_process';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { Test, TestingModule } from '@nestjs/testing';
import { SMTPServer } from 'smtp-server';
import { EmailEvent, EmailEventSubscriptions, EmailWorkflowModule, EmailWorkflowService, TransportDiagnosis } from 'nestjs-email-workflow';
import { CapturingLogger } from '../support/capturing-logger';
import { invalidOptionsError, localOptions } from '../support/module-options';
import { EventLog, FAST_RETRIES } from '../support/workflow';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const USER = 'ada';
/** Seven characters: its base64 forms are far shorter than the 20 characters the patterns catch. */
const PASSWORD = 'hunter2';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/** Every form the login goes over the wire in, and so every form an echoing server can send back. */
const TRACES: Array<[string, string]> = [
  ['the password', PASSWORD],
  ['base64 of the AUTH PLAIN argument', b64(`\0${USER}\0${PASSWORD}`)],
  ['base64 of the AUTH PLAIN argument without padding', b64(`\0${USER}\0${PASSWORD}`).replace(/=+$/, '')],
  ['base64 of the AUTH LOGIN user', b64(USER)],
  ['base64 of the AUTH LOGIN password', b64(PASSWORD)],
  ['base64 of the AUTH LOGIN password without padding', b64(PASSWORD).replace(/=+$/, '')],
];

function expectNoTrace(where: string, text: string): void {
  for (const [name, value] of TRACES) {
    if (text.includes(value)) throw new Error(`${where} contains ${name} (${value}):\n${text}`);
  }
}

/**
 * A real SMTP server (smtp-server) that refuses every login with a 535 whose text echoes what the
 * client sent: the AUTH PLAIN argument, the LOGIN user and password in base64, and the password.
 */
async function echoingServer(): Promise<{ port: number; logins: string[]; close: () => Promise<void> }> {
  const logins: string[] = [];
  const server = new SMTPServer({
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth: (auth, _session, callback) => {
      const user = auth.username ?? '';
      const pass = auth.password ?? '';
      logins.push(user);
      const echo = `5.7.8 Bad credentials ${b64(`\0${user}\0${pass}`)} for ${b64(user)} ${b64(pass)} (${pass})`;
      callback(Object.assign(new Error(echo), { responseCode: 535 }));
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return { port, logins, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function cli(args: string[], env: Record<string, string>): Promise<string> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.EMAIL_WORKFLOW_SECRET_KEY;
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { cwd: ROOT, env: childEnv, timeout: 30_000 }, (_error, stdout, stderr) =>
      resolve(`${stdout}\n${stderr}`),
    );
    child.stdin?.end();
  });
}

describe('credentials removed by value from everything a server reply reaches', () => {
  let server: Awaited<ReturnType<typeof echoingServer>>;

  beforeAll(async () => {
    server = await echoingServer();
  });

  afterAll(async () => {
    await server.close();
  });

  it('a delivery attempt, its pause, diagnoseTransport() and sendTestEmail() carry no trace of the login', async () => {
    const logger = new CapturingLogger();
    const moduleRef: TestingModule = await Test.createTestingModule({
      imports: [
        EmailWorkflowModule.forRoot(
          localOptions(server.port, {
            transport: { host: '127.0.0.1', port: server.port, security: 'none', pool: false, auth: { user: USER, pass: PASSWORD } },
            queue: { redis: false, ...FAST_RETRIES },
          }),
        ),
      ],
    })
      .setLogger(logger)
      .compile();
    await moduleRef.init();
    try {
      const emails = moduleRef.get(EmailWorkflowService);
      const events = new EventLog(moduleRef.get(EmailEventSubscriptions));

      await emails.send({ template: 'test-email', to: 'grace@example.test' });
      const [paused] = await events.waitFor(EmailEvent.DeliveryPaused);
      const diagnosis: TransportDiagnosis = await emails.diagnoseTransport();
      const testEmail: TransportDiagnosis = await emails.sendTestEmail('grace@example.test');

      // The server did see the login, and did echo it: the redaction is what keeps it out.
      expect(server.logins).toContain(USER);
      expect(paused.reason).toMatch(/refused the login/);
      expect(diagnosis).toMatchObject({ ok: false, failure: { code: 'AUTH_FAILED', responseCode: 535 } });
      expect(testEmail).toMatchObject({ ok: false, failure: { code: 'AUTH_FAILED', responseCode: 535 } });
      expect(diagnosis.steps.find((step) => step.step === 'auth')?.detail).toContain('Bad credentials [redacted] for [redacted] [redacted] ([redacted])');

      expectNoTrace('the logs', logger.entries.map((entry) => `${entry.message} ${entry.params.join(' ')}`).join('\n'));
      expectNoTrace('the events', inspect(events.seen, { depth: 10 }));
      expectNoTrace('the diagnosis', JSON.stringify(diagnosis));
      expectNoTrace('the test-email diagnosis', JSON.stringify(testEmail));
    } finally {
      await moduleRef.close();
    }
  });

  it('the doctor CLI prints no trace of the login', async () => {
    const output = await cli(['doctor', '--url', `smtp://${USER}@127.0.0.1:${server.port}?security=none`, '--timeout', '5000'], {
      SMTP_PASSWORD: PASSWORD,
    });

    expect(output).toMatch(/✗ auth/);
    expect(output).toContain('[redacted]');
    expectNoTrace('the doctor output', output);
  });

  it('refuses a URL whose password holds an unencoded "/", naming the fix', async () => {
    const error = await invalidOptionsError(localOptions(0, { transport: 'smtp://u:se/cret@smtp.example.com:587' }));

    expect(error.problems).toEqual([expect.objectContaining({ path: 'transport', problem: expect.stringMatching(/not percent-encoded/) })]);
    expect(error.problems[0].fix).toContain('ab%2Fcd');
    expect(error.problems[0].fix).toContain('transport.auth');
    expect(error.message).not.toContain('se/cret');
  });
});
