import {
  DeliveryPausedEvent,
  EmailEvent,
  EmailEventSubscriptions,
  EmailWorkflowService,
  SmtpTransportOptions,
} from 'nestjs-email-workflow';
import { SMTPServerSession } from 'smtp-server';
import { TestBed } from '../support/test-bed';
import { SmtpSink, SmtpSinkOptions, TEST_CA, trustedStartTls } from '../support/smtp-sink';

const SUBJECT = 'Test email from Acme';
const USER = 'ada';
const PASSWORD = 'Pl41ntextN3ver';

/** A sink that also records, for every MAIL FROM, whether the session was encrypted at that point. */
async function startSink(options: SmtpSinkOptions = {}): Promise<{ sink: SmtpSink; mailFromSecure: boolean[] }> {
  const mailFromSecure: boolean[] = [];
  const sink = await SmtpSink.start({
    ...options,
    onMailFrom: (_address, session: SMTPServerSession, callback) => {
      mailFromSecure.push(session.secure);
      callback();
    },
  });
  return { sink, mailFromSecure };
}

describe('TLS to a real SMTP server', () => {
  const bed = new TestBed();
  const eventsOf = new WeakMap<EmailWorkflowService, EmailEventSubscriptions>();

  async function boot(transport: SmtpTransportOptions): Promise<EmailWorkflowService> {
    const moduleRef = await bed.boot(transport);
    const emails = moduleRef.get(EmailWorkflowService);
    eventsOf.set(emails, moduleRef.get(EmailEventSubscriptions));
    return emails;
  }

  async function sink(options: SmtpSinkOptions = {}): Promise<{ sink: SmtpSink; mailFromSecure: boolean[] }> {
    const started = await startSink(options);
    bed.track(started.sink);
    return started;
  }

  /** A TLS failure is a configuration failure: delivery pauses and the diagnosis is reported once, as an event and a log line. */
  async function sendFailure(emails: EmailWorkflowService): Promise<{ message: string }> {
    const events = eventsOf.get(emails) as EmailEventSubscriptions;
    const paused = new Promise<DeliveryPausedEvent>((resolve) => {
      const unsubscribe = events.on(EmailEvent.DeliveryPaused, (event) => {
        unsubscribe();
        resolve(event);
      });
    });
    await emails.send({ template: 'test-email', to: 'ada@example.test' });
    const event = await paused;
    expect(bed.logger.entries).toContainEqual(expect.objectContaining({ level: 'error', message: expect.stringContaining(`paused: ${event.reason}.`) }));
    return { message: event.reason };
  }

  afterAll(async () => {
    await bed.close();
  });

  describe('implicit TLS (security "tls")', () => {
    it.each(['localhost', '127.0.0.1'])('delivers to %s when the test CA is trusted via tls.ca', async (host) => {
      const { sink: server, mailFromSecure } = await sink({ secure: true });
      const emails = await boot({ host, port: server.port, security: 'tls', tls: { ca: TEST_CA }, pool: false });

      const result = await emails.send({ template: 'test-email', to: 'ada@example.test' });
      const [mail] = await server.waitForMessages(1);

      expect(mail.subject).toBe(SUBJECT);
      expect(mail.messageId).toBe(result.messageId);
      expect(mailFromSecure).toEqual([true]);
    });

    it('delivers over a pooled connection too (the default)', async () => {
      const { sink: server, mailFromSecure } = await sink({ secure: true });
      const emails = await boot({ host: 'localhost', port: server.port, security: 'tls', tls: { ca: TEST_CA } });

      await emails.send({ template: 'test-email', to: 'ada@example.test' });
      await emails.send({ template: 'test-email', to: 'bob@example.test' });
      const mails = await server.waitForMessages(2);

      expect(mails.map((m) => m.subject)).toEqual([SUBJECT, SUBJECT]);
      expect(mailFromSecure).toEqual([true, true]);
    });

    it('refuses a server certificate signed by an untrusted CA, pointing at tls.ca', async () => {
      const { sink: server, mailFromSecure } = await sink({ secure: true });
      const emails = await boot({ host: 'localhost', port: server.port, security: 'tls', pool: false });

      const error = await sendFailure(emails);

      expect(error.message).toMatch(/certificate is not trusted/i);
      expect(error.message).toContain('tls.ca');
      expect(server.messages).toHaveLength(0);
      expect(mailFromSecure).toHaveLength(0);
    });

    it('refuses a trusted certificate issued for another name, pointing at tls.servername', async () => {
      const { sink: server } = await sink({ secure: true });
      const emails = await boot({
        host: 'localhost',
        port: server.port,
        security: 'tls',
        tls: { ca: TEST_CA, servername: 'smtp.example.test' },
        pool: false,
      });

      const error = await sendFailure(emails);

      expect(error.message).toMatch(/certificate/i);
      expect(error.message).toContain('tls.servername');
      expect(server.messages).toHaveLength(0);
    });
  });

  describe('a plaintext client against an implicit-TLS port (issue 25)', () => {
    it.each(['none', 'starttls'] as const)(
      'security "%s": the pause reason and its log line name TLS (security "tls"), as the diagnosis does',
      async (security) => {
        const { sink: server } = await sink({ secure: true });
        const emails = await boot({ host: '127.0.0.1', port: server.port, security, greetingTimeout: 300, pool: false });
        const events = eventsOf.get(emails) as EmailEventSubscriptions;
        let unsubscribe = () => undefined as void;
        let timer: NodeJS.Timeout | undefined;
        const paused = new Promise<DeliveryPausedEvent>((resolve, reject) => {
          unsubscribe = events.on(EmailEvent.DeliveryPaused, resolve);
          timer = setTimeout(() => reject(new Error('no email.delivery-paused within 10 s')), 10_000);
        });

        try {
          await emails.send({ template: 'test-email', to: 'ada@example.test' });
          const { reason } = await paused;
          const diagnosis = await emails.diagnoseTransport();

          expect(reason).toContain('no greeting');
          expect(reason).toContain('The server probably expects TLS from the first byte: use security "tls"');
          // One source: the pause reason carries the hint the diagnosis gives.
          expect(diagnosis.failure?.code).toBe('GREETING_TIMEOUT');
          expect(reason).toContain(diagnosis.failure?.hint.replace(/\.$/, ''));
          expect(bed.logger.entries).toContainEqual(
            expect.objectContaining({ level: 'error', message: expect.stringContaining(`paused: ${reason}.`) }),
          );
          expect(server.messages).toHaveLength(0);
        } finally {
          clearTimeout(timer);
          unsubscribe();
        }
      },
    );
  });

  describe('STARTTLS (security "starttls")', () => {
    it('upgrades, then delivers, when the test CA is trusted via tls.ca', async () => {
      const { sink: server, mailFromSecure } = await sink();
      const emails = await boot(trustedStartTls(server.port));

      const result = await emails.send({ template: 'test-email', to: 'ada@example.test' });
      const [mail] = await server.waitForMessages(1);

      expect(mail.subject).toBe(SUBJECT);
      expect(mail.messageId).toBe(result.messageId);
      // The envelope was sent after the upgrade, not in plaintext.
      expect(mailFromSecure).toEqual([true]);
    });

    it('refuses a server certificate signed by an untrusted CA, pointing at tls.ca', async () => {
      const { sink: server, mailFromSecure } = await sink();
      const emails = await boot({ host: 'localhost', port: server.port, security: 'starttls', pool: false });

      const error = await sendFailure(emails);

      expect(server.messages).toHaveLength(0);
      expect(mailFromSecure).toHaveLength(0);
      // The cause is the certificate, not a server lacking STARTTLS: the message must say so.
      expect(error.message).toMatch(/certificate is not trusted/i);
      expect(error.message).toContain('tls.ca');
      expect(error.message).not.toMatch(/use a server that offers STARTTLS/i);
    });

    it('fails closed when the server does not offer STARTTLS: no AUTH, no message in plaintext', async () => {
      // hideSTARTTLS alone only stops advertising it; smtp-server would still honour the command.
      // Disabling the command makes the server genuinely unable to upgrade.
      const { sink: server, mailFromSecure } = await sink({
        hideSTARTTLS: true,
        disabledCommands: ['STARTTLS'],
        credentials: { user: USER, pass: PASSWORD },
      });
      const emails = await boot(trustedStartTls(server.port, { user: USER, pass: PASSWORD }));

      const error = await sendFailure(emails);

      expect(error.message).toMatch(/STARTTLS|TLS upgrade/);
      expect(error.message).toMatch(/nothing was sent in plaintext/i);
      expect(error.message).not.toContain(PASSWORD);
      expect(server.authAttempts).toEqual([]);
      expect(mailFromSecure).toEqual([]);
      expect(server.messages).toHaveLength(0);
    });

    it('still upgrades when the server accepts STARTTLS without advertising it, before AUTH and MAIL', async () => {
      const { sink: server, mailFromSecure } = await sink({ hideSTARTTLS: true, credentials: { user: USER, pass: PASSWORD } });
      const emails = await boot(trustedStartTls(server.port, { user: USER, pass: PASSWORD }));

      await emails.send({ template: 'test-email', to: 'ada@example.test' });
      const [mail] = await server.waitForMessages(1);

      expect(mail.subject).toBe(SUBJECT);
      expect(server.authAttempts).toEqual([USER]);
      expect(mailFromSecure).toEqual([true]);
    });

    it('control: a server without STARTTLS does accept AUTH and mail in plaintext when security is "none"', async () => {
      // Proves the fail-closed test above would notice plaintext AUTH/delivery if the library allowed it.
      const { sink: server, mailFromSecure } = await sink({
        hideSTARTTLS: true,
        disabledCommands: ['STARTTLS'],
        credentials: { user: USER, pass: PASSWORD },
      });
      const emails = await boot({
        host: 'localhost',
        port: server.port,
        security: 'none',
        auth: { user: USER, pass: PASSWORD },
        pool: false,
      });

      await emails.send({ template: 'test-email', to: 'ada@example.test' });
      const [mail] = await server.waitForMessages(1);

      expect(mail.subject).toBe(SUBJECT);
      expect(server.authAttempts).toEqual([USER]);
      expect(mailFromSecure).toEqual([false]);
    });
  });
});
