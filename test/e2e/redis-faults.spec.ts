import { ServiceUnavailableException } from '@nestjs/common';
import type { HealthCheckResult } from '@nestjs/terminus';
import { Test, TestingModule } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import { runInThisContext } from 'node:vm';
import type { ParsedMail } from 'mailparser';
import { EmailWorkflowService, QueueUnavailableError } from 'nestjs-email-workflow';
import { EmailQueueHealthIndicator } from 'nestjs-email-workflow/health';
import { HealthAppModule } from '../fixtures/health-app/health-app.module';
import { HealthController } from '../fixtures/health-app/health.controller';
import { CapturingLogger } from '../support/capturing-logger';
import { InMemoryUsers } from '../support/in-memory-users';
import { localOptions } from '../support/module-options';
import { TEST_SECRET, ThrowawayRedis, uniquePrefix } from '../support/redis';
import { QUEUE_DRIVERS } from '../support/queue-drivers';
import { linkIn, SmtpSink } from '../support/smtp-sink';
import { sleep, until } from '../support/wait';
import { FAST_RETRIES } from '../support/workflow';

const COMMAND_TIMEOUT = 300;
/** What "settles within commandTimeout" is held to: the timeout plus a second of slack for a busy machine. */
const BOUND = COMMAND_TIMEOUT + 1_000;

/** Settles as `call` does, or rejects once `ms` have passed with the call still pending. */
function withinMs<T>(call: () => Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms)));
  return Promise.race([call(), pending]).finally(() => clearTimeout(timer));
}

/** A well-formed token nobody issued: the token checks still have to ask Redis about it. */
const unissuedToken = () => randomBytes(32).toString('base64url');

function tokenIn(mail: ParsedMail, page: string): string {
  const link = linkIn(mail.html as string, `http://localhost:3000/${page}?token=`);
  if (!link) throw new Error(`no ${page} link in the email`);
  return new URL(link).searchParams.get('token') as string;
}

describe.each(QUEUE_DRIVERS)('%s: every Redis-backed call settles within queue.commandTimeout while Redis is frozen or refusing', (driver) => {
  let redis: ThrowawayRedis;
  let sink: SmtpSink;
  let moduleRef: TestingModule;
  let emails: EmailWorkflowService;
  let closed = false;
  const users = new InMemoryUsers();
  const logger = new CapturingLogger();
  let accounts = 0;

  beforeAll(async () => {
    redis = await ThrowawayRedis.start();
    sink = await SmtpSink.start();
    moduleRef = await Test.createTestingModule({
      imports: [
        HealthAppModule.withOptions(
          localOptions(sink.port, {
            secret: TEST_SECRET,
            users,
            queue: { redis: redis.url, driver, prefix: uniquePrefix(), ...FAST_RETRIES, commandTimeout: COMMAND_TIMEOUT },
          }),
        ),
      ],
    })
      .setLogger(logger)
      .compile();
    await moduleRef.init();
    emails = moduleRef.get(EmailWorkflowService);
  });

  afterAll(async () => {
    if (!closed) await moduleRef.close();
    await redis.stop();
    await sink.close();
  });

  /** Each public call that reaches Redis, on an address and tokens of its own. */
  function redisBackedCalls(): Array<[string, () => Promise<unknown>]> {
    const address = `fault-${++accounts}@example.test`;
    const user = users.add({ id: `fault-${accounts}`, email: address, emailVerified: false });
    return [
      ['requestPasswordReset', () => emails.requestPasswordReset(address, { ip: '203.0.113.7' })],
      ['resendVerification', () => emails.resendVerification(address)],
      ['startEmailVerification', () => emails.startEmailVerification(user)],
      ['inspectToken', () => emails.inspectToken(unissuedToken(), 'verify-email')],
      ['resetPassword', () => emails.resetPassword(unissuedToken(), async () => undefined)],
      ['verifyEmail', () => emails.verifyEmail(unissuedToken())],
      ['send({ idempotencyKey })', () => emails.send({ template: 'test-email', to: address, idempotencyKey: `fault-key-${accounts}` })],
      ['send()', () => emails.send({ template: 'test-email', to: address })],
      ['queueStatus', () => emails.queueStatus()],
    ];
  }

  /** Asserts every call rejects with QueueUnavailableError within the bound, one after the other. */
  async function expectEachUnavailable(): Promise<void> {
    for (const [name, call] of redisBackedCalls()) {
      const outcome = await withinMs(call, BOUND).then(
        () => 'resolved',
        (error: unknown) => error,
      );
      expect([name, outcome]).toEqual([name, expect.any(QueueUnavailableError)]);
    }
  }

  /** Once Redis answers again: verification, reset, idempotent and plain sends, and the status all work. */
  async function expectEverythingWorks(): Promise<void> {
    await until(async () => (await emails.queueStatus().catch(() => undefined)) !== undefined, 'the queue status to be read again', 20_000, 100);
    const address = `back-${++accounts}@example.test`;
    const user = users.add({ id: `back-${accounts}`, email: address, emailVerified: false });

    await emails.startEmailVerification(user);
    const verifyToken = tokenIn(await sink.mailTo(address, /Confirm your email/), 'verify-email');
    expect(await emails.inspectToken(verifyToken, 'verify-email')).toMatchObject({ valid: true });
    expect(await emails.verifyEmail(verifyToken)).toMatchObject({ id: user.id, emailVerified: true });
    await sink.mailTo(address, /Welcome/);

    await emails.requestPasswordReset(address, { ip: '203.0.113.8' });
    const resetToken = tokenIn(await sink.mailTo(address, /Reset your Acme password/), 'reset-password');
    expect(await emails.resetPassword(resetToken, async () => undefined)).toMatchObject({ id: user.id });
    await sink.mailTo(address, /password was changed/);

    const other = users.add({ id: `back-${accounts}-b`, email: `back-${accounts}-b@example.test`, emailVerified: false });
    await emails.resendVerification(other.email);
    await sink.mailTo(other.email, /Confirm your email/);

    const first = await emails.send({ template: 'test-email', to: address, idempotencyKey: `back-key-${accounts}` });
    expect(await emails.send({ template: 'test-email', to: address, idempotencyKey: `back-key-${accounts}` })).toEqual(first);
    const plain = await emails.send({ template: 'test-email', to: address });
    await sink.mailWithId(first.messageId);
    await sink.mailWithId(plain.messageId);
    expect(await emails.queueStatus()).toMatchObject({ durable: true, paused: false });
  }

  it('frozen (SIGSTOP): each call rejects with QueueUnavailableError, naming the timeout; after SIGCONT everything works', async () => {
    await expectEverythingWorks();
    redis.freeze();
    try {
      await expectEachUnavailable();
      const error = await emails.queueStatus().catch((e: unknown) => e);
      expect((error as QueueUnavailableError).code).toBe('EMAIL_WORKFLOW_QUEUE_UNAVAILABLE');
      expect((error as Error).message).toBe(
        `The email queue is unavailable: Redis did not answer within ${COMMAND_TIMEOUT} ms. The queue status could not be read. ` +
          'Fix: check that Redis at queue.redis is running and reachable, then retry.',
      );
    } finally {
      redis.thaw();
    }
    await expectEverythingWorks();
  });

  it('refusing connections (killed): each call rejects with QueueUnavailableError; once Redis is back everything works', async () => {
    const port = redis.port;
    await redis.stop();
    try {
      // Logged once the clients have lost Redis: from then on they reconnect and are refused.
      await until(() => logger.entries.some((entry) => entry.message.includes('is unreachable (')), 'the outage to be logged');
      await expectEachUnavailable();
    } finally {
      redis = await ThrowawayRedis.start({ port });
    }
    await expectEverythingWorks();
  });

  it('the queue health indicator is down within its own timeout while Redis is frozen', async () => {
    const indicator = moduleRef.get(EmailQueueHealthIndicator);
    const health = moduleRef.get(HealthController);
    expect(await indicator.isHealthy('email-queue')).toMatchObject({ 'email-queue': { status: 'up', durable: true } });
    redis.freeze();
    try {
      // Its own timeout, shorter than commandTimeout here, decides.
      expect(await withinMs(() => indicator.isHealthy('email-queue', { timeout: 100 }), 100 + 1_000)).toEqual({
        'email-queue': {
          status: 'down',
          message: 'queue unreachable: no answer within 100 ms; check that Redis at queue.redis is running and reachable',
        },
      });
      // Through Terminus, as GET /health runs it: a 503 whose body names the queue as down.
      const error = await withinMs(() => health.check(), BOUND).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ServiceUnavailableException);
      const body = (error as ServiceUnavailableException).getResponse() as HealthCheckResult;
      expect(body.error?.['email-queue']).toEqual({ status: 'down', message: expect.stringContaining('queue unreachable: ') });
      expect(body.info?.smtp).toMatchObject({ status: 'up' });
    } finally {
      redis.thaw();
    }
    await until(async () => (await indicator.isHealthy('email-queue')) ['email-queue'].status === 'up', 'the queue to be healthy again');
  });

  it('app.close() during a freeze finishes within shutdownTimeout and leaves no rejection unhandled', async () => {
    // Jest gives each test file a process object of its own; Node reports unhandled rejections on the real one.
    const realProcess = runInThisContext('process') as NodeJS.Process;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    realProcess.on('unhandledRejection', onUnhandled);
    try {
      // A batch, so the worker is mid-way through it at the freeze: jobs in flight are what Bull's close waits for.
      const address = `closing-${++accounts}@example.test`;
      for (let i = 0; i < 30; i++) await emails.send({ template: 'test-email', to: address });
      await sink.mailTo(address, /Test email/);
      redis.freeze();
      // Calls in flight when the app closes settle too, and are handled by their callers.
      const inFlight = [emails.queueStatus(), emails.send({ template: 'test-email', to: address })].map((call) => call.catch((e: unknown) => e));
      await withinMs(() => moduleRef.close(), (FAST_RETRIES.shutdownTimeout as number) + 2_000);
      closed = true;
      expect(await Promise.all(inFlight)).toEqual([expect.any(QueueUnavailableError), expect.any(QueueUnavailableError)]);
      // Nothing to wait for: the window proves that no late rejection surfaces once the connections are gone.
      await sleep(500);
      redis.thaw();
      await sleep(300);
      expect(unhandled).toEqual([]);
    } finally {
      redis.thaw();
      realProcess.off('unhandledRejection', onUnhandled);
    }
  });
});
