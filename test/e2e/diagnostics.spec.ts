import { AddressInfo, createServer, Socket } from 'node:net';
import {
  DiagnosisFailureCode,
  DiagnosisStepName,
  EmailWorkflowService,
  SmtpTransportOptions,
  TransportDiagnosis,
} from 'nestjs-email-workflow';
import { freePort } from '../support/free-port';
import { TestBed } from '../support/test-bed';
import { SmtpSink, SmtpSinkOptions, TEST_CA, trustedStartTls } from '../support/smtp-sink';

const SUBJECT = 'Test email from Acme';
const USER = 'ada';
const PASSWORD = 'S3cr3t-Doctor-Pa55';
const WRONG_PASSWORD = 'Wr0ng-Doctor-Pa55';
/** A label longer than the 63 octets DNS allows, under `.invalid` (RFC 6761): it can never resolve, and the
 *  resolver rejects it before sending any query, so the test needs no outside traffic. */
const UNRESOLVABLE_HOST = `smtp.${'x'.repeat(70)}.invalid`;

/** A loopback port with nothing listening on it (bound, then released). */
/** True when a TCP connection to 127.0.0.1:port is refused (nothing listens there). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
    socket.connect(port, '127.0.0.1');
  });
}

/** The diagnosis failed at `step` (its last step, marked ✗) with `code`; every earlier step passed. */
function expectFailedAt(diagnosis: TransportDiagnosis, step: DiagnosisStepName, code: DiagnosisFailureCode): void {
  expect(diagnosis.ok).toBe(false);
  const last = diagnosis.steps[diagnosis.steps.length - 1];
  expect(last).toMatchObject({ step, ok: false });
  expect(diagnosis.steps.slice(0, -1).every((s) => s.ok)).toBe(true);
  expect(diagnosis.failure?.code).toBe(code);
  expect(diagnosis.failure?.hint).toEqual(expect.any(String));
}

/** No step detail, failure message, hint or transport description reveals the secret. */
function expectNoSecret(diagnosis: TransportDiagnosis, secret: string): void {
  const texts = [
    diagnosis.transport,
    ...diagnosis.steps.map((s) => s.detail),
    diagnosis.failure?.message ?? '',
    diagnosis.failure?.hint ?? '',
  ];
  for (const text of texts) expect(text).not.toContain(secret);
  expect(JSON.stringify(diagnosis)).not.toContain(secret);
  expect(JSON.stringify(diagnosis)).not.toContain(Buffer.from(secret).toString('base64'));
}

describe('diagnoseTransport() / sendTestEmail() against real local servers', () => {
  const bed = new TestBed();

  async function boot(transport: SmtpTransportOptions): Promise<EmailWorkflowService> {
    return (await bed.boot(transport)).get(EmailWorkflowService);
  }

  const sink = (options: SmtpSinkOptions = {}): Promise<SmtpSink> => bed.sink(options);

  afterAll(async () => {
    await bed.close();
  });

  describe('a healthy server (STARTTLS, trusted CA, right password)', () => {
    let server: SmtpSink;
    let emails: EmailWorkflowService;

    beforeAll(async () => {
      server = await sink({ credentials: { user: USER, pass: PASSWORD } });
      emails = await boot(trustedStartTls(server.port, { user: USER, pass: PASSWORD }));
    });

    it('diagnoseTransport() passes every step up to MAIL FROM and sends nothing', async () => {
      const diagnosis = await emails.diagnoseTransport();

      expect(diagnosis.ok).toBe(true);
      expect(diagnosis.failure).toBeUndefined();
      expect(diagnosis.steps.map((s) => s.step)).toEqual(['dns', 'connect', 'greeting', 'tls', 'auth', 'mail-from']);
      expect(diagnosis.steps.every((s) => s.ok)).toBe(true);
      expect(diagnosis.steps.every((s) => typeof s.ms === 'number' && s.ms >= 0)).toBe(true);
      expect(diagnosis.steps.find((s) => s.step === 'tls')?.detail).toMatch(/STARTTLS/);
      expect(diagnosis.steps.find((s) => s.step === 'auth')?.detail).toContain(USER);
      expect(diagnosis.transport).toContain('localhost');
      expectNoSecret(diagnosis, PASSWORD);
      expect(server.authAttempts).toContain(USER);
      expect(server.messages).toHaveLength(0);
    });

    it('sendTestEmail(to) also passes RCPT and DATA, and the test email arrives', async () => {
      const before = server.messages.length;
      const diagnosis = await emails.sendTestEmail('grace@example.test');

      expect(diagnosis.ok).toBe(true);
      expect(diagnosis.failure).toBeUndefined();
      expect(diagnosis.steps.map((s) => s.step)).toEqual(['dns', 'connect', 'greeting', 'tls', 'auth', 'mail-from', 'rcpt', 'data']);
      expect(diagnosis.steps.every((s) => s.ok)).toBe(true);
      expectNoSecret(diagnosis, PASSWORD);

      const mails = await server.waitForMessages(before + 1);
      const mail = mails[mails.length - 1];
      expect(mail.subject).toBe(SUBJECT);
      expect(mail.to && !Array.isArray(mail.to) ? mail.to.text : '').toContain('grace@example.test');
      expect(mail.from?.text).toContain('no-reply@acme.test');
    });
  });

  describe('connection', () => {
    it('a port with nothing listening fails at "connect" with CONNECTION_REFUSED, hinting at the port', async () => {
      const port = await freePort();
      const emails = await boot({ host: '127.0.0.1', port, security: 'none', pool: false });

      const diagnosis = await emails.diagnoseTransport();

      expectFailedAt(diagnosis, 'connect', 'CONNECTION_REFUSED');
      expect(diagnosis.steps.map((s) => s.step)).toEqual(['dns', 'connect']);
      expect(diagnosis.failure?.message).toContain(`127.0.0.1:${port}`);
      expect(diagnosis.failure?.hint).toMatch(/port/i);
      expect(diagnosis.failure?.hint).toMatch(/587/);
      expect(diagnosis.failure?.hint).not.toMatch(/Port 25 is often blocked/);
    });

    it('refused port 25 fails at "connect" with CONNECTION_REFUSED, and the hint suggests 587 with STARTTLS', async () => {
      // Nothing listens on 127.0.0.1:25 here; the assertion below makes the test fail loudly (not pass
      // vacuously) if that ever changes.
      expect(await refused(25)).toBe(true);
      const emails = await boot({ host: '127.0.0.1', port: 25, security: 'none', pool: false });

      const diagnosis = await emails.diagnoseTransport();

      expectFailedAt(diagnosis, 'connect', 'CONNECTION_REFUSED');
      expect(diagnosis.failure?.hint).toMatch(/Port 25 is often blocked/);
      expect(diagnosis.failure?.hint).toMatch(/587/);
      expect(diagnosis.failure?.hint).toMatch(/starttls/);
    });
  });

  describe('DNS', () => {
    it('an unresolvable host name fails at "dns" with DNS_FAILED, before any connection', async () => {
      const emails = await boot({ host: UNRESOLVABLE_HOST, port: 587, security: 'starttls', pool: false });

      const diagnosis = await emails.diagnoseTransport();

      expectFailedAt(diagnosis, 'dns', 'DNS_FAILED');
      expect(diagnosis.steps).toHaveLength(1);
      expect(diagnosis.failure?.message).toContain(UNRESOLVABLE_HOST);
      expect(diagnosis.failure?.hint).toMatch(/transport\.host/);
    });
  });

  describe('TLS', () => {
    it('security "none" against an implicit-TLS server fails at "greeting" with GREETING_TIMEOUT, hinting at security "tls"', async () => {
      const server = await sink({ secure: true });
      const emails = await boot({ host: '127.0.0.1', port: server.port, security: 'none', greetingTimeout: 500, pool: false });

      const started = Date.now();
      const diagnosis = await emails.diagnoseTransport();

      expectFailedAt(diagnosis, 'greeting', 'GREETING_TIMEOUT');
      expect(diagnosis.steps.map((s) => s.step)).toEqual(['dns', 'connect', 'greeting']);
      expect(diagnosis.failure?.message).toContain('500 ms');
      expect(diagnosis.failure?.hint).toContain('security "tls"');
      // It gave up after the short greetingTimeout, not a default 10 s one.
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('security "tls" against a plaintext port fails at "tls" with TLS_MISMATCH, hinting at starttls', async () => {
      const server = await sink();
      const emails = await boot({ host: 'localhost', port: server.port, security: 'tls', tls: { ca: TEST_CA }, pool: false });

      const diagnosis = await emails.diagnoseTransport();

      expectFailedAt(diagnosis, 'tls', 'TLS_MISMATCH');
      expect(diagnosis.steps.map((s) => s.step)).toEqual(['dns', 'connect', 'tls']);
      expect(diagnosis.failure?.hint).toContain('starttls');
      expect(diagnosis.failure?.hint).toMatch(/465/);
      expect(server.messages).toHaveLength(0);
    });

    it('an untrusted (test-CA-signed) certificate fails at "tls" with CERTIFICATE_UNTRUSTED, pointing at tls.ca', async () => {
      const server = await sink({ secure: true });
      const emails = await boot({ host: 'localhost', port: server.port, security: 'tls', pool: false });

      const diagnosis = await emails.diagnoseTransport();

      expectFailedAt(diagnosis, 'tls', 'CERTIFICATE_UNTRUSTED');
      expect(diagnosis.failure?.message).toMatch(/not trusted/i);
      expect(diagnosis.failure?.hint).toContain('tls.ca');
      expect(diagnosis.failure?.hint).toMatch(/do not turn certificate checks off/i);
      expect(diagnosis.failure?.hint).not.toMatch(/rejectUnauthorized:\s*false/);
    });

    it('an untrusted certificate over STARTTLS also fails at "tls" with CERTIFICATE_UNTRUSTED, before AUTH', async () => {
      const server = await sink({ credentials: { user: USER, pass: PASSWORD } });
      const emails = await boot({ host: 'localhost', port: server.port, security: 'starttls', auth: { user: USER, pass: PASSWORD }, pool: false });

      const diagnosis = await emails.diagnoseTransport();

      expectFailedAt(diagnosis, 'tls', 'CERTIFICATE_UNTRUSTED');
      expect(diagnosis.steps.map((s) => s.step)).toEqual(['dns', 'connect', 'greeting', 'tls']);
      expect(diagnosis.failure?.hint).toContain('tls.ca');
      expect(server.authAttempts).toEqual([]);
      expectNoSecret(diagnosis, PASSWORD);
    });

    it('security "starttls" against a server without STARTTLS fails at "tls" with STARTTLS_UNAVAILABLE; no AUTH is sent', async () => {
      // hideSTARTTLS alone only stops advertising it; disabling the command makes the server unable to upgrade.
      const server = await sink({ disabledCommands: ['STARTTLS'], credentials: { user: USER, pass: PASSWORD } });
      const emails = await boot(trustedStartTls(server.port, { user: USER, pass: PASSWORD }));

      const diagnosis = await emails.diagnoseTransport();

      expectFailedAt(diagnosis, 'tls', 'STARTTLS_UNAVAILABLE');
      expect(diagnosis.steps.map((s) => s.step)).toEqual(['dns', 'connect', 'greeting', 'tls']);
      expect(diagnosis.failure?.hint).toMatch(/465/);
      expect(diagnosis.failure?.hint).toContain('security "tls"');
      expect(server.authAttempts).toEqual([]);
      expect(server.messages).toHaveLength(0);
      expectNoSecret(diagnosis, PASSWORD);
    });
  });

  describe('login and envelope', () => {
    it('a wrong password (535) fails at "auth" with AUTH_FAILED, mentioning app passwords; the password is never shown', async () => {
      const server = await sink({ credentials: { user: USER, pass: PASSWORD } });
      const emails = await boot(trustedStartTls(server.port, { user: USER, pass: WRONG_PASSWORD }));

      const diagnosis = await emails.diagnoseTransport();

      expectFailedAt(diagnosis, 'auth', 'AUTH_FAILED');
      expect(diagnosis.steps.map((s) => s.step)).toEqual(['dns', 'connect', 'greeting', 'tls', 'auth']);
      expect(diagnosis.failure?.responseCode).toBe(535);
      expect(diagnosis.failure?.hint).toMatch(/app password/i);
      expect(diagnosis.failure?.hint).toContain('transport.auth');
      expect(diagnosis.steps[diagnosis.steps.length - 1].detail).toContain('535');
      expect(server.authAttempts).toEqual([USER]);
      expectNoSecret(diagnosis, WRONG_PASSWORD);
      expectNoSecret(diagnosis, PASSWORD);
    });

    it('a wrong password over plaintext (security "none", insecure AUTH allowed) fails the same way', async () => {
      const server = await sink({ credentials: { user: USER, pass: PASSWORD }, allowInsecureAuth: true, disabledCommands: ['STARTTLS'] });
      const emails = await boot({ host: '127.0.0.1', port: server.port, security: 'none', auth: { user: USER, pass: WRONG_PASSWORD }, pool: false });

      const diagnosis = await emails.diagnoseTransport();

      expectFailedAt(diagnosis, 'auth', 'AUTH_FAILED');
      expect(diagnosis.failure?.responseCode).toBe(535);
      expect(diagnosis.failure?.hint).toMatch(/app password/i);
      expectNoSecret(diagnosis, WRONG_PASSWORD);
    });

    it('"550 5.7.1" at RCPT fails at "rcpt" with RELAY_DENIED and enhancedCode 5.7.1; nothing is delivered', async () => {
      const server = await sink({
        hideENHANCEDSTATUSCODES: true,
        onRcptTo: (_address, _session, callback) => callback(Object.assign(new Error('5.7.1 Relaying denied'), { responseCode: 550 })),
      });
      const emails = await boot({ host: '127.0.0.1', port: server.port, security: 'none', pool: false });

      const diagnosis = await emails.sendTestEmail('grace@elsewhere.test');

      expectFailedAt(diagnosis, 'rcpt', 'RELAY_DENIED');
      expect(diagnosis.steps.map((s) => s.step)).toEqual(['dns', 'connect', 'greeting', 'tls', 'mail-from', 'rcpt']);
      expect(diagnosis.failure?.responseCode).toBe(550);
      expect(diagnosis.failure?.enhancedCode).toBe('5.7.1');
      expect(diagnosis.failure?.hint).toMatch(/transport\.auth|sender/);
      expect(diagnosis.steps[diagnosis.steps.length - 1].detail).toContain('Relaying denied');
      expect(server.messages).toHaveLength(0);
    });
  });
  describe('hints name the module options (the CLI names its flags instead)', () => {
    it('an untrusted certificate points at transport.tls.ca, not at --ca', async () => {
      const server = await sink({ secure: true });
      const emails = await boot({ host: 'localhost', port: server.port, security: 'tls', pool: false });

      const diagnosis = await emails.diagnoseTransport();

      expectFailedAt(diagnosis, 'tls', 'CERTIFICATE_UNTRUSTED');
      expect(diagnosis.failure?.hint).toContain('transport.tls.ca');
      expect(diagnosis.failure?.hint).toContain('transport.tls.servername');
      expect(diagnosis.failure?.hint).not.toMatch(/--ca|--servername/);
    });

    it('TLS to a plaintext port (wrong port or security) names the security option, not --url', async () => {
      const server = await sink();
      const emails = await boot({ host: 'localhost', port: server.port, security: 'tls', tls: { ca: TEST_CA }, pool: false });

      const diagnosis = await emails.diagnoseTransport();

      expectFailedAt(diagnosis, 'tls', 'TLS_MISMATCH');
      expect(diagnosis.failure?.hint).toContain('security "starttls"');
      expect(diagnosis.failure?.hint).not.toMatch(/--url|\?security=/);
    });
  });

  describe('a server that drops the conversation', () => {
    it('returns a diagnosis (not an exception) when the server hangs up on EHLO', async () => {
      const server = createServer((socket) => {
        socket.write('220 flaky.test ESMTP\r\n');
        socket.once('data', () => socket.destroy());
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const emails = await boot({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, security: 'none', pool: false });
        const diagnosis = await emails.diagnoseTransport();
        expectFailedAt(diagnosis, 'greeting', 'CONNECTION_CLOSED');
        expect(diagnosis.failure?.hint).toMatch(/server/i);
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  });
});
