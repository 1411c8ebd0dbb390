import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import {
  EmailEvent,
  EmailEventSubscriptions,
  EmailQueueOptions,
  EmailTransportOption,
  EmailWorkflowModule,
  EmailWorkflowService,
} from 'nestjs-email-workflow';
import { CapturingLogger } from '../support/capturing-logger';
import { freePort } from '../support/free-port';
import { invalidOptionsError, localOptions } from '../support/module-options';
import { deleteKeys, REDIS_URL, TEST_SECRET, uniquePrefix } from '../support/redis';
import { inspectQueue, QUEUE_DRIVERS } from '../support/queue-drivers';
import { SmtpSink, smtpReply } from '../support/smtp-sink';
import { sleep, until, untilQueueIdle } from '../support/wait';
import { BootedWorkflow, bootOn, EventLog } from '../support/workflow';

const ATTEMPTS = 3;
const BACKOFF = { delay: 100, maxDelay: 200 };
/** The whole retry budget of an email: the longest waits between its three tries, 100 + 200 ms. */
const RETRY_BUDGET_MS = BACKOFF.delay + BACKOFF.maxDelay;
const PROBE_INTERVAL = 200;
const FAULT_QUEUE: Partial<EmailQueueOptions> = { attempts: ATTEMPTS, backoff: BACKOFF, probeInterval: PROBE_INTERVAL };

/** An app provider whose shutdown takes a while, as a web server draining its requests would. */
@Injectable()
class SlowShutdown implements BeforeApplicationShutdown {
  started = false;

  async beforeApplicationShutdown(): Promise<void> {
    this.started = true;
    await sleep(800);
  }
}

const errorLines = (logger: CapturingLogger) => logger.entries.filter((entry) => entry.level === 'error').map((entry) => entry.message);

/** How many times each Message-ID arrived, and whether that is exactly once for each of `messageIds`. */
function deliveredOnce(sink: SmtpSink, messageIds: string[]): boolean {
  const counts = sink.countByMessageId();
  return counts.size === messageIds.length && messageIds.every((id) => counts.get(id) === 1);
}

describe('delivery under SMTP faults', () => {
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function sinkOn(options: Parameters<typeof SmtpSink.start>[0] = {}): Promise<SmtpSink> {
    const sink = await SmtpSink.start(options);
    cleanups.push(() => sink.close());
    return sink;
  }

  function sendMany(emails: EmailWorkflowService, count: number, tenant?: string) {
    return Promise.all(Array.from({ length: count }, (_, i) => emails.send({ template: 'test-email', to: `user${i}@example.test`, tenant })));
  }

  describe.each(QUEUE_DRIVERS)('on the %s queue', (driver) => {
    const boot = bootOn(driver);

    /** A started module on a Redis queue under `prefix`; `close()` ends it early, otherwise it closes after the test. */
    async function redisWorkflow(
      smtpPort: number,
      queue: Partial<EmailQueueOptions>,
      overrides = {},
      prefix = uniquePrefix(),
    ): Promise<BootedWorkflow & { close: () => Promise<void> }> {
      const workflow = await boot(smtpPort, prefix, queue, overrides);
      let closing: Promise<void> | undefined;
      const close = () => (closing ??= workflow.moduleRef.close());
      cleanups.push(async () => {
        await close();
        await deleteKeys(prefix);
      });
      return { ...workflow, close };
    }
    describe('an outage pauses delivery instead of failing emails (Redis queue)', () => {
      it('SMTP down for 10× the whole retry budget: one pause, no attempt spent, every email delivered once when it is back', async () => {
        const port = await freePort();
        const { emails, events, logger } = await redisWorkflow(port, FAULT_QUEUE);
        const sent = await sendMany(emails, 20);

        const [paused] = await events.waitFor(EmailEvent.DeliveryPaused, 1);
        expect(paused).toMatchObject({ tenant: undefined, responseCode: undefined });
        expect(paused.reason).toMatch(/^The SMTP server is unreachable: it refused the connection \(ECONNREFUSED/);
        expect(paused.reason).not.toMatch(/password|transport\.auth/);
        // Proves an absence: ten times the whole retry budget with the server down, and no email fails or spends a try.
        await sleep(10 * RETRY_BUDGET_MS);
        expect(events.seen[EmailEvent.Failed]).toEqual([]);
        expect(events.seen[EmailEvent.Retrying]).toEqual([]);
        expect(events.seen[EmailEvent.Sent]).toEqual([]);
        expect(events.seen[EmailEvent.DeliveryPaused]).toHaveLength(1);
        const status = await emails.queueStatus();
        expect(status).toMatchObject({ paused: true, failed: 0, delayed: 0 });
        expect(status.waiting + status.active).toBe(20);
        expect(errorLines(logger)).toEqual([expect.stringMatching(/^Delivery paused: The SMTP server is unreachable: .*re-checked every 200 ms\.$/)]);

        const sink = await sinkOn({ port });
        await sink.waitForMessages(20, 15_000);
        await untilQueueIdle(emails);

        expect(deliveredOnce(sink, sent.map((result) => result.messageId))).toBe(true);
        expect(events.seen[EmailEvent.Sent].map((event) => event.attempt)).toEqual(Array(20).fill(1));
        expect(events.seen[EmailEvent.Failed]).toEqual([]);
        expect(events.seen[EmailEvent.Retrying]).toEqual([]);
        expect(events.seen[EmailEvent.DeliveryPaused]).toHaveLength(1);
        expect(events.seen[EmailEvent.DeliveryResumed]).toHaveLength(1);
        expect(await emails.queueStatus()).toMatchObject({ paused: false, failed: 0 });
      });

      it('a 452 to RCPT is about that one email: it still spends its tries and fails; the others go out and nothing pauses', async () => {
        let fullRefusals = 0;
        const sink = await sinkOn({
          hideENHANCEDSTATUSCODES: true,
          onRcptTo: (address, _session, callback) => {
            if (address.address !== 'full@example.test') return callback();
            fullRefusals++;
            callback(smtpReply(452, '4.2.2 Mailbox full'));
          },
        });
        const { emails, events } = await redisWorkflow(sink.port, FAULT_QUEUE);

        const full = await emails.send({ template: 'test-email', to: 'full@example.test' });
        const others = await sendMany(emails, 2);
        const [failed] = await events.waitFor(EmailEvent.Failed, 1);
        await untilQueueIdle(emails);

        expect(failed).toMatchObject({ messageId: full.messageId, kind: 'transient', attempt: ATTEMPTS, responseCode: 452, enhancedCode: '4.2.2' });
        expect(fullRefusals).toBe(ATTEMPTS);
        expect(events.seen[EmailEvent.Retrying].map((event) => [event.to, event.attempt])).toEqual([
          ['full@example.test', 1],
          ['full@example.test', 2],
        ]);
        expect(deliveredOnce(sink, others.map((result) => result.messageId))).toBe(true);
        expect(events.seen[EmailEvent.DeliveryPaused]).toEqual([]);
        expect(events.seen[EmailEvent.Failed]).toHaveLength(1);
      });

      it('queue.maxAge: an email not delivered within it of being queued fails with kind "expired", held or waiting', async () => {
        const MAX_AGE = 1_000;
        const port = await freePort();
        // One at a time: the first email expires while held at the paused delivery, the others when their turn comes.
        const { emails, events } = await redisWorkflow(port, { ...FAULT_QUEUE, concurrency: 1, maxAge: MAX_AGE });
        const queuedAt = Date.now();
        const sent = await sendMany(emails, 3);

        await events.waitFor(EmailEvent.DeliveryPaused, 1);
        const failed = await events.waitFor(EmailEvent.Failed, 3, 10_000);
        expect(Date.now() - queuedAt).toBeGreaterThanOrEqual(MAX_AGE);
        expect(failed.map((event) => event.messageId).sort()).toEqual(sent.map((result) => result.messageId).sort());
        for (const event of failed) {
          expect(event).toMatchObject({ kind: 'expired', attempt: 1, reason: 'Given up: not delivered within queue.maxAge (1 second) of being queued.' });
        }
        expect(events.seen[EmailEvent.Retrying]).toEqual([]);
        await untilQueueIdle(emails);
        expect(await emails.queueStatus()).toMatchObject({ failed: 3, paused: true });

        // The server comes back: delivery resumes, and nothing given up is sent after all.
        const sink = await sinkOn({ port });
        await events.waitFor(EmailEvent.DeliveryResumed, 1);
        await untilQueueIdle(emails);
        expect(sink.messages).toEqual([]);
        expect(events.seen[EmailEvent.Sent]).toEqual([]);
      });

      it('queue.maxAge must be a whole number of milliseconds of 1 or more', async () => {
        for (const maxAge of [0, 1.5, '3d' as unknown as number]) {
          const error = await invalidOptionsError(localOptions(2525, { queue: { redis: false, maxAge } }));
          expect(error.problems.map((problem) => problem.path)).toEqual(['queue.maxAge']);
        }
      });
    });

    it('redeploy after a 535 pause: close() hands the held emails back untried, and the new app sends each once within 5 s', async () => {
      const sink = await sinkOn({ credentials: { user: 'mailer', pass: 'new-password' } });
      const transport = (pass: string): EmailTransportOption => ({ host: '127.0.0.1', port: sink.port, security: 'none', pool: false, auth: { user: 'mailer', pass } });
      const prefix = uniquePrefix();
      // A slow probe, so that none is due while the app closes, even on a busy machine: any login after close()
      // began would be a new try.
      const queue: Partial<EmailQueueOptions> = { concurrency: 3, probeInterval: 3_000, shutdownTimeout: 3_000 };
      const old = await redisWorkflow(sink.port, queue, { transport: transport('old-password') }, prefix);
      const sent = await sendMany(old.emails, 6);
      await old.events.waitFor(EmailEvent.DeliveryPaused, 1);
      await until(async () => (await old.emails.queueStatus()).active === 3, 'three emails held at the paused delivery');
      const loginsAtPause = sink.logins.length;
      await until(() => sink.logins.length > loginsAtPause, 'a refused probe', 5_000);

      const closeBegan = Date.now();
      await old.close();
      const closeTookMs = Date.now() - closeBegan;

      expect(closeTookMs).toBeLessThan(1_000);
      expect(old.logger.warnings().join('\n')).not.toMatch(/did not finish in time/);
      expect(old.events.seen[EmailEvent.DeliveryPaused]).toHaveLength(1);
      expect(old.events.seen[EmailEvent.Sent]).toEqual([]);
      expect(old.events.seen[EmailEvent.Failed]).toEqual([]);
      expect(old.events.seen[EmailEvent.Retrying]).toEqual([]);
      // Every email waits in Redis, none left active (for the stalled-job check) and none with an attempt counted.
      const inspector = inspectQueue(driver, prefix);
      try {
        expect(await inspector.getJobCounts()).toMatchObject({ waiting: 6, active: 0, delayed: 0, failed: 0, completed: 0 });
        const waiting = await inspector.getWaiting();
        expect(waiting.map((job) => job.attemptsMade)).toEqual(Array(6).fill(0));
        // Handed back once each, the three held ones; the closing worker took none again (nor the other three).
        // Bull records the hand-back as a failure whose attempt it takes back; BullMQ moves the job back with none.
        const handBacks = driver === 'bull' ? [0, 0, 0, 1, 1, 1] : [0, 0, 0, 0, 0, 0];
        expect(waiting.map((job) => job.stacktrace.length).sort()).toEqual(handBacks);
      } finally {
        await inspector.close();
      }

      const redeployedAt = Date.now();
      const fixed = await redisWorkflow(sink.port, queue, { transport: transport('new-password') }, prefix);
      await sink.waitForMessages(6, 5_000);
      expect(Date.now() - redeployedAt).toBeLessThan(5_000);
      await untilQueueIdle(fixed.emails);

      expect(deliveredOnce(sink, sent.map((result) => result.messageId))).toBe(true);
      expect(fixed.events.seen[EmailEvent.Sent].map((event) => event.attempt)).toEqual(Array(6).fill(1));
      expect(fixed.events.seen[EmailEvent.DeliveryPaused]).toEqual([]);
      expect(sink.logins.filter((login) => login.at >= closeBegan && login.pass === 'old-password')).toEqual([]);
      expect(sink.logins.filter((login) => login.pass === 'new-password').length).toBeGreaterThan(0);
    });

    it('from the first moment of close() the worker takes no job, while the rest of the app is still shutting down', async () => {
      const sink = await sinkOn();
      const prefix = uniquePrefix();
      const moduleRef = await Test.createTestingModule({
        imports: [EmailWorkflowModule.forRoot(localOptions(sink.port, { secret: TEST_SECRET, queue: { redis: REDIS_URL, driver, prefix, ...FAULT_QUEUE } }))],
        providers: [SlowShutdown],
      })
        .setLogger(new CapturingLogger())
        .compile();
      await moduleRef.init();
      const producer = await redisWorkflow(sink.port, { worker: false }, {}, prefix);
      const first = await producer.emails.send({ template: 'test-email', to: 'before@example.test' });
      await sink.mailWithId(first.messageId);

      const closing = moduleRef.close();
      await until(() => moduleRef.get(SlowShutdown).started, 'the app to be shutting down');
      const late = await sendMany(producer.emails, 3);
      await closing;

      expect(sink.messages.map((mail) => mail.messageId)).toEqual([first.messageId]);
      const inspector = inspectQueue(driver, prefix);
      try {
        expect(await inspector.getJobCounts()).toMatchObject({ waiting: 3, active: 0, failed: 0, completed: 1 });
        const waiting = await inspector.getWaiting();
        expect(waiting.map((job) => job.data.messageId).sort()).toEqual(late.map((result) => result.messageId).sort());
        // Never taken, not even to be handed back: no try of any kind is recorded on them.
        expect(waiting.map((job) => [job.attemptsMade, job.stacktrace.length])).toEqual([
          [0, 0],
          [0, 0],
          [0, 0],
        ]);
      } finally {
        await inspector.close();
      }
    });

    describe('a paused tenant re-resolves its transport at each probe (Redis queue)', () => {
      const PROBE = 500;
      /** Room for the probe itself (a login and MAIL FROM) and for the test's polling. */
      const SLACK_MS = 400;

      it('resolver answers a wrong password, then the right one: resumed within one probe interval, the email sent once', async () => {
        const defaultSink = await sinkOn();
        const tenantSink = await sinkOn({ credentials: { user: 'tenant-a', pass: 'right-password' } });
        let password = 'wrong-password';
        const calls: string[] = [];
        const { emails, events } = await redisWorkflow(
          defaultSink.port,
          { ...FAULT_QUEUE, probeInterval: PROBE },
          {
            // The tenant's server is on loopback, which tenant transports may reach only when allowed.
            tenantTransports: { allowPrivateNetworks: ['127.0.0.0/8'] },
            transportResolver: async (id: string): Promise<EmailTransportOption> => {
              calls.push(id);
              return { host: '127.0.0.1', port: tenantSink.port, security: 'none', pool: false, auth: { user: 'tenant-a', pass: password } };
            },
          },
        );

        const { messageId } = await emails.send({ template: 'test-email', to: 'a1@example.test', tenant: 'a' });
        const [paused] = await events.waitFor(EmailEvent.DeliveryPaused, 1);
        expect(paused).toMatchObject({ tenant: 'a', responseCode: 535 });
        const callsAtPause = calls.length;
        await until(() => calls.length >= callsAtPause + 2, 'two probes that asked the resolver again', 5_000);
        expect(tenantSink.messages).toEqual([]);
        expect((await emails.queueStatus()).pausedTenants).toEqual(['a']);
        // Only that tenant: the default transport keeps sending.
        const plain = await emails.send({ template: 'test-email', to: 'plain@example.test' });
        await defaultSink.mailWithId(plain.messageId);

        password = 'right-password';
        const fixedAt = Date.now();
        await events.waitFor(EmailEvent.DeliveryResumed, 1, PROBE + SLACK_MS);
        expect(Date.now() - fixedAt).toBeLessThanOrEqual(PROBE + SLACK_MS);
        await tenantSink.mailWithId(messageId);
        await untilQueueIdle(emails);

        expect(tenantSink.messages).toHaveLength(1);
        expect(events.seen[EmailEvent.Sent].find((event) => event.messageId === messageId)).toMatchObject({ tenant: 'a', attempt: 1 });
        expect(events.seen[EmailEvent.DeliveryPaused]).toHaveLength(1);
        expect(events.seen[EmailEvent.Failed]).toEqual([]);
        expect(events.seen[EmailEvent.Retrying]).toEqual([]);
      });

      it('a resolver that throws pauses only its tenant, is asked again at each probe, and its emails go once it answers', async () => {
        const defaultSink = await sinkOn();
        const tenantSink = await sinkOn();
        let databaseDown = true;
        const calls: string[] = [];
        const { emails, events } = await redisWorkflow(
          defaultSink.port,
          { ...FAULT_QUEUE, probeInterval: PROBE },
          {
            tenantTransports: { allowPrivateNetworks: ['127.0.0.0/8'] },
            transportResolver: async (id: string): Promise<EmailTransportOption> => {
              calls.push(id);
              if (id === 'b' && databaseDown) throw new Error('tenant database unreachable');
              return { host: '127.0.0.1', port: tenantSink.port, security: 'none', pool: false };
            },
          },
        );

        const held = await sendMany(emails, 2, 'b');
        const [paused] = await events.waitFor(EmailEvent.DeliveryPaused, 1);
        expect(paused).toEqual({ tenant: 'b', reason: 'The SMTP settings of tenant "b" could not be resolved: tenant database unreachable' });
        const asked = () => calls.filter((id) => id === 'b').length;
        const askedAtPause = asked();
        await until(() => asked() >= askedAtPause + 2, 'two probes that asked the resolver again', 5_000);
        const other = await emails.send({ template: 'test-email', to: 'a1@example.test', tenant: 'a' });
        await tenantSink.mailWithId(other.messageId);
        expect((await emails.queueStatus()).pausedTenants).toEqual(['b']);

        databaseDown = false;
        const answeredAt = Date.now();
        await events.waitFor(EmailEvent.DeliveryResumed, 1, PROBE + SLACK_MS);
        expect(Date.now() - answeredAt).toBeLessThanOrEqual(PROBE + SLACK_MS);
        await tenantSink.waitForMessages(3);
        await untilQueueIdle(emails);

        expect(deliveredOnce(tenantSink, [...held, other].map((result) => result.messageId))).toBe(true);
        expect(events.seen[EmailEvent.Failed]).toEqual([]);
        expect(events.seen[EmailEvent.Retrying]).toEqual([]);
        expect(events.seen[EmailEvent.DeliveryPaused]).toHaveLength(1);
      });
    });

  });

  it('the in-process queue at close(): emails held at a paused delivery are let go untried, with no login after close() began', async () => {
    const sink = await sinkOn({ credentials: { user: 'mailer', pass: 'new-password' } });
    const logger = new CapturingLogger();
    const moduleRef: TestingModule = await Test.createTestingModule({
      imports: [
        EmailWorkflowModule.forRoot(
          localOptions(sink.port, {
            transport: { host: '127.0.0.1', port: sink.port, security: 'none', pool: false, auth: { user: 'mailer', pass: 'old-password' } },
            queue: { redis: false, ...FAULT_QUEUE, // Probes far enough apart that the next one cannot start between the refused probe seen and close() on a busy machine.
            probeInterval: 3_000, shutdownTimeout: 3_000 },
          }),
        ),
      ],
    })
      .setLogger(logger)
      .compile();
    const events = new EventLog(moduleRef.get(EmailEventSubscriptions));
    await moduleRef.init();
    await sendMany(moduleRef.get(EmailWorkflowService), 2);
    await events.waitFor(EmailEvent.DeliveryPaused, 1);
    const loginsAtPause = sink.logins.length;
    await until(() => sink.logins.length > loginsAtPause, 'a refused probe', 10_000);

    const closeBegan = Date.now();
    await moduleRef.close();

    expect(Date.now() - closeBegan).toBeLessThan(1_000);
    expect(sink.logins.filter((login) => login.at >= closeBegan)).toEqual([]);
    expect(events.seen[EmailEvent.DeliveryPaused]).toHaveLength(1);
    expect(events.seen[EmailEvent.Failed]).toEqual([]);
    expect(logger.warnings()).toContain('2 queued email(s) were not sent: the in-process queue is not durable.');
  });

  it('the in-process queue: SMTP down for 10× the retry budget pauses instead of failing, and every email goes once', async () => {
    const port = await freePort();
    const logger = new CapturingLogger();
    const moduleRef: TestingModule = await Test.createTestingModule({
      imports: [EmailWorkflowModule.forRoot(localOptions(port, { queue: { redis: false, ...FAULT_QUEUE } }))],
    })
      .setLogger(logger)
      .compile();
    const events = new EventLog(moduleRef.get(EmailEventSubscriptions));
    await moduleRef.init();
    cleanups.push(() => moduleRef.close());
    const emails = moduleRef.get(EmailWorkflowService);
    const sent = await sendMany(emails, 10);

    const [paused] = await events.waitFor(EmailEvent.DeliveryPaused, 1);
    expect(paused.reason).toMatch(/^The SMTP server is unreachable: it refused the connection/);
    // Proves an absence: ten times the whole retry budget with the server down, and no email fails or spends a try.
    await sleep(10 * RETRY_BUDGET_MS);
    expect(events.seen[EmailEvent.Failed]).toEqual([]);
    expect(events.seen[EmailEvent.Retrying]).toEqual([]);
    expect(await emails.queueStatus()).toMatchObject({ paused: true, failed: 0 });

    const sink = await sinkOn({ port });
    await sink.waitForMessages(10, 10_000);
    await untilQueueIdle(emails);

    expect(deliveredOnce(sink, sent.map((result) => result.messageId))).toBe(true);
    expect(events.seen[EmailEvent.Sent].map((event) => event.attempt)).toEqual(Array(10).fill(1));
    expect(events.seen[EmailEvent.Failed]).toEqual([]);
    expect(events.seen[EmailEvent.DeliveryPaused]).toHaveLength(1);
    expect(events.seen[EmailEvent.DeliveryResumed]).toHaveLength(1);
    expect(errorLines(logger)).toEqual([expect.stringMatching(/^Delivery paused: The SMTP server is unreachable/)]);
  });
});
