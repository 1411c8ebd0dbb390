import { Test } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import {
  EmailEvent,
  EmailEventSubscriptions,
  EmailWorkflowModule,
  EmailWorkflowModuleOptions,
  EmailWorkflowService,
  encryptCredential,
  InvalidOptionsError,
  TransportDiagnosis,
} from 'nestjs-email-workflow';
import { CapturingLogger, SilentLogger } from '../support/capturing-logger';
import { invalidOptionsError, localOptions } from '../support/module-options';
import { SmtpSink } from '../support/smtp-sink';
import { EventLog } from '../support/workflow';

const ENV = 'EMAIL_WORKFLOW_SECRET_KEY';
const USER = 'mailer';
/** Characters that need percent-encoding in a URL, and non-ASCII ones. */
const PASSWORD = 'Pä$$ w0rd:/@%&+?#é';

function newKey(): string {
  return randomBytes(32).toString('base64url');
}

/** Runs with EMAIL_WORKFLOW_SECRET_KEY set to `value` (or unset), then restores it. */
async function withEnvKey<T>(value: string | undefined, run: () => Promise<T>): Promise<T> {
  const saved = process.env[ENV];
  if (value === undefined) delete process.env[ENV];
  else process.env[ENV] = value;
  try {
    return await run();
  } finally {
    if (saved === undefined) delete process.env[ENV];
    else process.env[ENV] = saved;
  }
}

/** Object-form transport to a local plaintext sink, logging in with `pass`. */
function objectTransport(port: number, pass: string): EmailWorkflowModuleOptions['transport'] {
  return { host: '127.0.0.1', port, security: 'none', pool: false, auth: { user: USER, pass } };
}

/** URL-form transport with the (percent-encoded) password in it. */
function urlTransport(port: number, pass: string): string {
  return `smtp://${USER}:${encodeURIComponent(pass)}@127.0.0.1:${port}?security=none&pool=false`;
}

/** Substrings from which the password or the key could be recovered or recognised. */
function secretForms(sealed: string, keys: string[]): Array<[string, string]> {
  const body = sealed.slice('enc:v1:'.length);
  return [
    ['the password', PASSWORD],
    ['the percent-encoded password', encodeURIComponent(PASSWORD)],
    ['the base64 password (AUTH LOGIN)', Buffer.from(PASSWORD).toString('base64')],
    ['the AUTH PLAIN credentials', Buffer.from(`\u0000${USER}\u0000${PASSWORD}`).toString('base64')],
    ['the enc:v1 value', sealed],
    ['the percent-encoded enc:v1 value', encodeURIComponent(sealed)],
    ...body.split('.').map((part, i): [string, string] => [`part ${i + 1} of the enc:v1 value`, part]),
    ...keys.map((key, i): [string, string] => [`key ${i + 1}`, key]),
  ];
}

function expectNoSecrets(where: string, text: string, forms: Array<[string, string]>): void {
  for (const [name, value] of forms) {
    if (text.includes(value)) throw new Error(`${where} contains ${name}`);
  }
}

function expectErrorKeepsSecrets(error: InvalidOptionsError, forms: Array<[string, string]>): void {
  expectNoSecrets('the error message', error.message, forms);
  expectNoSecrets('the error stack', String(error.stack), forms);
  expectNoSecrets('the error problems', JSON.stringify(error.problems), forms);
  expectNoSecrets('the inspected error', inspect(error, { depth: 10 }), forms);
}

describe('enc:v1: SMTP passwords', () => {
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function startSink(pass = PASSWORD): Promise<SmtpSink> {
    const sink = await SmtpSink.start({ credentials: { user: USER, pass } });
    cleanups.push(() => sink.close());
    return sink;
  }

  async function boot(options: EmailWorkflowModuleOptions, logger: CapturingLogger | SilentLogger = new SilentLogger()) {
    const moduleRef = await Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(options)] })
      .setLogger(logger)
      .compile();
    const events = new EventLog(moduleRef.get(EmailEventSubscriptions));
    await moduleRef.init();
    cleanups.push(() => moduleRef.close());
    return { moduleRef, emails: moduleRef.get(EmailWorkflowService), events };
  }

  /** Sends one email and expects it at the sink, after a login with the plain password. */
  async function expectDelivery(sink: SmtpSink, emails: EmailWorkflowService): Promise<void> {
    const { messageId } = await emails.send({ template: 'test-email', to: 'ada@example.test' });
    const [mail] = await sink.waitForMessages(1);
    expect(mail.messageId).toBe(messageId);
    expect(sink.authAttempts).toEqual([USER]);
  }

  it('encryptCredential makes an enc:v1: value that hides the password and differs each time', () => {
    const key = newKey();
    const first = encryptCredential(PASSWORD, key);
    const second = encryptCredential(PASSWORD, key);
    expect(first).toMatch(/^enc:v1:[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(first).not.toBe(second);
    expectNoSecrets('the enc:v1 value', first, [
      ['the password', PASSWORD],
      ['the key', key],
    ]);
  });

  it('decrypts transport.auth.pass (object form) with credentialKeys, logs in and delivers', async () => {
    const key = newKey();
    const sink = await startSink();
    const { emails } = await boot(localOptions(sink.port, { transport: objectTransport(sink.port, encryptCredential(PASSWORD, key)), credentialKeys: [key] }));
    await expectDelivery(sink, emails);
  });

  it('decrypts a percent-encoded enc:v1: password in a transport URL, logs in and delivers', async () => {
    const key = newKey();
    const sink = await startSink();
    const { emails } = await boot(localOptions(sink.port, { transport: urlTransport(sink.port, encryptCredential(PASSWORD, key)), credentialKeys: [key] }));
    await expectDelivery(sink, emails);
  });

  it('opens a value sealed under the old key during a rotation: credentialKeys [newKey, oldKey]', async () => {
    const oldKey = newKey();
    const currentKey = newKey();
    const sink = await startSink();
    const { emails } = await boot(
      localOptions(sink.port, { transport: objectTransport(sink.port, encryptCredential(PASSWORD, oldKey)), credentialKeys: [currentKey, oldKey] }),
    );
    await expectDelivery(sink, emails);
  });

  it('takes the key from EMAIL_WORKFLOW_SECRET_KEY when credentialKeys is not set', async () => {
    const key = newKey();
    const sink = await startSink();
    const { emails } = await withEnvKey(key, () => boot(localOptions(sink.port, { transport: objectTransport(sink.port, encryptCredential(PASSWORD, key)) })));
    await expectDelivery(sink, emails);
  });

  it('takes comma-separated keys from EMAIL_WORKFLOW_SECRET_KEY, current first, old after it', async () => {
    const oldKey = newKey();
    const currentKey = newKey();
    const sink = await startSink();
    const { emails } = await withEnvKey(`${currentKey}, ${oldKey}`, () =>
      boot(localOptions(sink.port, { transport: urlTransport(sink.port, encryptCredential(PASSWORD, oldKey)) })),
    );
    await expectDelivery(sink, emails);
  });

  describe('fails the boot naming the field, without the password or the key', () => {
    function tamper(sealed: string): string {
      const [iv, tag, ciphertext] = sealed.slice('enc:v1:'.length).split('.');
      // A middle character: the last one of a base64url part may carry only padding bits.
      const at = Math.floor(ciphertext.length / 2);
      const swapped = ciphertext[at] === 'A' ? 'B' : 'A';
      return `enc:v1:${iv}.${tag}.${ciphertext.slice(0, at)}${swapped}${ciphertext.slice(at + 1)}`;
    }

    it('a tampered ciphertext (object form)', async () => {
      const key = newKey();
      const sealed = tamper(encryptCredential(PASSWORD, key));
      const error = await invalidOptionsError(localOptions(2525, { transport: objectTransport(2525, sealed), credentialKeys: [key] }));
      expect(error.problems).toEqual([
        expect.objectContaining({ path: 'transport.auth.pass', problem: expect.stringMatching(/cannot be decrypted.*altered/) }),
      ]);
      expect(error.message).toContain('transport.auth.pass');
      expectErrorKeepsSecrets(error, secretForms(sealed, [key]));
    });

    it('a value sealed under another key (object form)', async () => {
      const sealingKey = newKey();
      const configuredKey = newKey();
      const sealed = encryptCredential(PASSWORD, sealingKey);
      const error = await invalidOptionsError(localOptions(2525, { transport: objectTransport(2525, sealed), credentialKeys: [configuredKey] }));
      expect(error.problems).toEqual([
        expect.objectContaining({ path: 'transport.auth.pass', problem: expect.stringMatching(/wrong key/), fix: expect.stringMatching(/oldKey/) }),
      ]);
      expectErrorKeepsSecrets(error, secretForms(sealed, [sealingKey, configuredKey]));
    });

    it('a value sealed under another key than EMAIL_WORKFLOW_SECRET_KEY', async () => {
      const sealingKey = newKey();
      const envKey = newKey();
      const sealed = encryptCredential(PASSWORD, sealingKey);
      const error = await withEnvKey(envKey, () => invalidOptionsError(localOptions(2525, { transport: objectTransport(2525, sealed) })));
      expect(error.problems.map((problem) => problem.path)).toEqual(['transport.auth.pass']);
      expectErrorKeepsSecrets(error, secretForms(sealed, [sealingKey, envKey]));
    });

    it('no key at all: neither credentialKeys nor EMAIL_WORKFLOW_SECRET_KEY', async () => {
      const key = newKey();
      const sealed = encryptCredential(PASSWORD, key);
      const error = await withEnvKey(undefined, () => invalidOptionsError(localOptions(2525, { transport: objectTransport(2525, sealed) })));
      expect(error.problems).toEqual([
        expect.objectContaining({
          path: 'transport.auth.pass',
          problem: expect.stringMatching(/no key is configured/),
          fix: expect.stringContaining('EMAIL_WORKFLOW_SECRET_KEY'),
        }),
      ]);
      expectErrorKeepsSecrets(error, secretForms(sealed, [key]));
    });

    it('a wrong key for a URL password names the URL password', async () => {
      const sealed = encryptCredential(PASSWORD, newKey());
      const configuredKey = newKey();
      const error = await invalidOptionsError(localOptions(2525, { transport: urlTransport(2525, sealed), credentialKeys: [configuredKey] }));
      expect(error.problems.map((problem) => problem.path)).toEqual(['transport (URL password)']);
      expectErrorKeepsSecrets(error, secretForms(sealed, [configuredKey]));
    });
  });

  it('a refused encrypted password: pause, diagnoses and test email leave no secret in any log, event or result', async () => {
    const key = newKey();
    const oldKey = newKey();
    const sealed = encryptCredential(PASSWORD, key);
    const forms = secretForms(sealed, [key, oldKey]);
    const sink = await startSink('the-password-after-a-rotation');
    const logger = new CapturingLogger();
    const consoleLines: string[] = [];
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      const spy = jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void consoleLines.push(args.map((arg) => inspect(arg)).join(' ')));
      cleanups.push(async () => spy.mockRestore());
    }
    const { moduleRef, emails, events } = await boot(
      localOptions(sink.port, {
        transport: objectTransport(sink.port, sealed),
        credentialKeys: [key, oldKey],
        queue: { redis: false, probeInterval: 200, backoff: { delay: 20, maxDelay: 100 } },
      }),
      logger,
    );

    // Refused: 535, delivery pauses, the diagnosis is logged once.
    const { messageId } = await emails.send({ template: 'test-email', to: 'ada@example.test' });
    const [paused] = await events.waitFor(EmailEvent.DeliveryPaused, 1);
    expect(paused).toMatchObject({ responseCode: 535 });
    expect(paused.reason).toMatch(/refused the login/);
    const refusedDiagnosis = await emails.diagnoseTransport();
    const refusedTestEmail = await emails.sendTestEmail('grace@example.test');
    expect(refusedDiagnosis).toMatchObject({ ok: false, failure: { code: 'AUTH_FAILED', responseCode: 535 } });
    expect(refusedTestEmail).toMatchObject({ ok: false, failure: { code: 'AUTH_FAILED', responseCode: 535 } });
    expect(refusedDiagnosis.transport).toBe(`smtp://${USER}:***@127.0.0.1:${sink.port} (no TLS)`);

    // Fixed at the server: the held email goes, and both diagnoses pass.
    sink.credentials = { user: USER, pass: PASSWORD };
    await events.waitFor(EmailEvent.DeliveryResumed, 1);
    await sink.waitForMessages(1);
    const diagnosis = await emails.diagnoseTransport();
    const testEmail = await emails.sendTestEmail('grace@example.test');
    await sink.waitForMessages(2);
    expect(diagnosis.ok).toBe(true);
    expect(testEmail.ok).toBe(true);
    expect(sink.messages.map((mail) => mail.messageId)).toContain(messageId);
    await moduleRef.close();

    const results: TransportDiagnosis[] = [refusedDiagnosis, refusedTestEmail, diagnosis, testEmail];
    const logs = logger.text();
    // The capture works: boot, pause and resume are all in it.
    expect(logs).toContain(`Sending through smtp://${USER}:***@127.0.0.1:${sink.port} (no TLS)`);
    expect(logs).toMatch(/Delivery paused: The SMTP server refused the login/);
    expect(logs).toMatch(/Delivery resumed/);
    expect(logger.entries.some((entry) => entry.level === 'error')).toBe(true);

    expectNoSecrets('the Nest logs', logs, forms);
    expectNoSecrets('the console', consoleLines.join('\n'), forms);
    expectNoSecrets('the event payloads', inspect(events.seen, { depth: 10 }) + JSON.stringify(events.seen), forms);
    expectNoSecrets('the diagnoses', inspect(results, { depth: 10 }) + JSON.stringify(results), forms);
    expect(Object.values(events.seen).flat().length).toBeGreaterThanOrEqual(4);
  });
});
