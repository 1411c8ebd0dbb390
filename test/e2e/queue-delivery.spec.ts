import { getQueueToken as bullQueueToken } from '@nestjs/bull';
import { getQueueToken as bullMqQueueToken } from '@nestjs/bullmq';
import Bull from 'bull';
import { Queue as BullMqQueue } from 'bullmq';
import { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import { EMAIL_WORKFLOW_QUEUE_NAME, EmailEvent, EmailQueueOptions, EmailWorkflowModuleOptions, QueueUnavailableError } from 'nestjs-email-workflow';
import { freePort } from '../support/free-port';
import { deleteKeys, dumpKeys, RedisProxy, uniquePrefix } from '../support/redis';
import { QUEUE_DRIVERS } from '../support/queue-drivers';
import { SmtpSink, smtpReply } from '../support/smtp-sink';
import { sleep, until, untilQueueIdle } from '../support/wait';
import { BootedWorkflow, bootOn } from '../support/workflow';

type RcptHandler = (address: SMTPServerAddress, session: SMTPServerSession, callback: (error?: Error | null) => void) => void;

describe.each(QUEUE_DRIVERS)('durable delivery through %s on a real Redis', (driver) => {
  const boot = bootOn(driver);
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start(
    sinkOptions: Parameters<typeof SmtpSink.start>[0] = {},
    queue: Partial<EmailQueueOptions> = {},
    overrides: (smtpPort: number) => Partial<EmailWorkflowModuleOptions> = () => ({}),
  ) {
    const sink = await SmtpSink.start({ hideENHANCEDSTATUSCODES: true, ...sinkOptions });
    cleanups.push(() => sink.close());
    const prefix = uniquePrefix();
    const workflow = await boot(sink.port, prefix, queue, overrides(sink.port));
    cleanups.push(async () => {
      await workflow.moduleRef.close();
      await deleteKeys(prefix);
    });
    return { sink, prefix, ...workflow };
  }

  it('keeps 200 emails queued while the SMTP server is down and delivers each exactly once when it comes up', async () => {
    const port = await freePort();
    const prefix = uniquePrefix();
    const workflow: BootedWorkflow = await boot(port, prefix, { attempts: 40, backoff: { delay: 100, maxDelay: 500 } });
    cleanups.push(async () => {
      await workflow.moduleRef.close();
      await deleteKeys(prefix);
    });
    const sent = await Promise.all(
      Array.from({ length: 200 }, (_, i) => workflow.emails.send({ template: 'test-email', to: `user${i}@example.test` })),
    );
    // An outage pauses delivery (issue 11): no email spends a retry while the server is down.
    await workflow.events.waitFor(EmailEvent.DeliveryPaused, 1);
    expect(workflow.events.seen[EmailEvent.Sent]).toHaveLength(0);

    const sink = await SmtpSink.start({ port });
    cleanups.push(() => sink.close());
    await sink.waitForMessages(200, 60_000);
    await untilQueueIdle(workflow.emails);

    const counts = sink.countByMessageId();
    expect(sink.messages).toHaveLength(200);
    expect(new Set(counts.keys())).toEqual(new Set(sent.map((result) => result.messageId)));
    expect([...counts.values()].every((count) => count === 1)).toBe(true);
    expect(workflow.events.seen[EmailEvent.Failed]).toHaveLength(0);
  });

  it('retries 452 4.2.2 at RCPT and delivers on the third attempt, with the same Message-ID', async () => {
    let refusals = 0;
    const onRcptTo: RcptHandler = (_address, _session, callback) =>
      refusals++ < 2 ? callback(smtpReply(452, '4.2.2 Mailbox full, try later')) : callback();
    const { sink, emails, events } = await start({ onRcptTo });

    const { messageId } = await emails.send({ template: 'test-email', to: 'ada@example.test' });
    const [sent] = await events.waitFor(EmailEvent.Sent, 1);
    const [mail] = await sink.waitForMessages(1);

    expect(sent).toMatchObject({ attempt: 3, messageId });
    expect(mail.messageId).toBe(messageId);
    expect(events.seen[EmailEvent.Retrying]).toHaveLength(2);
    expect(events.seen[EmailEvent.Retrying][0]).toMatchObject({ attempt: 1, responseCode: 452, enhancedCode: '4.2.2', messageId });
    expect(events.seen[EmailEvent.Retrying][0].nextAttemptAt).toBeInstanceOf(Date);
  });

  it.each([
    ['550 5.1.1', 550, '5.1.1 No such user'],
    ['550 4.2.2 (the reply code decides)', 550, '4.2.2 Mailbox full'],
  ])('stops at once on %s: one attempt, email.failed with reply and enhanced code', async (_, code, text) => {
    let attempts = 0;
    const onRcptTo: RcptHandler = (_address, _session, callback) => {
      attempts++;
      callback(smtpReply(code, text));
    };
    const { sink, emails, events } = await start({ onRcptTo });

    const { messageId } = await emails.send({ template: 'test-email', to: 'ghost@example.test' });
    const [failed] = await events.waitFor(EmailEvent.Failed, 1);
    await untilQueueIdle(emails);

    expect(failed).toMatchObject({
      messageId,
      attempt: 1,
      kind: 'permanent',
      responseCode: code,
      enhancedCode: text.split(' ')[0],
    });
    expect(failed.reason).toContain(text);
    expect(attempts).toBe(1);
    expect(events.seen[EmailEvent.Retrying]).toHaveLength(0);
    expect(sink.messages).toHaveLength(0);
  });

  it('pauses on 535 for 100 queued emails, reports once, and delivers all once the login works', async () => {
    const { sink, emails, events, logger } = await start(
      { credentials: { user: 'ada', pass: 'rotated-password' } },
      { concurrency: 5, probeInterval: 300 },
      (port) => ({ transport: { host: '127.0.0.1', port, security: 'none', pool: false, auth: { user: 'ada', pass: 'current-password' } } }),
    );
    const sent = await Promise.all(
      Array.from({ length: 100 }, (_, i) => emails.send({ template: 'test-email', to: `user${i}@example.test` })),
    );
    const [paused] = await events.waitFor(EmailEvent.DeliveryPaused, 1);
    // Proves an absence: no login per held email and no second pause within this window of five probes.
    await sleep(1_500);
    const authAttemptsWhilePaused = sink.authAttempts.length;

    expect(paused.reason).toMatch(/refused the login/);
    expect(paused.reason).toContain('transport.auth');
    expect(paused.reason).not.toContain('current-password');
    expect(paused.responseCode).toBe(535);
    expect(events.seen[EmailEvent.DeliveryPaused]).toHaveLength(1);
    expect(logger.entries.filter((entry) => entry.level === 'error').map((entry) => entry.message)).toEqual([
      expect.stringMatching(/^Delivery paused: .*refused the login/),
    ]);
    expect(events.seen[EmailEvent.Failed]).toHaveLength(0);
    expect(events.seen[EmailEvent.Retrying]).toHaveLength(0);
    expect(sink.messages).toHaveLength(0);
    // In-flight tries (concurrency 5) plus a probe every 300 ms: a handful, not one per email.
    expect(authAttemptsWhilePaused).toBeLessThanOrEqual(15);

    sink.credentials = { user: 'ada', pass: 'current-password' };
    await sink.waitForMessages(100, 30_000);
    await events.waitFor(EmailEvent.DeliveryResumed, 1);
    await untilQueueIdle(emails);

    expect(new Set(sink.messages.map((mail) => mail.messageId))).toEqual(new Set(sent.map((result) => result.messageId)));
    expect(sink.messages).toHaveLength(100);
    expect(events.seen[EmailEvent.DeliveryResumed]).toHaveLength(1);
    expect(events.seen[EmailEvent.DeliveryPaused]).toHaveLength(1);
  });

  it('fails the boot with a clear error when Redis is unreachable', async () => {
    const port = await freePort();
    const error = await boot(1025, uniquePrefix(), {}, { queue: { redis: `redis://127.0.0.1:${port}` } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(QueueUnavailableError);
    expect((error as Error).message).toContain(`127.0.0.1:${port}`);
    expect((error as Error).message).toMatch(/did not answer/);
  });

  it('never stores the token or link in clear in Redis while the job waits', async () => {
    const port = await freePort();
    const prefix = uniquePrefix();
    const workflow = await boot(port, prefix, { worker: false });
    cleanups.push(async () => {
      await workflow.moduleRef.close();
      await deleteKeys(prefix);
    });
    const token = 'Zm9vYmFyLXNlY3JldC10b2tlbi12YWx1ZQ';
    const link = `http://localhost:3000/verify-email?token=${token}`;
    await workflow.emails.send({ template: 'verify-email', to: 'ada@example.test', context: { name: 'Ada', link, token } });

    const dump = await dumpKeys(prefix);
    expect(dump.size).toBeGreaterThan(0);
    const everything = [...dump.entries()].flat().join('\n');
    expect(everything).toContain('verify-email');
    expect(everything).not.toContain(token);
    expect(everything).not.toContain('verify-email?token');
    expect(everything).not.toContain('localhost:3000');
  });

  it('gives dashboards the driver\'s own queue under the token @InjectQueue of @nestjs/bull and of @nestjs/bullmq resolves', async () => {
    const { moduleRef, emails } = await start({}, { worker: false });
    const queue = moduleRef.get<Bull.Queue | BullMqQueue>(bullMqQueueToken(EMAIL_WORKFLOW_QUEUE_NAME));
    expect(moduleRef.get(bullQueueToken(EMAIL_WORKFLOW_QUEUE_NAME))).toBe(queue);
    expect(queue).toBeInstanceOf(driver === 'bull' ? Bull : BullMqQueue);
    await emails.send({ template: 'test-email', to: 'ada@example.test' });
    expect(await queue.getJobCounts()).toMatchObject({ waiting: 1 });
  });

  it('sends one email for two sends with the same idempotency key', async () => {
    const { sink, emails, events } = await start();
    const first = await emails.send({ template: 'test-email', to: 'ada@example.test', idempotencyKey: 'signup-42' });
    const second = await emails.send({ template: 'test-email', to: 'ada@example.test', idempotencyKey: 'signup-42' });
    await sink.waitForMessages(1);
    await untilQueueIdle(emails);

    expect(second).toEqual(first);
    expect(sink.messages).toHaveLength(1);
    expect(sink.messages[0].messageId).toBe(first.messageId);
    expect(events.seen[EmailEvent.Sent]).toHaveLength(1);
  });

  it('rejects send() with QueueUnavailableError when Redis becomes unreachable, and recovers', async () => {
    const proxy = await RedisProxy.start();
    cleanups.push(() => proxy.cut());
    const sink = await SmtpSink.start();
    cleanups.push(() => sink.close());
    const prefix = uniquePrefix();
    const workflow = await boot(sink.port, prefix, {}, { queue: { redis: proxy.url, prefix } });
    cleanups.push(async () => {
      await workflow.moduleRef.close();
      await deleteKeys(prefix);
    });

    const errors = () => workflow.logger.entries.filter((entry) => entry.level === 'error').map((entry) => entry.message);
    await proxy.cut();
    // Logged once the queue's client has lost Redis, which is when send() starts to refuse.
    await until(() => errors().length > 0, 'the outage to be logged');
    const error = await workflow.emails.send({ template: 'test-email', to: 'ada@example.test' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QueueUnavailableError);
    expect((error as QueueUnavailableError).code).toBe('EMAIL_WORKFLOW_QUEUE_UNAVAILABLE');
    expect(errors()).toEqual([expect.stringContaining(`Redis at ${proxy.url} is unreachable`)]);

    await proxy.open();
    let result: Awaited<ReturnType<typeof workflow.emails.send>> | undefined;
    await until(
      async () => (result = await workflow.emails.send({ template: 'test-email', to: 'ada@example.test' }).catch(() => undefined)) !== undefined,
      'send() to work again',
      15_000,
      200,
    );
    expect(result).toBeDefined();
    const [mail] = await sink.waitForMessages(1);
    expect(mail.messageId).toBe(result!.messageId);
    expect(sink.messages).toHaveLength(1);
    const recovery = `Redis at ${proxy.url} answers again; delivery resumes.`;
    await until(() => workflow.logger.entries.some((entry) => entry.message === recovery), 'the recovery to be logged');
    expect(errors()).toHaveLength(1);
  });
  it('fails an email for good, saying why, when the worker has a different secret than the producer', async () => {
    const sink = await SmtpSink.start();
    cleanups.push(() => sink.close());
    const prefix = uniquePrefix();
    const producer = await boot(sink.port, prefix, { worker: false });
    const worker = await boot(sink.port, prefix, {}, { secret: 'another-secret-of-at-least-32-bytes-9876543210' });
    cleanups.push(async () => {
      await producer.moduleRef.close();
      await worker.moduleRef.close();
      await deleteKeys(prefix);
    });

    const { messageId } = await producer.emails.send({ template: 'test-email', to: 'ada@example.test' });
    const [failed] = await worker.events.waitFor(EmailEvent.Failed, 1);
    expect(failed).toMatchObject({ messageId, kind: 'permanent', attempt: 1 });
    expect(failed.reason).toMatch(/different `secret`/);
    expect(sink.messages).toHaveLength(0);
    // Nest's logger is process-wide: the module compiled last, the worker, holds every line.
    expect(worker.logger.entries.filter((entry) => entry.level === 'error').map((entry) => entry.message)).toEqual([
      expect.stringMatching(/^Email \S+: The queued email cannot be decrypted/),
    ]);
  });
});
