import { getQueueToken } from '@nestjs/bull-shared';
import { EMAIL_WORKFLOW_QUEUE_NAME, EmailEvent } from 'nestjs-email-workflow';
import type { EmailUser } from 'nestjs-email-workflow';
import { InMemoryUsers } from '../support/in-memory-users';
import { deleteKeys, dumpKeys, REDIS_URL, TEST_SECRET, uniquePrefix } from '../support/redis';
import { InspectableQueue, QUEUE_DRIVERS } from '../support/queue-drivers';
import { linkIn, SmtpSink } from '../support/smtp-sink';
import { until } from '../support/wait';
import { WorkerChild, WorkerSettings } from '../support/worker-child';
import { bootOn } from '../support/workflow';

const IP = '203.0.113.77';
const USERS: EmailUser[] = [
  { id: 'u-ada', email: 'ada@example.test', name: 'Ada', emailVerified: true },
  { id: 'u-bo', email: 'bo@example.test', name: 'Bo', emailVerified: false },
  { id: 'u-cy', email: 'cy@example.test', name: 'Cy', emailVerified: true },
];
/** Short locks, so the job of a killed worker is taken again within about a second. */
const SHORT_LOCKS = { lockDuration: 1_000, stalledInterval: 500, maxStalledCount: 1 };
const RESET_SUBJECT = /^Reset your Acme password$/;

type JobCounts = Record<string, number>;

/** Rejects with `what` once `ms` have passed. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe.each(QUEUE_DRIVERS)('account requests on a %s queue: stored before the answer, carried out by any worker', (driver) => {
  const boot = bootOn(driver);
  const cleanups: Array<() => Promise<void>> = [];
  const workers: WorkerChild[] = [];

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.kill()));
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  /** A sink, a prefix, and a producer-only app (worker: false) whose own directory knows the same users. */
  async function start() {
    const sink = await SmtpSink.start();
    cleanups.push(() => sink.close());
    const prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(prefix));
    const producerUsers = new InMemoryUsers();
    USERS.forEach((user) => producerUsers.add(user));
    const producer = await boot(sink.port, prefix, { worker: false }, { users: producerUsers });
    cleanups.push(() => producer.moduleRef.close());
    const queue = producer.moduleRef.get<InspectableQueue>(getQueueToken(EMAIL_WORKFLOW_QUEUE_NAME));
    const spawn = async (settings: Partial<WorkerSettings> = {}) => {
      const worker = WorkerChild.start({ smtpPort: sink.port, driver, redis: REDIS_URL, prefix, secret: TEST_SECRET, users: USERS, settings: SHORT_LOCKS, ...settings });
      workers.push(worker);
      await within(worker.ready, 15_000, 'a worker process to boot');
      return worker;
    };
    /** Waits until the queue has nothing waiting, active or delayed and at least `completed` jobs done, then checks the count is exact. */
    const drained = async (completed: number) => {
      let counts: JobCounts | undefined;
      await until(
        async () => {
          counts = await queue.getJobCounts();
          return counts.completed >= completed && counts.waiting + counts.active + counts.delayed === 0;
        },
        () => `${completed} completed jobs and nothing pending; job counts ${JSON.stringify(counts)}`,
        15_000,
        50,
      );
      expect(counts).toMatchObject({ completed, failed: 0 });
    };
    return { sink, prefix, producer, producerUsers, queue, spawn, drained };
  }

  it('a worker SIGKILLed while it looks the account up: another worker sends the reset email, once', async () => {
    const { sink, prefix, producer, producerUsers, queue, spawn, drained } = await start();

    expect(await producer.emails.requestPasswordReset(' Ada@Example.test ', { ip: IP })).toBeUndefined();
    // Stored before the answer, by a process that looked nothing up; nothing in Redis shows the address or the IP.
    expect(await queue.getJobCounts()).toMatchObject({ waiting: 1, active: 0, completed: 0, failed: 0 });
    expect(producerUsers.lookups).toEqual([]);
    const dump = await dumpKeys(prefix);
    expect([...dump.keys()].filter((key) => key.includes(':account-request-') && !key.endsWith(':lock'))).toHaveLength(1);
    const everything = [...dump.entries()].flat().join('\n');
    for (const revealing of ['Ada@Example.test', 'ada@example.test', 'ada@', IP]) expect(everything).not.toContain(revealing);

    const first = await spawn({ holdLookups: true });
    await until(() => first.lookups === 1, 'worker A to look the account up');
    await first.kill();
    // A held the request and died with it: nothing was queued for the email yet.
    expect(await queue.getJobCounts()).toMatchObject({ waiting: 0, active: 1, completed: 0, delayed: 0 });
    expect(sink.messages).toHaveLength(0);

    const second = await spawn();
    const mail = await sink.mailTo('ada@example.test', RESET_SUBJECT, 15_000);
    await drained(2);
    await sink.untilNothingArriving();
    await second.close();

    expect(sink.messages).toHaveLength(1);
    const token = new URL(linkIn(mail.html as string, 'http://localhost:3000/reset-password?token=') as string).searchParams.get('token') as string;
    expect(await producer.emails.inspectToken(token, 'reset-password')).toMatchObject({ valid: true });
    // The event comes from the process that did the work, not from the one that answered.
    expect(second.events).toEqual([{ event: EmailEvent.PasswordResetRequested, payload: { userId: 'u-ada', email: 'ada@example.test', ip: IP } }]);
    expect(producer.events.seen[EmailEvent.PasswordResetRequested]).toEqual([]);
    expect(producerUsers.lookups).toEqual([]);
  }, 45_000);

  it('a worker SIGKILLed after it queued the reset email: the retried request queues no second one', async () => {
    const { sink, queue, producer, spawn, drained } = await start();
    expect(await producer.emails.requestPasswordReset('ada@example.test', { ip: IP })).toBeUndefined();

    // One job at a time, so A cannot take the email it queues; it dies inside the event that follows the queueing.
    const first = await spawn({ concurrency: 1, dieOn: EmailEvent.PasswordResetRequested });
    await within(first.exited, 15_000, 'worker A to kill itself');
    expect(await queue.getJobCounts()).toMatchObject({ waiting: 1, active: 1, completed: 0, delayed: 0 });

    const second = await spawn();
    await sink.mailTo('ada@example.test', RESET_SUBJECT, 15_000);
    // The stalled request ran again in B (its event says so) and found its email already queued.
    await until(() => second.events.length === 1, 'worker B to carry out the request again');
    await drained(2);
    await sink.untilNothingArriving();
    await second.close();
    expect(second.lookups).toBe(1);
    expect(sink.messages).toHaveLength(1);
  }, 45_000);

  it('a failing user directory: the request is retried until the email goes out, once', async () => {
    const { sink, producer, spawn, drained } = await start();
    expect(await producer.emails.requestPasswordReset('ada@example.test', { ip: IP })).toBeUndefined();

    const worker = await spawn({ failLookups: 2 });
    await sink.mailTo('ada@example.test', RESET_SUBJECT, 15_000);
    await drained(2);
    await sink.untilNothingArriving();
    await worker.close();
    expect(worker.lookups).toBe(3);
    expect(sink.messages).toHaveLength(1);
  }, 45_000);

  it('an unknown address completes with no email; resendVerification mails an unverified account only; every answer is the same', async () => {
    const { sink, producer, producerUsers, spawn, drained } = await start();
    const answers = [
      await producer.emails.requestPasswordReset('ada@example.test', { ip: IP }),
      await producer.emails.requestPasswordReset('nobody@example.test', { ip: IP }),
      await producer.emails.resendVerification('bo@example.test'),
      await producer.emails.resendVerification('cy@example.test'),
      await producer.emails.resendVerification('nobody@example.test'),
    ];
    expect(answers).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(producerUsers.lookups).toEqual([]);

    const worker = await spawn();
    // Five requests, and the two emails they lead to (ada's reset, bo's verification), all completed.
    await drained(7);
    await sink.untilNothingArriving();
    await worker.close();

    expect(worker.lookups).toBe(5);
    const received = sink.messages.map((mail) => `${mail.to && !Array.isArray(mail.to) ? mail.to.value[0]?.address : ''} ${mail.subject}`).sort();
    expect(received).toEqual(['ada@example.test Reset your Acme password', 'bo@example.test Confirm your email address for Acme']);
    expect(worker.events.map(({ event, payload }) => `${event} ${String(payload.userId)}`).sort()).toEqual([
      `${EmailEvent.VerificationRequested} u-bo`,
      `${EmailEvent.PasswordResetRequested} u-ada`,
    ]);
    expect(producer.logger.entries.filter((entry) => entry.level === 'error')).toEqual([]);
  }, 45_000);
});
