import { getQueueToken } from '@nestjs/bull-shared';
import { EMAIL_WORKFLOW_QUEUE_NAME, EmailWorkflowService } from 'nestjs-email-workflow';
import { deleteKeys, REDIS_URL, TEST_SECRET, uniquePrefix } from '../support/redis';
import { SmtpSink } from '../support/smtp-sink';
import { InspectableQueue, QUEUE_DRIVERS } from '../support/queue-drivers';
import { until } from '../support/wait';
import { WorkerChild, WorkerSettings } from '../support/worker-child';
import { BootedWorkflow, bootRedisWorkflow } from '../support/workflow';

async function enqueue(emails: EmailWorkflowService, count: number): Promise<string[]> {
  const messageIds: string[] = [];
  for (let start = 0; start < count; start += 250) {
    const batch = Array.from({ length: Math.min(250, count - start) }, (_, i) =>
      emails.send({ template: 'test-email', to: `user${start + i}@example.test` }),
    );
    for (const { messageId } of await Promise.all(batch)) messageIds.push(messageId);
  }
  return messageIds;
}

/** Waits until the queue holds every job as completed and nothing else (nothing waiting, active, delayed or failed). */
async function drained(queue: InspectableQueue, total: number, timeoutMs: number): Promise<void> {
  let counts: Record<string, number> | undefined;
  await until(
    async () => {
      counts = await queue.getJobCounts();
      return counts.completed === total && counts.waiting + counts.active + counts.delayed + counts.failed === 0;
    },
    () => `${total} jobs completed and nothing else; job counts ${JSON.stringify(counts)}`,
    timeoutMs,
    100,
  );
}

describe.each(QUEUE_DRIVERS)('%s queue with dedicated worker processes on one Redis', (driver) => {
  const cleanups: Array<() => Promise<void>> = [];
  const workers: WorkerChild[] = [];

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.kill()));
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  /** A sink, a prefix and a producer-only module (worker: false) in this process. */
  async function start(sinkOptions: Parameters<typeof SmtpSink.start>[0] = {}) {
    const sink = await SmtpSink.start(sinkOptions);
    cleanups.push(() => sink.close());
    const prefix = uniquePrefix();
    cleanups.push(() => deleteKeys(prefix));
    const producer: BootedWorkflow = await bootRedisWorkflow(sink.port, prefix, { driver, worker: false });
    cleanups.push(() => producer.moduleRef.close());
    const queue = producer.moduleRef.get<InspectableQueue>(getQueueToken(EMAIL_WORKFLOW_QUEUE_NAME));
    const spawn = (settings: Partial<WorkerSettings> = {}) => {
      const worker = WorkerChild.start({ smtpPort: sink.port, driver, redis: REDIS_URL, prefix, secret: TEST_SECRET, ...settings });
      workers.push(worker);
      return worker;
    };
    return { sink, prefix, producer, queue, spawn };
  }

  it('loses nothing when a worker is SIGKILLed mid-batch: a fresh worker sends the rest, duplicates bounded by the in-flight jobs', async () => {
    const TOTAL = 500;
    const CONCURRENCY = 5;
    // Short locks so the killed worker's jobs count as stalled within ~2 s: its locks expire
    // `lockDuration` after their last renewal, and the new worker checks for stalled jobs when it
    // starts and then every `stalledInterval`.
    const settings = { concurrency: CONCURRENCY, settings: { lockDuration: 2_000, stalledInterval: 1_000, maxStalledCount: 1 } };
    const { sink, producer, queue, spawn } = await start({ delayMs: 15 });

    const messageIds = await enqueue(producer.emails, TOTAL);
    expect(new Set(messageIds).size).toBe(TOTAL);

    const first = spawn(settings);
    await first.ready;
    await until(() => sink.messages.length >= 100, () => `100 messages before the kill, got ${sink.messages.length}`, 30_000, 2);
    await first.kill();
    const deliveredAtKill = sink.messages.length;
    // With the only worker dead, the active list is frozen: exactly the jobs the killed worker
    // had taken (each of its `concurrency` processing loops holds at most one job at a time).
    // Only these can reach the server without being marked completed, so only these can be sent twice.
    const inFlightAtKill = await queue.getActiveCount();
    expect(inFlightAtKill).toBeLessThanOrEqual(CONCURRENCY);
    expect(deliveredAtKill).toBeLessThan(TOTAL);

    const second = spawn(settings);
    await second.ready;
    await until(
      () => sink.countByMessageId().size >= TOTAL,
      () => `${TOTAL} distinct Message-IDs, ${sink.countByMessageId().size} arrived`,
      45_000,
      50,
    );
    await drained(queue, TOTAL, 15_000);
    // The killed worker's last messages may still be in the slow sink's delay: count them too.
    await sink.untilNothingArriving();

    const counts = sink.countByMessageId();
    const duplicates = sink.messages.length - counts.size;
    console.log(
      `SIGKILL mid-batch: ${deliveredAtKill} delivered before the kill, ${inFlightAtKill} jobs in flight at the kill, ` +
        `${duplicates} duplicate(s) among ${sink.messages.length} messages (bound: concurrency ${CONCURRENCY}); ` +
        `the fresh worker reported ${second.sent.length} sends`,
    );
    expect(new Set(counts.keys())).toEqual(new Set(messageIds));
    expect(duplicates).toBeLessThanOrEqual(inFlightAtKill);
    expect(duplicates).toBeLessThanOrEqual(CONCURRENCY);
    await second.close();
  }, 90_000);

  it('shares 3,000 emails between three worker processes, each sent exactly once', async () => {
    const TOTAL = 3_000;
    const { sink, producer, queue, spawn } = await start();
    const children = [spawn({ concurrency: 5 }), spawn({ concurrency: 5 }), spawn({ concurrency: 5 })];
    await Promise.all(children.map((child) => child.ready));

    const messageIds = await enqueue(producer.emails, TOTAL);
    expect(new Set(messageIds).size).toBe(TOTAL);
    // Generous: the bound is for a hang, not a speed target (a loaded 2-core machine sends about 50/s here).
    await sink.waitForMessages(TOTAL, 150_000);
    await drained(queue, TOTAL, 15_000);
    // Graceful close: each child exits only after its last 'sent' report reached this process.
    await Promise.all(children.map((child) => child.close()));

    const counts = sink.countByMessageId();
    const perChild = children.map((child) => child.sent.length);
    console.log(`three workers: ${sink.messages.length} messages, ${counts.size} distinct; sends per worker ${perChild.join(' / ')}`);
    expect(sink.messages).toHaveLength(TOTAL);
    expect(new Set(counts.keys())).toEqual(new Set(messageIds));
    expect([...counts.values()].every((count) => count === 1)).toBe(true);
    for (const sends of perChild) expect(sends).toBeGreaterThan(0);
    expect(perChild.reduce((sum, sends) => sum + sends, 0)).toBe(TOTAL);
    expect(new Set(children.flatMap((child) => child.sent))).toEqual(new Set(messageIds));
  }, 200_000);
});
