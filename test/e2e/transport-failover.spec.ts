import { Test } from '@nestjs/testing';
import {
  EmailDeliveryError,
  EmailDeliveryLog,
  EmailEvent,
  EmailEventSubscriptions,
  EmailWorkflowModule,
  EmailWorkflowModuleOptions,
  EmailWorkflowService,
  MailTransport,
  MailTransportJob,
  TransportCheck,
  TransportOption,
} from 'nestjs-email-workflow';
import { generateKeyPairSync } from 'node:crypto';
import * as nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import { CapturingLogger } from '../support/capturing-logger';
import { freePort } from '../support/free-port';
import { RecordedMetrics } from '../support/metric-reader';
import { invalidOptionsError, localOptions } from '../support/module-options';
import { SmtpSink, smtpReply } from '../support/smtp-sink';
import { until, untilQueueIdle } from '../support/wait';
import { EventLog } from '../support/workflow';

const PROBE_INTERVAL = 200;
const EMAILS = 6;
const CREDENTIALS = { user: 'mailer', pass: 'right-password' };

/** A plaintext transport to a loopback port, one connection per email. */
const plain = (port: number, auth?: { user: string; pass: string }): TransportOption => ({ host: '127.0.0.1', port, security: 'none', pool: false, auth });

/** An app's own transport: keeps what it is given, answers like a provider's API. */
class RecordingTransport implements MailTransport {
  readonly description = 'recording-api';
  readonly deliveries: Array<{ message: Mail.Options; job: MailTransportJob }> = [];
  verified = 0;

  async deliver(message: Mail.Options, job: MailTransportJob) {
    this.deliveries.push({ message, job });
    return { messageId: message.messageId as string, accepted: [job.to.address], rejected: [], response: `250 Ok api-${this.deliveries.length}` };
  }

  async verify(): Promise<TransportCheck> {
    this.verified += 1;
    return { ok: true };
  }

  close(): void {}
}

interface Booted {
  emails: EmailWorkflowService;
  events: EventLog;
  logger: CapturingLogger;
  log: EmailDeliveryLog;
}

describe('transport failover and an app’s own transport', () => {
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function sink(options: Parameters<typeof SmtpSink.start>[0] = {}): Promise<SmtpSink> {
    const started = await SmtpSink.start(options);
    cleanups.push(() => started.close());
    return started;
  }

  async function boot(transport: EmailWorkflowModuleOptions['transport'], overrides: Partial<EmailWorkflowModuleOptions> = {}): Promise<Booted> {
    const logger = new CapturingLogger();
    const queue = { redis: false, probeInterval: PROBE_INTERVAL, backoff: { delay: 20, maxDelay: 100 } } as const;
    const moduleRef = await Test.createTestingModule({
      imports: [EmailWorkflowModule.forRoot(localOptions(0, { transport, queue, ...overrides }))],
    })
      .setLogger(logger)
      .compile();
    const events = new EventLog(moduleRef.get(EmailEventSubscriptions));
    await moduleRef.init();
    cleanups.push(() => moduleRef.close());
    return { emails: moduleRef.get(EmailWorkflowService), events, logger, log: moduleRef.get(EmailDeliveryLog) };
  }

  async function sendMany({ emails }: Booted, count: number, prefix: string): Promise<string[]> {
    const sent = await Promise.all(Array.from({ length: count }, (_, i) => emails.send({ template: 'test-email', to: `${prefix}${i}@example.test` })));
    return sent.map(({ messageId }) => messageId as string);
  }

  describe.each([
    ['refuses connections (a closed port)', async () => ({ transport: plain(await freePort()), received: () => 0 })],
    [
      'refuses the login (535)',
      async () => {
        const primary = await sink({ credentials: CREDENTIALS });
        return { transport: plain(primary.port, { user: CREDENTIALS.user, pass: 'wrong-password' }), received: () => primary.messages.length };
      },
    ],
  ])('the first transport %s', (_what, primaryOf) => {
    it('every email is sent by the second, each exactly once, and the event and the log name it', async () => {
      const primary = await primaryOf();
      const secondary = await sink();
      const workflow = await boot([primary.transport, plain(secondary.port)]);
      const ids = await sendMany(workflow, EMAILS, 'user');

      await secondary.waitForMessages(EMAILS);
      await untilQueueIdle(workflow.emails);
      const counts = secondary.countByMessageId();
      expect([...counts.keys()].sort()).toEqual([...ids].sort());
      expect([...counts.values()].every((count) => count === 1)).toBe(true);
      expect(primary.received()).toBe(0);

      const sent = workflow.events.seen[EmailEvent.Sent];
      expect(sent.map((event) => event.messageId).sort()).toEqual([...ids].sort());
      expect(sent.every((event) => event.transportIndex === 1 && event.transport === `smtp://127.0.0.1:${secondary.port} (no TLS)`)).toBe(true);
      // A failover is not a failure of the email: no retry spent, nothing failed, no pause.
      expect(workflow.events.seen[EmailEvent.Failed]).toEqual([]);
      expect(workflow.events.seen[EmailEvent.Retrying]).toEqual([]);
      expect(workflow.events.seen[EmailEvent.DeliveryPaused]).toEqual([]);
      expect(sent.every((event) => event.attempt === 1)).toBe(true);

      await until(async () => (await workflow.log.get(ids[0]))?.status === 'sent', 'the first email sent in the log');
      const step = (await workflow.log.get(ids[0]))!.steps.find((entry) => entry.event === 'sent');
      expect(step).toMatchObject({ transportIndex: 1, transport: `smtp://127.0.0.1:${secondary.port} (no TLS)` });
      // Logged once per transport taken out, not once per email; no password in it.
      const outs = workflow.logger.warnings().filter((line) => line.startsWith('Transport 0 '));
      expect(outs).toHaveLength(1);
      expect(outs[0]).not.toContain('wrong-password');
    });
  });

  it('takes the first transport back within one probe once it answers', async () => {
    const port = await freePort();
    const secondary = await sink();
    const metrics = new RecordedMetrics();
    const workflow = await boot([plain(port), plain(secondary.port)], { metrics: { meterProvider: metrics.provider } });
    const [before] = await sendMany(workflow, 1, 'before');
    await secondary.mailWithId(before);

    const primary = await sink({ port });
    const back = Date.now();
    const answered = () => workflow.logger.entries.some((entry) => entry.message.startsWith('Transport 0 ') && entry.message.includes('answers again'));
    await until(answered, 'the first transport taken back', PROBE_INTERVAL * 5);
    // Up to one probe interval after it came back, plus the probe's own connection.
    expect(Date.now() - back).toBeLessThan(PROBE_INTERVAL * 2 + 200);

    const after = await sendMany(workflow, 3, 'after');
    await primary.waitForMessages(3);
    await untilQueueIdle(workflow.emails);
    expect(primary.messages.map((mail) => mail.messageId).sort()).toEqual([...after].sort());
    expect(secondary.messages.map((mail) => mail.messageId)).toEqual([before]);
    const sentAfter = workflow.events.seen[EmailEvent.Sent].filter((event) => after.includes(event.messageId));
    expect(sentAfter.map((event) => event.transportIndex)).toEqual([0, 0, 0]);
    // Counted by the transport's place in the list.
    expect(await metrics.sums('email_workflow.emails.sent')).toEqual({ 'template=test-email,transport=0': 3, 'template=test-email,transport=1': 1 });
  });

  it('pauses an app’s own transport on a configuration failure and resumes when its verify() answers', async () => {
    class FlakyTransport extends RecordingTransport {
      broken = true;
      override async deliver(message: Mail.Options, job: MailTransportJob) {
        if (this.broken) throw new EmailDeliveryError({ kind: 'configuration', reason: 'API key refused' });
        return super.deliver(message, job);
      }
      override async verify(): Promise<TransportCheck> {
        this.verified += 1;
        return this.broken ? { ok: false, reason: 'API key refused' } : { ok: true };
      }
    }
    const flaky = new FlakyTransport();
    const workflow = await boot({ use: flaky });
    const [id] = await sendMany(workflow, 1, 'held');
    const [paused] = await workflow.events.waitFor(EmailEvent.DeliveryPaused, 1, 5_000);
    expect(paused.reason).toContain('API key refused');
    await until(() => flaky.verified >= 1, 'a probe of the paused transport', PROBE_INTERVAL * 5);
    expect(flaky.deliveries).toEqual([]);

    flaky.broken = false;
    await workflow.events.waitFor(EmailEvent.DeliveryResumed, 1, PROBE_INTERVAL * 5);
    const [sent] = await workflow.events.waitFor(EmailEvent.Sent, 1, 5_000);
    expect(sent).toMatchObject({ messageId: id, transport: 'recording-api', attempt: 1 });
    expect(flaky.deliveries.map(({ job }) => job.messageId)).toEqual([id]);
    expect(workflow.events.seen[EmailEvent.Failed]).toEqual([]);
  });

  it('does not fail over a 550 about the message: the email fails, nothing reaches the second transport', async () => {
    const primary = await sink({
      onRcptTo: (address, _session, callback) => callback(address.address.startsWith('nobody') ? smtpReply(550, '5.1.1 No such user') : null),
    });
    const secondary = await sink();
    const workflow = await boot([plain(primary.port), plain(secondary.port)]);
    const [id] = await sendMany(workflow, 1, 'nobody');

    const [failed] = await workflow.events.waitFor(EmailEvent.Failed, 1, 5_000);
    await untilQueueIdle(workflow.emails);
    expect(failed).toMatchObject({ messageId: id, kind: 'permanent', responseCode: 550 });
    expect(secondary.messages).toEqual([]);
    expect(workflow.events.seen[EmailEvent.Sent]).toEqual([]);
    expect(workflow.logger.warnings().filter((line) => line.startsWith('Transport 0 '))).toEqual([]);

    // The first transport was not taken out: the next email goes through it.
    const [good] = await sendMany(workflow, 1, 'someone');
    await primary.mailWithId(good, 5_000);
    await untilQueueIdle(workflow.emails);
    expect(workflow.events.seen[EmailEvent.Sent]).toMatchObject([{ messageId: good, transportIndex: 0 }]);
    expect(secondary.messages).toEqual([]);
  });

  it('hands an app’s own transport the message with its job; its receipt lands in email.sent and the log', async () => {
    const custom = new RecordingTransport();
    const workflow = await boot({ use: custom });
    const { messageId } = await workflow.emails.send({ template: 'test-email', to: 'ada@example.test' });

    const [sent] = await workflow.events.waitFor(EmailEvent.Sent, 1, 5_000);
    expect(custom.deliveries).toHaveLength(1);
    const [{ message, job }] = custom.deliveries;
    expect(job).toMatchObject({ template: 'test-email', to: { address: 'ada@example.test' }, messageId, attempt: 1, id: expect.any(String) });
    expect(message.messageId).toBe(messageId);
    expect(message.to).toBeDefined();
    expect(sent).toMatchObject({ messageId, response: '250 Ok api-1', transport: 'recording-api', accepted: ['ada@example.test'] });
    expect(sent.transportIndex).toBeUndefined();

    await until(async () => (await workflow.log.get(messageId as string))?.status === 'sent', 'the email sent in the log');
    const step = (await workflow.log.get(messageId as string))!.steps.find((entry) => entry.event === 'sent');
    expect(step).toMatchObject({ reply: '250 Ok api-1', transport: 'recording-api' });

    const diagnosis = await workflow.emails.diagnoseTransport();
    expect(diagnosis).toMatchObject({ ok: true, transport: 'recording-api', steps: [{ step: 'verify', ok: true }] });
    expect(custom.verified).toBe(1);
  });

  it('hands an app’s own transport the module’s DKIM settings with the message, so nodemailer-built MIME is signed', async () => {
    const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const custom = new RecordingTransport();
    const workflow = await boot({ use: custom }, { dkim: { domainName: 'acme.test', keySelector: 'mail2026', privateKey } });
    await workflow.emails.send({ template: 'test-email', to: 'ada@example.test' });
    await workflow.events.waitFor(EmailEvent.Sent, 1, 5_000);

    const [{ message }] = custom.deliveries;
    expect(message.dkim).toMatchObject({ domainName: 'acme.test', keySelector: 'mail2026' });
    const built = await nodemailer.createTransport({ streamTransport: true, buffer: true }).sendMail(message);
    expect((built.message as Buffer).toString()).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=acme\.test;[^]*s=mail2026;/m);
  });

  it('fails over from SMTP to an app’s own transport, and diagnoses a list member by member', async () => {
    const custom = new RecordingTransport();
    const port = await freePort();
    const workflow = await boot([plain(port), { use: custom }]);
    const ids = await sendMany(workflow, 3, 'mixed');
    await workflow.events.waitFor(EmailEvent.Sent, 3, 5_000);
    expect(custom.deliveries.map(({ job }) => job.messageId).sort()).toEqual([...ids].sort());
    expect(workflow.events.seen[EmailEvent.Sent].every((event) => event.transportIndex === 1 && event.transport === 'recording-api')).toBe(true);

    const diagnosis = await workflow.emails.diagnoseTransport();
    expect(diagnosis.ok).toBe(true);
    expect(diagnosis.members).toHaveLength(2);
    expect(diagnosis.members![0]).toMatchObject({ ok: false, failure: { code: 'CONNECTION_REFUSED' } });
    expect(diagnosis.members![1]).toMatchObject({ ok: true, transport: 'recording-api' });

    // A test email goes out once, through the first transport that takes it.
    const test = await workflow.emails.sendTestEmail('ops@example.test');
    expect(test.ok).toBe(true);
    expect(test.members!.map((member) => member.ok)).toEqual([false, true]);
    expect(test.steps).toMatchObject([{ step: 'send', ok: true }]);
    expect(custom.deliveries.filter(({ job }) => job.template === 'test-email' && job.to.address === 'ops@example.test')).toHaveLength(1);
  });

  it('pauses when every transport of the list fails, and resumes when one answers', async () => {
    const [first, second] = [await freePort(), await freePort()];
    const workflow = await boot([plain(first), plain(second)]);
    const [id] = await sendMany(workflow, 1, 'held');
    await workflow.events.waitFor(EmailEvent.DeliveryPaused, 1, 5_000);
    expect(workflow.events.seen[EmailEvent.Failed]).toEqual([]);

    const backup = await sink({ port: second });
    await backup.mailWithId(id, PROBE_INTERVAL * 10);
    await workflow.events.waitFor(EmailEvent.DeliveryResumed, 1, 5_000);
    expect(workflow.events.seen[EmailEvent.Sent]).toMatchObject([{ messageId: id, transportIndex: 1 }]);
  });

  it('refuses at boot an app transport without verify, and an empty list', async () => {
    const incomplete = { deliver: async () => ({ messageId: '', accepted: [], rejected: [] }), close: () => undefined } as unknown as MailTransport;
    const error = await invalidOptionsError(localOptions(0, { transport: [plain(2525), { use: incomplete }] }));
    expect(error.problems).toEqual([expect.objectContaining({ path: 'transport[1].use', problem: 'has no method verify' })]);
    const empty = await invalidOptionsError(localOptions(0, { transport: [] }));
    expect(empty.problems).toEqual([expect.objectContaining({ path: 'transport', problem: 'is an empty list' })]);
  });
});
