import { getQueueToken } from '@nestjs/bull-shared';
import { Test, TestingModule } from '@nestjs/testing';
import Redis from 'ioredis';
import { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import {
  EMAIL_WORKFLOW_QUEUE_NAME,
  EmailEvent,
  EmailEventSubscriptions,
  EmailQueueOptions,
  EmailWorkflowModule,
  EmailWorkflowModuleOptions,
  EmailWorkflowService,
  InvalidOptionsError,
} from 'nestjs-email-workflow';
import { bootError, localOptions } from '../support/module-options';
import { deleteKeys, REDIS_URL, TEST_SECRET, ThrowawayRedis, uniquePrefix } from '../support/redis';
import { inspectQueue, QUEUE_DRIVERS, queueClients, WORKER_CONNECTIONS } from '../support/queue-drivers';
import { SmtpSink, smtpReply } from '../support/smtp-sink';
import { EventLog } from '../support/workflow';
import { CapturingLogger } from '../support/capturing-logger';
import { until, untilQueueIdle } from '../support/wait';

type RcptHandler = (address: SMTPServerAddress, session: SMTPServerSession, callback: (error?: Error | null) => void) => void;

interface Booted {
  moduleRef: TestingModule;
  emails: EmailWorkflowService;
  events: EventLog;
  logger: CapturingLogger;
}

/** Compiles and starts a module with its logs captured. */
async function boot(options: EmailWorkflowModuleOptions, logger = new CapturingLogger()): Promise<Booted> {
  const moduleRef = await Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(options)] })
    .setLogger(logger)
    .compile();
  const events = new EventLog(moduleRef.get(EmailEventSubscriptions));
  await moduleRef.init();
  return { moduleRef, emails: moduleRef.get(EmailWorkflowService), events, logger };
}

/** `CLIENT LIST` of a Redis, one record per connection. */
async function clientList(url = REDIS_URL): Promise<Array<Record<string, string>>> {
  const redis = new Redis(url);
  try {
    const list = (await redis.client('LIST')) as string;
    return list
      .split('\n')
      .filter(Boolean)
      .map((line) => Object.fromEntries(line.split(' ').map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)])));
  } finally {
    redis.disconnect();
  }
}

describe('queue lifecycle', () => {
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  function closeLater(moduleRef: TestingModule, prefix?: string): void {
    cleanups.push(async () => {
      await moduleRef.close();
      if (prefix) await deleteKeys(prefix);
    });
  }

  async function sinkWithConnections(options: Parameters<typeof SmtpSink.start>[0] = {}) {
    const opened = new Set<string>();
    const closed = new Set<string>();
    const mailFrom: string[] = [];
    const sink = await SmtpSink.start({
      ...options,
      onConnect: (session, callback) => {
        opened.add(session.id);
        callback();
      },
      onClose: (session) => {
        closed.add(session.id);
      },
      onMailFrom: (_address, session, callback) => {
        mailFrom.push(session.id);
        callback();
      },
    });
    cleanups.push(() => sink.close());
    return { sink, opened, closed, mailFrom, openNow: () => [...opened].filter((id) => !closed.has(id)) };
  }

  describe.each(QUEUE_DRIVERS)('graceful shutdown of the Redis queue (%s)', (driver) => {
    it('lets in-flight sends finish within shutdownTimeout, closes Redis and SMTP connections, and keeps unstarted jobs in Redis', async () => {
      const CONCURRENCY = 3;
      const TOTAL = 10;
      const SHUTDOWN_TIMEOUT = 5_000;
      const { sink, closed, mailFrom, openNow } = await sinkWithConnections({ delayMs: 300 });
      const prefix = uniquePrefix();
      cleanups.push(() => deleteKeys(prefix));
      const queue: EmailQueueOptions = { redis: REDIS_URL, driver, prefix, concurrency: CONCURRENCY, shutdownTimeout: SHUTDOWN_TIMEOUT };
      const first = await boot(
        localOptions(sink.port, {
          secret: TEST_SECRET,
          queue,
          // Pooled, so connections stay open between messages and only transport.close() ends them.
          transport: { host: '127.0.0.1', port: sink.port, security: 'none', pool: { maxConnections: CONCURRENCY } },
        }),
      );
      expect(first.moduleRef.get(getQueueToken(EMAIL_WORKFLOW_QUEUE_NAME))).toBeDefined();
      const clients = queueClients(first.moduleRef);

      const sent = [];
      for (let i = 0; i < TOTAL; i++) sent.push(await first.emails.send({ template: 'test-email', to: `user${i}@example.test` }));

      // Wait until the first batch is at the SMTP server (MAIL FROM seen), not yet accepted (300 ms delay).
      await until(() => mailFrom.length >= CONCURRENCY, `${CONCURRENCY} sends in flight`);
      const inFlight = mailFrom.length;
      expect(sink.messages).toHaveLength(0);
      expect(openNow().length).toBeGreaterThan(0);
      await until(() => clients().length >= WORKER_CONNECTIONS[driver] && clients().every((client) => client.status === 'ready'), 'Redis clients ready');
      const ourAddresses = clients().map((client) => `${client.stream.localAddress}:${client.stream.localPort}`);
      expect((await clientList()).filter((client) => ourAddresses.includes(client.addr))).toHaveLength(ourAddresses.length);

      const startedAt = Date.now();
      await first.moduleRef.close();
      const tookMs = Date.now() - startedAt;

      // The in-flight sends finished before close() returned, and close() was bounded.
      expect(sink.messages.length).toBe(inFlight);
      expect(first.events.seen[EmailEvent.Sent]).toHaveLength(inFlight);
      expect(tookMs).toBeGreaterThanOrEqual(100);
      expect(tookMs).toBeLessThan(SHUTDOWN_TIMEOUT);
      expect(first.logger.warnings().join('\n')).not.toMatch(/did not finish in time/);

      // Every Redis connection of this queue is closed, client side and server side.
      expect(clients().map((client) => client.status)).toEqual(clients().map(() => 'end'));
      await until(async () => {
        const clients = await clientList();
        return !clients.some((client) => ourAddresses.includes(client.addr) || client.name.startsWith(`${prefix}:`));
      }, 'Redis to drop the queue connections', 3_000);

      // The SMTP server sees every connection closed (the pool was closed after the queue).
      await until(() => openNow().length === 0, 'SMTP connections to close', 3_000);
      expect(closed.size).toBeGreaterThan(0);

      // Nothing lost: what did not start is still in Redis.
      const inspector = inspectQueue(driver, prefix);
      try {
        const counts = await inspector.getJobCounts();
        expect(counts.waiting).toBeGreaterThan(0);
        expect(counts.completed).toBe(inFlight);
        expect(counts.failed).toBe(0);
        expect(counts.waiting + counts.active + counts.delayed + counts.completed).toBe(TOTAL);
      } finally {
        await inspector.close();
      }

      // A new process on the same Redis sends the rest, each exactly once.
      const second = await boot(localOptions(sink.port, { secret: TEST_SECRET, queue: { ...queue, concurrency: 5 } }));
      closeLater(second.moduleRef);
      await sink.waitForMessages(TOTAL, 20_000);
      await untilQueueIdle(second.emails);
      expect(sink.messages).toHaveLength(TOTAL);
      const counts = sink.countByMessageId();
      expect(new Set(counts.keys())).toEqual(new Set(sent.map((result) => result.messageId)));
      expect([...counts.values()].every((count) => count === 1)).toBe(true);
    });

    /** One send held 4 s by the server, one waiting; closes the module with shutdownTimeout 500 ms. */
    async function shutdownDuringHungSend() {
      const SHUTDOWN_TIMEOUT = 500;
      const HANG_MS = 4_000;
      const { sink, mailFrom, openNow } = await sinkWithConnections({ delayMs: HANG_MS });
      const prefix = uniquePrefix();
      cleanups.push(() => deleteKeys(prefix));
      const booted = await boot(
        localOptions(sink.port, {
          secret: TEST_SECRET,
          queue: { redis: REDIS_URL, driver, prefix, concurrency: 1, shutdownTimeout: SHUTDOWN_TIMEOUT },
        }),
      );
      let closed = false;
      cleanups.push(async () => {
        if (!closed) await booted.moduleRef.close();
      });
      const clients = queueClients(booted.moduleRef);
      await booted.emails.send({ template: 'test-email', to: 'slow@example.test' });
      await booted.emails.send({ template: 'test-email', to: 'next@example.test' });
      await until(() => mailFrom.length >= 1, 'a send in flight');
      await until(() => clients().length >= WORKER_CONNECTIONS[driver] && clients().every((client) => client.status === 'ready'), 'Redis clients ready');
      const ourAddresses = clients().map((client) => `${client.stream.localAddress}:${client.stream.localPort}`);

      const startedAt = Date.now();
      closed = true;
      await booted.moduleRef.close();
      const tookMs = Date.now() - startedAt;
      return { SHUTDOWN_TIMEOUT, HANG_MS, tookMs, booted, clients, ourAddresses, openNow, prefix };
    }

    it('when a send outlasts shutdownTimeout: warns, closes every Redis and SMTP connection, loses no job', async () => {
      const { SHUTDOWN_TIMEOUT, tookMs, booted, clients, ourAddresses, openNow, prefix } = await shutdownDuringHungSend();

      expect(tookMs).toBeGreaterThanOrEqual(SHUTDOWN_TIMEOUT - 50);
      expect(booted.logger.warnings().join('\n')).toMatch(/did not finish in time/);
      expect(clients().map((client) => client.status)).toEqual(clients().map(() => 'end'));
      await until(async () => {
        const clients = await clientList();
        return !clients.some((client) => ourAddresses.includes(client.addr) || client.name.startsWith(`${prefix}:`));
      }, 'Redis to drop the queue connections', 3_000);
      await until(() => openNow().length === 0, 'SMTP connections to close', 6_000);

      // Both jobs are still accounted for in Redis: the slow one active or completed, the other waiting.
      const inspector = inspectQueue(driver, prefix);
      try {
        const counts = await inspector.getJobCounts();
        expect(counts.failed).toBe(0);
        expect(counts.waiting).toBe(1);
        expect(counts.active + counts.completed).toBe(1);
      } finally {
        await inspector.close();
      }
    });

    /**
     * Regression guard: DurableEmailQueue.close() races queue.close() against shutdownTimeout, then
     * drops the connections; forcing Bull with queue.close(true) would not do, as Bull returns the close already in progress
     * (`if (this.closing) return this.closing`), which still waits for the in-flight job. Shutdown
     * therefore lasts as long as the slowest send (up to nodemailer's socketTimeout), not shutdownTimeout.
     */
    it('close() returns within shutdownTimeout even when a send hangs', async () => {
      const { SHUTDOWN_TIMEOUT, HANG_MS, tookMs } = await shutdownDuringHungSend();
      expect(HANG_MS).toBeGreaterThan(SHUTDOWN_TIMEOUT + 2_000);
      expect(tookMs).toBeLessThan(SHUTDOWN_TIMEOUT + 1_500);
    });
  });

  describe('in-process queue: same retry semantics as the Redis queue', () => {
    const fastInProcess = { redis: false as const, attempts: 5, backoff: { delay: 50, maxDelay: 200 } };

    async function start(queue: EmailWorkflowModuleOptions['queue'], onRcptTo?: RcptHandler) {
      const sink = await SmtpSink.start({ hideENHANCEDSTATUSCODES: true, ...(onRcptTo ? { onRcptTo } : {}) });
      cleanups.push(() => sink.close());
      const booted = await boot(localOptions(sink.port, { queue }));
      closeLater(booted.moduleRef);
      return { sink, ...booted };
    }

    it.each([
      ['queue: false', false as const],
      ['queue: { redis: false }', fastInProcess],
    ])('%s boots with a warning that it is not durable, and delivers', async (_label, queue) => {
      const { sink, emails, events, logger } = await start(queue);
      const warning = logger.warnings().find((message) => /not durable/.test(message));
      expect(warning).toBeDefined();
      expect(warning).toMatch(/queue\.redis/);
      expect(logger.entries.find((entry) => entry.message === warning)?.params).toContain('EmailWorkflowModule');

      const { messageId } = await emails.send({ template: 'test-email', to: 'ada@example.test' });
      const [mail] = await sink.waitForMessages(1);
      expect(mail.messageId).toBe(messageId);
      expect((await events.waitFor(EmailEvent.Sent, 1))[0]).toMatchObject({ attempt: 1, messageId });
    });

    it('retries 452 4.2.2 at RCPT and delivers on the third attempt, with the same Message-ID', async () => {
      let refusals = 0;
      const { sink, emails, events } = await start(fastInProcess, (_address, _session, callback) =>
        refusals++ < 2 ? callback(smtpReply(452, '4.2.2 Mailbox full')) : callback(),
      );

      const { messageId } = await emails.send({ template: 'test-email', to: 'ada@example.test' });
      const [sent] = await events.waitFor(EmailEvent.Sent, 1);
      const [mail] = await sink.waitForMessages(1);
      await untilQueueIdle(emails);

      expect(sent).toMatchObject({ attempt: 3, messageId });
      expect(mail.messageId).toBe(messageId);
      expect(sink.messages).toHaveLength(1);
      expect(refusals).toBe(3);
      expect(events.seen[EmailEvent.Retrying]).toHaveLength(2);
      expect(events.seen[EmailEvent.Retrying].map((event) => event.attempt)).toEqual([1, 2]);
      for (const retrying of events.seen[EmailEvent.Retrying]) {
        expect(retrying).toMatchObject({ messageId, responseCode: 452, enhancedCode: '4.2.2' });
        expect(retrying.reason).toContain('4.2.2 Mailbox full');
        expect(retrying.nextAttemptAt).toBeInstanceOf(Date);
      }
      expect(events.seen[EmailEvent.Failed]).toHaveLength(0);
    });

    it.each([
      ['queue: false', false as const],
      ['queue: { redis: false }', fastInProcess],
    ])('%s stops at once on 550 5.1.1: one attempt, email.failed', async (_label, queue) => {
      let attempts = 0;
      const { sink, emails, events } = await start(queue, (_address, _session, callback) => {
        attempts++;
        callback(smtpReply(550, '5.1.1 No such user'));
      });

      const { messageId } = await emails.send({ template: 'test-email', to: 'ghost@example.test' });
      const [failed] = await events.waitFor(EmailEvent.Failed, 1);
      await untilQueueIdle(emails);

      expect(failed).toMatchObject({ messageId, attempt: 1, kind: 'permanent', responseCode: 550, enhancedCode: '5.1.1' });
      expect(failed.reason).toContain('5.1.1 No such user');
      expect(attempts).toBe(1);
      expect(events.seen[EmailEvent.Retrying]).toHaveLength(0);
      expect(events.seen[EmailEvent.Failed]).toHaveLength(1);
      expect(sink.messages).toHaveLength(0);
    });

    it('gives up after `attempts` transient failures with email.failed, like the Redis queue', async () => {
      let tries = 0;
      const { sink, emails, events } = await start({ ...fastInProcess, attempts: 3 }, (_address, _session, callback) => {
        tries++;
        callback(smtpReply(451, '4.3.0 Try again later'));
      });

      const { messageId } = await emails.send({ template: 'test-email', to: 'ada@example.test' });
      const [failed] = await events.waitFor(EmailEvent.Failed, 1);
      await untilQueueIdle(emails);

      expect(failed).toMatchObject({ messageId, attempt: 3, kind: 'transient', responseCode: 451, enhancedCode: '4.3.0' });
      expect(tries).toBe(3);
      expect(events.seen[EmailEvent.Retrying].map((event) => event.attempt)).toEqual([1, 2]);
      expect(events.seen[EmailEvent.Failed]).toHaveLength(1);
      expect(sink.messages).toHaveLength(0);
    });

    it('matches the Redis queue event for event on the same scenario', async () => {
      const scenario = async (queue: EmailWorkflowModuleOptions['queue'], secret?: string) => {
        const refusals = new Map<string, number>();
        const sink = await SmtpSink.start({
          hideENHANCEDSTATUSCODES: true,
          onRcptTo: (address, _session, callback) => {
            const user = address.address.split('@')[0];
            const seen = refusals.get(user) ?? 0;
            refusals.set(user, seen + 1);
            if (user === 'ghost') return callback(smtpReply(550, '5.1.1 No such user'));
            if (user === 'full' && seen < 2) return callback(smtpReply(452, '4.2.2 Mailbox full'));
            if (user === 'busy') return callback(smtpReply(451, '4.3.0 Try again later'));
            return callback();
          },
        });
        cleanups.push(() => sink.close());
        const booted = await boot(localOptions(sink.port, { queue, secret }));
        closeLater(booted.moduleRef);
        for (const user of ['ok', 'full', 'ghost', 'busy']) await booted.emails.send({ template: 'test-email', to: `${user}@example.test` });
        await booted.events.waitFor(EmailEvent.Sent, 2);
        await booted.events.waitFor(EmailEvent.Failed, 2);
        await untilQueueIdle(booted.emails);
        const summary = (event: EmailEvent) =>
          (booted.events.seen[event] as Array<{ to: string; attempt: number; kind?: string; responseCode?: number; enhancedCode?: string }>)
            .map(({ to, attempt, kind, responseCode, enhancedCode }) => ({ to, attempt, kind, responseCode, enhancedCode }))
            .sort((a, b) => `${a.to}${a.attempt}`.localeCompare(`${b.to}${b.attempt}`));
        return {
          sent: summary(EmailEvent.Sent),
          retrying: summary(EmailEvent.Retrying),
          failed: summary(EmailEvent.Failed),
          delivered: sink.messages.length,
          rcpt: Object.fromEntries(refusals),
        };
      };
      const prefix = uniquePrefix();
      cleanups.push(() => deleteKeys(prefix));
      const inProcess = await scenario({ ...fastInProcess, attempts: 3 });
      const redis = await scenario({ ...fastInProcess, attempts: 3, redis: REDIS_URL, prefix }, TEST_SECRET);

      expect(inProcess).toEqual(redis);
      expect(inProcess.delivered).toBe(2);
      expect(inProcess.rcpt).toEqual({ ok: 1, full: 3, ghost: 1, busy: 3 });
    });
  });

  describe('maxmemory-policy check at boot', () => {
    let lruRedis: ThrowawayRedis;

    beforeAll(async () => {
      lruRedis = await ThrowawayRedis.start({ args: ['--maxmemory-policy', 'allkeys-lru'] });
    });

    afterAll(async () => {
      await lruRedis?.stop();
    });

    it('warns when Redis may evict queued emails (allkeys-lru), naming the policy and the fix', async () => {
      const redisUrl = lruRedis.url;
      const direct = new Redis(redisUrl);
      const policy = await direct.config('GET', 'maxmemory-policy').finally(() => direct.disconnect());
      expect(policy).toEqual(['maxmemory-policy', 'allkeys-lru']);

      const booted = await boot(localOptions(2525, { secret: TEST_SECRET, queue: { redis: redisUrl, prefix: uniquePrefix() } }));
      closeLater(booted.moduleRef);
      const warning = booted.logger.warnings().find((message) => message.includes('maxmemory-policy'));
      expect(warning).toBeDefined();
      expect(warning).toContain('allkeys-lru');
      expect(warning).toContain('noeviction');
      expect(warning).toContain(`127.0.0.1:${lruRedis.port}`);
    });

    it('does not warn against a Redis with noeviction', async () => {
      const redis = new Redis(REDIS_URL);
      const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as [string, string];
      redis.disconnect();
      expect(policy).toBe('noeviction');

      const prefix = uniquePrefix();
      const booted = await boot(localOptions(2525, { secret: TEST_SECRET, queue: { redis: REDIS_URL, prefix } }));
      closeLater(booted.moduleRef, prefix);
      expect(booted.logger.warnings().filter((message) => message.includes('maxmemory-policy'))).toEqual([]);
      expect(booted.logger.entries.some((entry) => entry.level === 'log' && entry.message.includes('Emails queue in Redis'))).toBe(true);
    });

    it('warns that it could not check when CONFIG is disabled on the server', async () => {
      const redis = await ThrowawayRedis.start({ args: ['--rename-command', 'CONFIG', ''] });
      try {
        const booted = await boot(localOptions(2525, { secret: TEST_SECRET, queue: { redis: redis.url, prefix: uniquePrefix() } }));
        await booted.moduleRef.close();
        const warning = booted.logger.warnings().find((message) => message.includes('maxmemory-policy'));
        expect(warning).toMatch(/Could not read maxmemory-policy/);
        expect(warning).toContain('noeviction');
      } finally {
        await redis.stop();
      }
    });
  });

  describe('secret rules at boot', () => {
    const redisQueue = (): EmailQueueOptions => ({ redis: REDIS_URL, prefix: uniquePrefix() });

    function expectSecretProblem(error: unknown, secret?: string): InvalidOptionsError {
      expect(error).toBeInstanceOf(InvalidOptionsError);
      const invalid = error as InvalidOptionsError;
      expect(invalid.problems.map((problem) => problem.path)).toEqual(['secret']);
      expect(invalid.message).toMatch(/secret/);
      if (secret) {
        expect(invalid.message).not.toContain(secret);
        expect(String(invalid.stack)).not.toContain(secret);
        expect(JSON.stringify(invalid)).not.toContain(secret);
        expect(JSON.stringify(invalid.problems)).not.toContain(secret);
      }
      return invalid;
    }

    it('a Redis queue without a secret is refused, naming `secret`', async () => {
      const error = expectSecretProblem(await bootError(localOptions(2525, { queue: redisQueue() })));
      expect(error.message).toMatch(/secret: is required with a Redis queue/);
      expect(error.problems[0].fix).toMatch(/32/);
    });

    it('a Redis queue given as ioredis options without a secret is refused too', async () => {
      expectSecretProblem(await bootError(localOptions(2525, { queue: { redis: { host: '127.0.0.1', port: 6379 } } })));
    });

    it.each([
      ['31 ASCII bytes', 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P'],
      ['a short word', 'hunter2'],
      ['15 two-byte characters (30 bytes)', 'é'.repeat(15)],
    ])('a secret shorter than 32 bytes is refused without echoing it: %s', async (_label, secret) => {
      expect(Buffer.byteLength(secret)).toBeLessThan(32);
      const error = expectSecretProblem(await bootError(localOptions(2525, { queue: redisQueue(), secret })), secret);
      expect(error.message).toMatch(/secret: must be at least 32 bytes/);
    });

    it('a short secret is refused with the in-process queue as well', async () => {
      const secret = 'too-short-secret-value';
      expectSecretProblem(await bootError(localOptions(2525, { queue: false, secret })), secret);
    });

    it('a secret that is not a string is refused', async () => {
      expectSecretProblem(await bootError(localOptions(2525, { queue: redisQueue(), secret: 12345 as unknown as string })));
    });

    it('accepts exactly 32 bytes (control), counted in bytes', async () => {
      for (const secret of ['0123456789abcdef0123456789abcdef', 'é'.repeat(16)]) {
        expect(Buffer.byteLength(secret)).toBe(32);
        const queue = redisQueue();
        const booted = await boot(localOptions(2525, { queue, secret }));
        await booted.moduleRef.close();
        await deleteKeys(queue.prefix!);
      }
    });
  });
});
