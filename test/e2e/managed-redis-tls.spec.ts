import { Test } from '@nestjs/testing';
import Redis from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { inspect } from 'node:util';
import { EmailWorkflowModule, EmailWorkflowService, QueueUnavailableError, RedisSetupError } from 'nestjs-email-workflow';
import type { EmailQueueDriver, EmailRedisOptions } from 'nestjs-email-workflow';
import { CapturingLogger } from '../support/capturing-logger';
import { InMemoryUsers } from '../support/in-memory-users';
import { localOptions } from '../support/module-options';
import { QUEUE_DRIVERS } from '../support/queue-drivers';
import { TEST_SECRET, uniquePrefix } from '../support/redis';
import { PlainListener, ThrowawayTlsRedis } from '../support/redis-topologies';
import { SmtpSink } from '../support/smtp-sink';
import { until } from '../support/wait';
import { FAST_RETRIES } from '../support/workflow';

// Issue 21, point 3: TLS that never leaks the password, ACL users, and a boot check that tells the truth.

const PASSWORD = 'tls-pass:w@rd/0123456789';
const COMMAND_TIMEOUT = 2_000;

describe.each(QUEUE_DRIVERS)('%s on a TLS Redis with ACL users', (driver: EmailQueueDriver) => {
  let server: ThrowawayTlsRedis;
  let sink: SmtpSink;
  let admin: Redis;

  beforeAll(async () => {
    server = await ThrowawayTlsRedis.start({
      users: [
        { name: 'app', password: PASSWORD },
        { name: 'noinfo', password: PASSWORD, rules: '~* &* +@all -info' },
        { name: 'noeval', password: PASSWORD, rules: '~* &* +@all -eval -evalsha' },
      ],
    });
    sink = await SmtpSink.start();
    admin = new Redis({ host: '127.0.0.1', port: server.port, username: 'app', password: PASSWORD, tls: { ca: server.caPem } });
  });

  afterAll(async () => {
    admin.disconnect();
    await sink.close();
    await server.stop();
  });

  function options(redis: EmailRedisOptions) {
    const users = new InMemoryUsers();
    users.add({ id: 'ada-1', email: 'ada@example.test', name: 'Ada' });
    return localOptions(sink.port, { secret: TEST_SECRET, users, queue: { redis, driver, prefix: uniquePrefix(), ...FAST_RETRIES, commandTimeout: COMMAND_TIMEOUT } });
  }

  async function bootError(redis: EmailRedisOptions): Promise<Error> {
    const moduleRef = await Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(options(redis))] })
      .setLogger(new CapturingLogger())
      .compile()
      .then(async (compiled) => {
        await compiled.init();
        return compiled;
      })
      .catch((error: unknown) => error as Error);
    if (!(moduleRef instanceof Error)) {
      await moduleRef.close();
      throw new Error('expected the boot to fail');
    }
    return moduleRef;
  }

  /** Connections to the server other than this CLIENT LIST: a failed boot may leave none (nor keep opening them). */
  async function othersConnected(): Promise<number> {
    const list = (await admin.client('LIST')) as string;
    return list.split('\n').filter((line) => line.includes('addr=') && !line.includes('cmd=client|list')).length;
  }

  const trusted: RedisOptions = {};
  beforeAll(() => Object.assign(trusted, { host: '127.0.0.1', username: 'app', password: PASSWORD, tls: { ca: server.caPem } }));

  it('connects over TLS with the CA and an ACL user: an email and an account request go through', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(options({ ...trusted, port: server.port }))] })
      .setLogger(new CapturingLogger())
      .compile();
    await moduleRef.init();
    try {
      const emails = moduleRef.get(EmailWorkflowService);
      await emails.send({ template: 'test-email', to: 'bo@example.test' });
      await emails.requestPasswordReset('ada@example.test');
      await sink.mailTo('bo@example.test', /test/i, 20_000);
      await sink.mailTo('ada@example.test', /reset/i, 20_000);
    } finally {
      await moduleRef.close();
    }
  });

  it('rediss:// speaks TLS from the first byte: a plain listener in its place sees a TLS handshake, never AUTH or the password', async () => {
    const listener = await PlainListener.start();
    try {
      const error = await bootError(`rediss://app:${encodeURIComponent(PASSWORD)}@127.0.0.1:${listener.port}`);
      expect(error).toBeInstanceOf(QueueUnavailableError);
      expect(listener.connections).toBeGreaterThan(0);
      const received = listener.received();
      // 0x16: a TLS handshake record (the ClientHello).
      expect(received[0]).toBe(0x16);
      expect(received.toString('latin1')).not.toMatch(/AUTH/i);
      expect(received.toString('latin1')).not.toContain(PASSWORD);
      expect(inspect(error, { depth: 10 })).not.toContain(PASSWORD);
    } finally {
      await listener.close();
    }
  });

  it.each<[string, () => EmailRedisOptions, string]>([
    ['a certificate from an untrusted CA', () => ({ ...trusted, port: server.port, tls: { ca: server.untrustedCaPem } }), 'EMAIL_WORKFLOW_REDIS_TLS_UNTRUSTED'],
    ['a wrong password', () => ({ ...trusted, port: server.port, password: `${PASSWORD}-wrong` }), 'EMAIL_WORKFLOW_REDIS_AUTH_FAILED'],
    ['an ACL user without INFO', () => ({ ...trusted, port: server.port, username: 'noinfo' }), 'EMAIL_WORKFLOW_REDIS_NO_PERMISSION'],
    ['an ACL user without EVAL', () => ({ ...trusted, port: server.port, username: 'noeval' }), 'EMAIL_WORKFLOW_REDIS_NO_PERMISSION'],
  ])('%s fails the boot with its own RedisSetupError, no password anywhere in it, and no connection left spinning', async (_label, redis, code) => {
    const before = await othersConnected();
    const error = await bootError(redis());
    expect(error).toBeInstanceOf(RedisSetupError);
    expect((error as RedisSetupError).code).toBe(code);
    expect(error.message).toContain('Fix: ');
    expect(error.message).toContain(`127.0.0.1:${server.port}`);
    const shown = inspect(error, { depth: 10, showHidden: true });
    expect(shown).not.toContain(PASSWORD);
    expect(JSON.stringify((error as { cause?: unknown }).cause ?? {})).not.toContain(PASSWORD);
    await until(async () => (await othersConnected()) <= before, 'every connection of the failed boot closed', 5_000);
  });
});
