import { Test, TestingModule } from '@nestjs/testing';
import {
  EmailEvent,
  EmailEventPayloads,
  EmailEventSubscriptions,
  EmailQueueDriver,
  EmailQueueOptions,
  EmailWorkflowModule,
  EmailWorkflowModuleOptions,
  EmailWorkflowService,
} from 'nestjs-email-workflow';
import { CapturingLogger } from './capturing-logger';
import { localOptions } from './module-options';
import { REDIS_URL, TEST_SECRET } from './redis';
import { until } from './wait';

/** Every event a module emitted, by name, in order. */
export class EventLog {
  readonly seen = Object.fromEntries(Object.values(EmailEvent).map((event) => [event, []])) as unknown as {
    [E in EmailEvent]: Array<EmailEventPayloads[E]>;
  };

  constructor(events: EmailEventSubscriptions) {
    for (const event of Object.values(EmailEvent)) {
      events.on(event, (payload) => void (this.seen[event] as unknown[]).push(payload));
    }
  }

  /** Resolves once `count` events of a kind were seen. */
  async waitFor<E extends EmailEvent>(event: E, count = 1, timeoutMs = 20_000): Promise<Array<EmailEventPayloads[E]>> {
    await until(() => this.seen[event].length >= count, () => `${count} ${event} events, saw ${this.seen[event].length}`, timeoutMs);
    return this.seen[event] as Array<EmailEventPayloads[E]>;
  }
}

export interface BootedWorkflow {
  moduleRef: TestingModule;
  emails: EmailWorkflowService;
  events: EventLog;
  /** What the module logged: expected errors land here instead of the test output. */
  logger: CapturingLogger;
}

/** Short retries so the tests do not wait minutes. */
export const FAST_RETRIES: Partial<EmailQueueOptions> = {
  attempts: 5,
  backoff: { delay: 50, maxDelay: 400 },
  probeInterval: 200,
  shutdownTimeout: 3_000,
};

/** A module on a real Redis queue under its own prefix, sending to a local SMTP port, started, its logs captured. */
export async function bootRedisWorkflow(
  smtpPort: number,
  prefix: string,
  queue: Partial<EmailQueueOptions> = {},
  overrides: Partial<EmailWorkflowModuleOptions> = {},
): Promise<BootedWorkflow> {
  const logger = new CapturingLogger();
  const moduleRef = await Test.createTestingModule({
    imports: [
      EmailWorkflowModule.forRoot(
        localOptions(smtpPort, {
          secret: TEST_SECRET,
          queue: { redis: REDIS_URL, prefix, ...FAST_RETRIES, ...queue },
          ...overrides,
        }),
      ),
    ],
  })
    .setLogger(logger)
    .compile();
  try {
    const events = new EventLog(moduleRef.get(EmailEventSubscriptions));
    await moduleRef.init();
    return { moduleRef, emails: moduleRef.get(EmailWorkflowService), events, logger };
  } catch (error) {
    // The queue's Redis connections are open since compile(): a failed boot must not leave them to the next suite.
    await moduleRef.close();
    throw error;
  }
}

/** bootRedisWorkflow on one queue driver, for suites that run once per driver; `overrides.queue` keeps the driver too. */
export function bootOn(driver: EmailQueueDriver): typeof bootRedisWorkflow {
  return (smtpPort, prefix, queue = {}, overrides = {}) =>
    bootRedisWorkflow(smtpPort, prefix, { driver, ...queue }, overrides.queue ? { ...overrides, queue: { driver, ...overrides.queue } } : overrides);
}
