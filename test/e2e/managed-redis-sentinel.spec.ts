import { Test, TestingModule } from '@nestjs/testing';
import { EmailWorkflowModule, EmailWorkflowService, QueueUnavailableError } from 'nestjs-email-workflow';
import type { EmailQueueDriver } from 'nestjs-email-workflow';
import { CapturingLogger } from '../support/capturing-logger';
import { localOptions } from '../support/module-options';
import { QUEUE_DRIVERS } from '../support/queue-drivers';
import { TEST_SECRET, uniquePrefix } from '../support/redis';
import { ThrowawaySentinel } from '../support/redis-topologies';
import { SmtpSink } from '../support/smtp-sink';
import { sleep, until } from '../support/wait';
import { FAST_RETRIES } from '../support/workflow';

// Issue 21, point 2: a master, a replica and 3 sentinels; a planned (SENTINEL FAILOVER) and an
// unplanned (SIGKILL) failover under a steady send load, on both drivers.

const CONCURRENCY = 5;
const WORKERS = 1;

describe.each(QUEUE_DRIVERS)('%s on Redis Sentinel', (driver: EmailQueueDriver) => {
  let sentinel: ThrowawaySentinel;
  let sink: SmtpSink;
  let moduleRef: TestingModule;
  let logger: CapturingLogger;

  beforeEach(async () => {
    sentinel = await ThrowawaySentinel.start();
    sink = await SmtpSink.start();
    logger = new CapturingLogger();
    const sentinels = sentinel.sentinels.map(({ host, port }) => `${host}:${port}`).join(',');
    moduleRef = await Test.createTestingModule({
      imports: [
        EmailWorkflowModule.forRoot(
          localOptions(sink.port, {
            secret: TEST_SECRET,
            queue: { redis: `redis+sentinel://${sentinels}/${sentinel.name}`, driver, prefix: uniquePrefix(), concurrency: CONCURRENCY, ...FAST_RETRIES, commandTimeout: 2_000 },
          }),
        ),
      ],
    })
      .setLogger(logger)
      .compile();
    await moduleRef.init();
  });

  afterEach(async () => {
    await moduleRef?.close();
    await sink?.close();
    await sentinel?.stop();
  });

  it("closing the app ends every connection to the sentinels, the failover detector's too, so the process can exit", async () => {
    await until(async () => (await sentinel.clientConnections()).length > 0, 'the app to be connected to the sentinels', 10_000);
    await moduleRef.close();
    let left: string[] = [];
    await until(async () => (left = await sentinel.clientConnections()).length === 0, () => `no connection left to the sentinels after close; left:\n${left.join('\n')}`, 5_000);
  });

  it('logs the sentinels and the master name, never a password', () => {
    const lines = logger.text();
    expect(lines).toContain(`master "${sentinel.name}" of the sentinels redis+sentinel://`);
  });

  it.each([
    ['planned (SENTINEL FAILOVER)', () => sentinel.plannedFailover()],
    // The new master has no replica until the old one is back as one: sends are refused meanwhile (waitForReplica).
    [
      'unplanned (master SIGKILLed, then back as a replica)',
      async () => {
        await sentinel.killMaster();
        await sentinel.restartOld();
      },
    ],
  ])('a %s failover under load: no email lost after send() resolved, duplicates no more than the jobs in flight', async (label, failover) => {
    const emails = moduleRef.get(EmailWorkflowService);
    const accepted: string[] = [];
    let refused = 0;
    let running = true;
    const load = (async () => {
      for (let i = 0; running; i++) {
        try {
          accepted.push((await emails.send({ template: 'test-email', to: `load${i}@example.test` })).messageId);
        } catch (error) {
          // Refused while no master answers: the caller knows it was not queued, so it does not count.
          if (!(error instanceof QueueUnavailableError)) throw error;
          refused++;
          // A refusal comes at once while the connection is down: pause, or this loop starves the event loop (and the reconnect).
          await sleep(20);
        }
      }
    })();
    try {
      await until(() => accepted.length >= 50, 'the first 50 emails accepted', 20_000);
      await failover();
      const after = accepted.length;
      await until(() => accepted.length >= after + 50, '50 more accepted after the failover', 60_000);
    } finally {
      running = false;
      await load;
    }

    await until(() => accepted.every((id) => sink.messages.some((mail) => mail.messageId === id)), () => {
      const lost = accepted.filter((id) => !sink.messages.some((mail) => mail.messageId === id));
      return `every accepted email delivered (${lost.length} of ${accepted.length} missing, ${refused} refused)`;
    }, 90_000);
    const duplicates = [...sink.countByMessageId().values()].filter((count) => count > 1).reduce((sum, count) => sum + count - 1, 0);
    // What happened, for the note: the assertions are above and below.
    console.log(`${driver}, ${label}: ${accepted.length} accepted, ${refused} refused, ${duplicates} duplicate(s), bound ${CONCURRENCY * WORKERS}`);
    expect(duplicates).toBeLessThanOrEqual(CONCURRENCY * WORKERS);
  });
});
