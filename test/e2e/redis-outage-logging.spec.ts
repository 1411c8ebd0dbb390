import { getQueueToken } from '@nestjs/bull-shared';
import { Test } from '@nestjs/testing';
import type { EventEmitter } from 'node:events';
import { EMAIL_WORKFLOW_QUEUE_NAME, EmailWorkflowModule, EmailWorkflowService } from 'nestjs-email-workflow';
import { CapturingLogger } from '../support/capturing-logger';
import { localOptions } from '../support/module-options';
import { TEST_SECRET, ThrowawayRedis, uniquePrefix } from '../support/redis';
import { QUEUE_DRIVERS, queueClients } from '../support/queue-drivers';
import { SmtpSink } from '../support/smtp-sink';
import { until } from '../support/wait';

const PASSWORD = 'outage-test-password';
/** The clients retry within ms at first: six attempts is well past the first failure and still under a second of outage. */
const RECONNECTS_PER_CLIENT = 6;

describe.each(QUEUE_DRIVERS)('a Redis outage in the logs (%s)', (driver) => {
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  /** A started module on `redis` sending to `smtpPort`, its logs captured, once all three queue clients are connected. */
  async function boot(redis: ThrowawayRedis, smtpPort = 2525) {
    const logger = new CapturingLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [EmailWorkflowModule.forRoot(localOptions(smtpPort, { secret: TEST_SECRET, queue: { redis: redis.url, driver, prefix: uniquePrefix() } }))],
    })
      .setLogger(logger)
      .compile();
    await moduleRef.init();
    cleanups.push(() => moduleRef.close());
    // What a dashboard gets: the library's queue object, an EventEmitter on both drivers.
    const queue = moduleRef.get<EventEmitter>(getQueueToken(EMAIL_WORKFLOW_QUEUE_NAME));
    const clients = queueClients(moduleRef);
    // Three on both: commands, the blocking job fetch, and Bull's event subscriber or BullMQ's worker commands.
    await until(() => clients().length === 3 && clients().every((client) => client.status === 'ready'), 'three Redis clients ready');
    const where = `redis://127.0.0.1:${redis.port}`;
    return {
      emails: moduleRef.get(EmailWorkflowService),
      queue,
      clients,
      logger,
      errors: () => logger.entries.filter((entry) => entry.level === 'error').map((entry) => entry.message),
      outage: `Redis at ${where} is unreachable (ECONNREFUSED): queued emails wait in Redis and new sends fail until it answers. Check that Redis is running and that queue.redis points to it.`,
      recovery: `Redis at ${where} answers again; delivery resumes.`,
      otherError: (message: string) => `Email queue on Redis at ${where}: ${message}`,
    };
  }

  it('is one error line when Redis goes away, naming what to check, and one line when it answers again', async () => {
    let redis = await ThrowawayRedis.start({ password: PASSWORD });
    cleanups.push(() => redis.stop());
    const sink = await SmtpSink.start();
    cleanups.push(() => sink.close());
    const { emails, clients, logger, errors, outage, recovery } = await boot(redis, sink.port);
    const reconnects = clients().map(() => 0);
    clients().forEach((client, index) => client.on('reconnecting', () => reconnects[index]++));
    const recoveries = () => logger.entries.filter((entry) => entry.message === recovery);

    await redis.stop();
    await until(() => errors().length > 0, 'the outage to be logged');
    await until(() => reconnects.every((count) => count >= RECONNECTS_PER_CLIENT), `${RECONNECTS_PER_CLIENT} reconnects of every client`);
    expect(errors()).toEqual([outage]);
    expect(recoveries()).toHaveLength(0);

    redis = await ThrowawayRedis.start({ password: PASSWORD, port: redis.port });
    await until(() => recoveries().length > 0, 'the recovery to be logged', 15_000);
    expect(recoveries().map((entry) => entry.level)).toEqual(['log']);
    expect(clients().map((client) => client.status)).toEqual(['ready', 'ready', 'ready']);
    expect(errors()).toEqual([outage]);
    expect(logger.text()).not.toContain(PASSWORD);

    const { messageId } = await emails.send({ template: 'test-email', to: 'ada@example.test' });
    const [mail] = await sink.waitForMessages(1);
    expect(mail.messageId).toBe(messageId);
    expect(recoveries()).toHaveLength(1);
  });

  it('still logs every queue error that is not about the connection, during an outage too', async () => {
    const redis = await ThrowawayRedis.start();
    cleanups.push(() => redis.stop());
    const { queue, errors, outage, otherError } = await boot(redis);
    const scripts = 'Error initializing Lua scripts';

    queue.emit('error', new Error(scripts));
    await redis.stop();
    await until(() => errors().length > 1, 'the outage to be logged');
    // The word for a command that met the dead connection: the outage line already says it.
    queue.emit('error', new Error('Connection is closed.'));
    queue.emit('error', new Error(scripts));

    expect(errors()).toEqual([otherError(scripts), outage, otherError(scripts)]);
  });
});
