import { Test, TestingModule } from '@nestjs/testing';
import { runInThisContext } from 'node:vm';
import { EmailWorkflowService, QueueUnavailableError } from 'nestjs-email-workflow';
import { HealthAppModule } from '../fixtures/health-app/health-app.module';
import { CapturingLogger } from '../support/capturing-logger';
import { InMemoryUsers } from '../support/in-memory-users';
import { localOptions } from '../support/module-options';
import { QUEUE_DRIVERS } from '../support/queue-drivers';
import { TEST_SECRET, ThrowawayRedis, uniquePrefix } from '../support/redis';
import { SmtpSink } from '../support/smtp-sink';
import { FAST_RETRIES } from '../support/workflow';

// Issue 25: app.close() right after a frozen Redis resumes left an unhandled "Connection is closed."
// rejection from the queue library's client (Node ends a process on one by default).

const COMMAND_TIMEOUT = 300;

/** Settles as `call` does, or rejects once `ms` have passed with the call still pending. */
function withinMs<T>(call: () => Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms)));
  return Promise.race([call(), pending]).finally(() => clearTimeout(timer));
}

/** A few turns of the event loop: a rejection left unhandled by then has been reported. */
async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe.each(QUEUE_DRIVERS)('%s: app.close() right after a frozen Redis resumes', (driver) => {
  let redis: ThrowawayRedis;
  let sink: SmtpSink;

  beforeAll(async () => {
    redis = await ThrowawayRedis.start();
    sink = await SmtpSink.start();
  });

  afterAll(async () => {
    redis?.thaw();
    await redis?.stop();
    await sink?.close();
  });

  it('leaves no rejection unhandled', async () => {
    const realProcess = runInThisContext('process') as NodeJS.Process;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    realProcess.on('unhandledRejection', onUnhandled);
    const logger = new CapturingLogger();
    let moduleRef: TestingModule | undefined;
    try {
      moduleRef = await Test.createTestingModule({
        imports: [
          HealthAppModule.withOptions(
            localOptions(sink.port, {
              secret: TEST_SECRET,
              users: new InMemoryUsers(),
              queue: { redis: redis.url, driver, prefix: uniquePrefix(), ...FAST_RETRIES, commandTimeout: COMMAND_TIMEOUT },
            }),
          ),
        ],
      })
        .setLogger(logger)
        .compile();
      await moduleRef.init();
      const emails = moduleRef.get(EmailWorkflowService);
      const address = 'close-after-freeze@example.test';
      await emails.send({ template: 'test-email', to: address });
      await sink.mailTo(address, /Test email/);
      // A batch, so that the worker is mid-way through it at the freeze.
      for (let i = 0; i < 30; i++) await emails.send({ template: 'test-email', to: address });

      redis.freeze();
      // Commands the clients send meanwhile (the worker's, these that time out) wait in their queues.
      const during = await withinMs(
        () => Promise.all([emails.queueStatus(), emails.send({ template: 'test-email', to: address })].map((call) => call.catch((e: unknown) => e))),
        COMMAND_TIMEOUT + 2_000,
      );
      expect(during).toEqual([expect.any(QueueUnavailableError), expect.any(QueueUnavailableError)]);
      redis.thaw();
      await withinMs(() => (moduleRef as TestingModule).close(), (FAST_RETRIES.shutdownTimeout as number) + 3_000);
      moduleRef = undefined;
      await turns(20);

      expect(unhandled.map((reason) => (reason instanceof Error ? reason.message : String(reason)))).toEqual([]);
    } finally {
      redis.thaw();
      await moduleRef?.close();
      realProcess.off('unhandledRejection', onUnhandled);
    }
  });
});
