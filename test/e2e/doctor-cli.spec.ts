import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { ThrowawayDns } from '../support/dns-server';
import { freePort } from '../support/free-port';
import { SmtpSink, SmtpSinkOptions } from '../support/smtp-sink';
import { TestBed } from '../support/test-bed';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const CA_FILE = join(ROOT, 'test', 'fixtures', 'tls', 'ca.pem');
const USER = 'ada';
const PASSWORD = 'Cl1-Doctor-S3cret';
const WRONG_PASSWORD = 'Cl1-Wr0ng-S3cret';
const SECRET_KEY = 'doctor-cli-test-key-0123456789abcdef0123456789';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI as a child process. Asynchronous on purpose: the SMTP sinks live in this
 * process and must keep answering while the CLI talks to them. stdin is not a terminal, so the CLI
 * can never block on a password prompt.
 */
function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  delete childEnv.SMTP_PASSWORD;
  delete childEnv.EMAIL_WORKFLOW_SECRET_KEY;
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[name];
    else childEnv[name] = value;
  }
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { cwd: ROOT, env: childEnv, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number | string }).code as number | null) : 0, stdout, stderr });
    });
    child.stdin?.end();
  });
}

/** The lines that report a step (indented, with ✓ or ✗). */
function stepLines(output: string): string[] {
  return output.split('\n').filter((line) => /^\s+[✓✗]/.test(line));
}

describe('CLI: nestjs-email-workflow doctor / encrypt-secret', () => {
  const bed = new TestBed();
  const sink = (options: SmtpSinkOptions = {}): Promise<SmtpSink> => bed.sink(options);

  afterAll(async () => {
    await bed.close();
  });

  describe('doctor against a healthy server (STARTTLS, --ca, SMTP_PASSWORD)', () => {
    let server: SmtpSink;
    /** --from runs the DNS checks too: acme.test's zone, with nothing wrong in it. */
    let dns: ThrowawayDns;

    beforeAll(async () => {
      server = await sink({ credentials: { user: USER, pass: PASSWORD } });
      dns = await ThrowawayDns.start([
        { type: 'TXT', name: 'acme.test', value: 'v=spf1 ip4:127.0.0.1 ~all' },
        { type: 'TXT', name: '_dmarc.acme.test', value: 'v=DMARC1; p=none' },
        { type: 'MX', name: 'acme.test', exchange: 'mx.acme.test' },
      ]);
    });

    afterAll(async () => {
      await dns?.stop();
    });

    it('passes every step up to MAIL FROM and exits 0', async () => {
      const result = await cli(['doctor', '--url', `smtp://${USER}@localhost:${server.port}?security=starttls`, '--ca', CA_FILE], {
        SMTP_PASSWORD: PASSWORD,
      });

      expect(result.code).toBe(0);
      const steps = stepLines(result.stdout);
      expect(steps.map((line) => line.trim().split(/\s+/)[1])).toEqual(['dns', 'connect', 'greeting', 'tls', 'auth', 'mail-from']);
      expect(steps.every((line) => line.includes('✓'))).toBe(true);
      expect(result.stdout).not.toContain('✗');
      expect(result.stdout).not.toContain('Fix:');
      expect(result.stdout).toContain('All steps passed');
      expect(result.stdout).toContain(`Checking smtp://${USER}:***@localhost:${server.port} (starttls)`);
      expect(`${result.stdout}${result.stderr}`).not.toContain(PASSWORD);
      expect(server.authAttempts).toContain(USER);
    });

    it('with --to also passes RCPT and DATA, and the test email arrives', async () => {
      const before = server.messages.length;
      const result = await cli(
        ['doctor', '--url', `smtp://${USER}@localhost:${server.port}?security=starttls`, '--ca', CA_FILE, '--to', 'grace@example.test', '--from', 'doctor@acme.test', '--dns', dns.address],
        { SMTP_PASSWORD: PASSWORD },
      );

      expect(result.code).toBe(0);
      // The SMTP steps; the DNS checks --from adds follow them (test/e2e/deliverability-cli.spec.ts).
      const [smtpSection, dnsSection] = result.stdout.split('\nChecking the DNS of acme.test');
      expect(dnsSection).toContain('✓ spf');
      const steps = stepLines(smtpSection);
      expect(steps.map((line) => line.trim().split(/\s+/)[1])).toEqual(['dns', 'connect', 'greeting', 'tls', 'auth', 'mail-from', 'rcpt', 'data']);
      expect(steps.every((line) => line.includes('✓'))).toBe(true);
      expect(result.stdout).not.toContain('✗');
      expect(`${result.stdout}${result.stderr}`).not.toContain(PASSWORD);

      const mails = await server.waitForMessages(before + 1);
      const mail = mails[mails.length - 1];
      expect(mail.subject).toBe('nestjs-email-workflow doctor: test email');
      expect(mail.from?.text).toContain('doctor@acme.test');
      expect(mail.to && !Array.isArray(mail.to) ? mail.to.text : '').toContain('grace@example.test');
    });
  });

  describe('doctor against failing servers', () => {
    it('connection refused: exits 1 with ✗ at connect and a Fix: line', async () => {
      const port = await freePort();
      const result = await cli(['doctor', '--url', `smtp://127.0.0.1:${port}?security=none`, '--timeout', '3000']);

      expect(result.code).toBe(1);
      expect(result.stdout).toContain('✗');
      expect(stepLines(result.stdout).pop()).toMatch(/✗ connect/);
      expect(result.stdout).toContain('Fix:');
      expect(result.stdout).toMatch(/Nothing listens on port \d+/);
    });

    it('refused port 25: the Fix: line suggests 587 with STARTTLS', async () => {
      // Nothing listens on 127.0.0.1:25 here (the diagnostics spec asserts it too).
      const result = await cli(['doctor', '--url', 'smtp://127.0.0.1:25', '--timeout', '3000']);

      expect(result.code).toBe(1);
      expect(stepLines(result.stdout).pop()).toMatch(/✗ connect .*ECONNREFUSED/);
      expect(result.stdout).toMatch(/Fix:.*Port 25 is often blocked.*587.*starttls/);
    });

    it('535 at AUTH: exits 1 with the app-password hint; the password is never printed', async () => {
      const server = await sink({ credentials: { user: USER, pass: PASSWORD } });
      const result = await cli(['doctor', '--url', `smtp://${USER}@localhost:${server.port}?security=starttls`, '--ca', CA_FILE], {
        SMTP_PASSWORD: WRONG_PASSWORD,
      });

      expect(result.code).toBe(1);
      expect(stepLines(result.stdout).pop()).toMatch(/✗ auth/);
      expect(result.stdout).toContain('(535)');
      expect(result.stdout).toMatch(/Fix:.*app password/);
      expect(server.authAttempts).toEqual([USER]);
      const output = `${result.stdout}${result.stderr}`;
      expect(output).not.toContain(WRONG_PASSWORD);
      expect(output).not.toContain(PASSWORD);
      expect(output).not.toContain(Buffer.from(`\u0000${USER}\u0000${WRONG_PASSWORD}`).toString('base64'));
    });

    it('an untrusted certificate (no --ca): exits 1, pointing at tls.ca', async () => {
      const server = await sink({ secure: true });
      const result = await cli(['doctor', '--url', `smtps://localhost:${server.port}`]);

      expect(result.code).toBe(1);
      expect(stepLines(result.stdout).pop()).toMatch(/✗ tls/);
      expect(result.stdout).toMatch(/Fix:.*tls\.ca/);
    });
  });

  describe('doctor hints name its flags', () => {
    /** The text after "Fix:". */
    const fixOf = (output: string): string => output.split('\n').find((line) => line.trim().startsWith('Fix:')) ?? '';

    it('an untrusted certificate: the Fix: line says --ca (and --servername)', async () => {
      const server = await sink({ secure: true });
      const result = await cli(['doctor', '--url', `smtps://localhost:${server.port}`]);

      expect(result.code).toBe(1);
      expect(stepLines(result.stdout).pop()).toMatch(/✗ tls/);
      expect(fixOf(result.stdout)).toContain('--ca');
      expect(fixOf(result.stdout)).toContain('--servername');
    });

    it('TLS to a plaintext port (wrong port or security): the Fix: line says what to put in --url', async () => {
      const server = await sink();
      const result = await cli(['doctor', '--url', `smtps://localhost:${server.port}`, '--ca', CA_FILE]);

      expect(result.code).toBe(1);
      expect(stepLines(result.stdout).pop()).toMatch(/✗ tls .*WRONG_VERSION_NUMBER/);
      expect(fixOf(result.stdout)).toContain('?security=starttls');
      expect(fixOf(result.stdout)).toContain('--url');
      expect(fixOf(result.stdout)).not.toContain('security "starttls"');
    });

    it('a --ca file that cannot be read is a usage error (exit 2)', async () => {
      const result = await cli(['doctor', '--url', 'smtp://127.0.0.1:25', '--ca', join(ROOT, 'no-such-ca.pem')]);

      expect(result.code).toBe(2);
      expect(result.stderr).toContain('--ca');
      expect(result.stderr).toContain('ENOENT');
      expect(result.stderr).toContain('Usage:');
    });
  });

  describe('encrypt-secret', () => {
    it('prints an enc:v1: value that doctor decrypts (from SMTP_PASSWORD) and logs in with', async () => {
      const encrypted = await cli(['encrypt-secret'], { SMTP_PASSWORD: PASSWORD, EMAIL_WORKFLOW_SECRET_KEY: SECRET_KEY });

      expect(encrypted.code).toBe(0);
      const sealed = encrypted.stdout.trim();
      expect(sealed).toMatch(/^enc:v1:\S+$/);
      expect(sealed).not.toContain(PASSWORD);
      expect(`${encrypted.stdout}${encrypted.stderr}`).not.toContain(PASSWORD);

      const server = await sink({ credentials: { user: USER, pass: PASSWORD } });
      const result = await cli(['doctor', '--url', `smtp://${USER}@localhost:${server.port}?security=starttls`, '--ca', CA_FILE], {
        SMTP_PASSWORD: sealed,
        EMAIL_WORKFLOW_SECRET_KEY: SECRET_KEY,
      });

      expect(result.code).toBe(0);
      expect(stepLines(result.stdout).find((line) => / auth /.test(line))).toMatch(/✓ auth .*logged in as ada/);
      expect(result.stdout).not.toContain('✗');
      expect(server.authAttempts).toEqual([USER]);
      expect(`${result.stdout}${result.stderr}`).not.toContain(PASSWORD);
    });

    it('doctor with an enc:v1: password and the wrong key exits 2 without trying to log in', async () => {
      const encrypted = await cli(['encrypt-secret'], { SMTP_PASSWORD: PASSWORD, EMAIL_WORKFLOW_SECRET_KEY: SECRET_KEY });
      const server = await sink({ credentials: { user: USER, pass: PASSWORD } });

      const result = await cli(['doctor', '--url', `smtp://${USER}@localhost:${server.port}?security=starttls`, '--ca', CA_FILE], {
        SMTP_PASSWORD: encrypted.stdout.trim(),
        EMAIL_WORKFLOW_SECRET_KEY: 'another-key-another-key-another-key-0123',
      });

      expect(result.code).toBe(2);
      expect(result.stderr).toContain('EMAIL_WORKFLOW_SECRET_KEY does not open it');
      expect(server.authAttempts).toEqual([]);
    });

    it('without EMAIL_WORKFLOW_SECRET_KEY exits 2 and says what to set', async () => {
      const result = await cli(['encrypt-secret'], { SMTP_PASSWORD: PASSWORD });

      expect(result.code).toBe(2);
      expect(result.stderr).toContain('EMAIL_WORKFLOW_SECRET_KEY');
      expect(`${result.stdout}${result.stderr}`).not.toContain(PASSWORD);
    });
  });

  describe('usage', () => {
    it.each([
      ['no command', [], 'No command given.'],
      ['an unknown command', ['frobnicate'], 'Unknown command "frobnicate".'],
      ['doctor without --url or --from', ['doctor'], 'doctor needs --url (the SMTP checks), --from (the DNS checks) or both.'],
    ])('%s exits 2 with the usage', async (_name, args, message) => {
      const result = await cli(args);

      expect(result.code).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.stderr).toContain('Usage:');
      expect(result.stderr).toContain('doctor --url');
      expect(result.stderr).toContain('encrypt-secret');
    });
  });
});
