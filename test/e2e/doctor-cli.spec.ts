import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
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
      expect(result.stdout).toContain(`Checking smtp://${USER}:***@localhost:${server.port} (STARTTLS)`);
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

  describe('help and version (issue 25)', () => {
    const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

    it.each([['--help'], ['-h'], ['help']])('%s prints the whole usage on stdout and exits 0', async (flag) => {
      const result = await cli([flag]);

      expect(result.code).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain('Usage:');
      expect(result.stdout).toContain('doctor --url');
      expect(result.stdout).toContain('encrypt-secret');
      expect(result.stdout).toContain('check-templates');
      expect(result.stdout).not.toContain('Unknown');
    });

    it.each([
      ['doctor', '--help'],
      ['doctor', '-h'],
      ['check-templates', '--help'],
      ['check-templates', '-h'],
    ])('%s %s prints that command\'s usage and exits 0, running nothing', async (command, flag) => {
      const result = await cli([command, flag]);

      expect(result.code).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain('Usage:');
      expect(result.stdout).toContain(`nestjs-email-workflow ${command}`);
      // Only that command's usage, not the others'.
      expect(result.stdout).not.toContain(command === 'doctor' ? 'check-templates' : 'doctor --url');
      expect(result.stdout).not.toContain('Unknown option');
    });

    it('help doctor prints the doctor usage, help frobnicate is a usage error', async () => {
      const known = await cli(['help', 'doctor']);
      expect(known.code).toBe(0);
      expect(known.stdout).toContain('nestjs-email-workflow doctor --url');

      const unknown = await cli(['help', 'frobnicate']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('Unknown command "frobnicate".');
    });

    it('--version prints the version of package.json and exits 0', async () => {
      const result = await cli(['--version']);

      expect(result.code).toBe(0);
      expect(result.stdout.trim()).toBe(VERSION);
    });

    it('without a terminal, the password prompt names SMTP_PASSWORD', async () => {
      const result = await cli(['doctor', '--url', 'smtp://ada@127.0.0.1:1']);

      expect(result.code).toBe(2);
      expect(result.stderr).toContain('There is no terminal to ask on; set SMTP_PASSWORD in the environment instead.');
    });
  });

  describe('redaction by value touches what the server said, never the CLI\'s own words (issue 25)', () => {
    /** A server that refuses every login with a reply that echoes the password it was sent. */
    let echoing: SMTPServer;
    let port: number;

    beforeAll(async () => {
      echoing = new SMTPServer({
        allowInsecureAuth: true,
        logger: false,
        disabledCommands: ['STARTTLS'],
        onAuth: (auth, _session, callback) =>
          callback(Object.assign(new Error(`Wrong secret ${auth.password ?? ''} for this account`), { responseCode: 535 })),
      });
      echoing.on('error', () => undefined);
      await new Promise<void>((resolve) => echoing.listen(0, '127.0.0.1', resolve));
      port = (echoing.server.address() as AddressInfo).port;
    });

    afterAll(async () => {
      await new Promise<void>((resolve) => echoing.close(() => resolve()));
    });

    it.each(['p', 'host'])('with the password "%s" in --url, the fix for a closed port stays intact', async (pass) => {
      const result = await cli(['doctor', '--url', `smtp://u:${pass}@127.0.0.1:1`]);

      expect(result.code).toBe(1);
      expect(result.stdout).toContain('Checking smtp://u:***@127.0.0.1:1 (STARTTLS if offered)');
      expect(result.stdout).toContain('127.0.0.1 is an IP address');
      expect(result.stdout).toContain('The connection to 127.0.0.1:1 failed (ECONNREFUSED)');
      expect(result.stdout).toContain('Fix: Nothing listens on port 1 there: check the host and port in --url (465 for implicit TLS, 587 for STARTTLS).');
      expect(result.stdout).not.toContain('[redacted]');
    });

    it('with the one-letter password "p", the server\'s echo of it is redacted and the fix text is not', async () => {
      const result = await cli(['doctor', '--url', `smtp://u:p@127.0.0.1:${port}?security=none`]);

      expect(result.code).toBe(1);
      expect(result.stdout).toContain('Wrong secret [redacted] for this account');
      expect(result.stdout).not.toContain('Wrong secret p ');
      expect(result.stdout).toContain(
        'Fix: Check the user in --url and the password in SMTP_PASSWORD; some providers (Gmail, Outlook with 2-step verification) require an app password.',
      );
      expect(result.stdout).not.toMatch(/\[redacted\](?!\s+for this account)/);
    });

    it('with the password "host", the host being diagnosed is shown and the server\'s echo is redacted', async () => {
      const result = await cli(['doctor', '--url', `smtp://u@localhost:${port}?security=none`], { SMTP_PASSWORD: 'host' });

      expect(result.code).toBe(1);
      expect(result.stdout).toContain(`Checking smtp://u:***@localhost:${port} (no TLS)`);
      expect(result.stdout).toMatch(/localhost resolves to /);
      expect(result.stdout).toContain('Wrong secret [redacted] for this account');
      expect(result.stdout).not.toContain('Wrong secret host');
      expect(result.stdout).toContain('Fix: Check the user in --url and the password in SMTP_PASSWORD');
    });
  });
});
