import { Test } from '@nestjs/testing';
import { Cluster } from 'ioredis';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmailWorkflowModule, EmailWorkflowService, RedisSetupError } from 'nestjs-email-workflow';
import type { EmailQueueDriver, EmailQueueOptions } from 'nestjs-email-workflow';
import { CapturingLogger } from '../support/capturing-logger';
import { localOptions } from '../support/module-options';
import { QUEUE_DRIVERS } from '../support/queue-drivers';
import { TEST_SECRET, ThrowawayRedis, uniquePrefix } from '../support/redis';
import { ThrowawayCluster } from '../support/redis-topologies';
import { SmtpSink } from '../support/smtp-sink';
import { FAST_RETRIES } from '../support/workflow';

// Issue 21, point 4: the boot check tells the truth: a cluster reached as one server and the reverse,
// a read-only replica, each with its own code and fix; the app's own Cluster factory works, and
// without a hash-tag prefix is refused.

describe('the Redis boot check', () => {
  let cluster: ThrowawayCluster;
  let master: ThrowawayRedis;
  let replica: ThrowawayRedis;
  let sink: SmtpSink;
  // The replica writes the RDB it syncs: into a folder of the test's own, not the working directory.
  const dir = mkdtempSync(join(tmpdir(), 'ew-boot-check-'));

  beforeAll(async () => {
    cluster = await ThrowawayCluster.start({ masters: 3 });
    master = await ThrowawayRedis.start({ args: ['--dir', dir] });
    replica = await ThrowawayRedis.start({ args: ['--dir', dir, '--dbfilename', 'replica.rdb', '--replicaof', '127.0.0.1', String(master.port)] });
    sink = await SmtpSink.start();
  });

  afterAll(async () => {
    await sink?.close();
    await replica?.stop();
    await master?.stop();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe.each(QUEUE_DRIVERS)('%s', (driver: EmailQueueDriver) => {
    async function boot(queue: Partial<EmailQueueOptions>): Promise<{ logger: CapturingLogger; close(): Promise<void>; emails: EmailWorkflowService }> {
      const logger = new CapturingLogger();
      const moduleRef = await Test.createTestingModule({
        imports: [EmailWorkflowModule.forRoot(localOptions(sink.port, { secret: TEST_SECRET, queue: { redis: false, driver, prefix: uniquePrefix(), ...FAST_RETRIES, commandTimeout: 2_000, ...queue } }))],
      })
        .setLogger(logger)
        .compile();
      await moduleRef.init();
      return { logger, close: () => moduleRef.close(), emails: moduleRef.get(EmailWorkflowService) };
    }

    async function bootError(queue: Partial<EmailQueueOptions>): Promise<RedisSetupError> {
      const error = await boot(queue).then(
        async (booted) => {
          await booted.close();
          return new Error('expected the boot to fail');
        },
        (thrown: unknown) => thrown,
      );
      if (!(error instanceof RedisSetupError)) throw new Error(`expected RedisSetupError, got ${String(error)}`);
      return error;
    }

    it('a cluster node given as one server is EMAIL_WORKFLOW_REDIS_MODE_MISMATCH, with the cluster form as the fix', async () => {
      const error = await bootError({ redis: `redis://127.0.0.1:${cluster.nodes[0].port}`, prefix: `{${uniquePrefix()}}` });
      expect(error.code).toBe('EMAIL_WORKFLOW_REDIS_MODE_MISMATCH');
      expect(error.message).toContain('{ cluster: { nodes: [...] } }');
    });

    it('a single server given as a cluster is EMAIL_WORKFLOW_REDIS_MODE_MISMATCH, with the URL as the fix', async () => {
      const error = await bootError({ redis: [`redis://127.0.0.1:${master.port}`], prefix: `{${uniquePrefix()}}` });
      expect(error.code).toBe('EMAIL_WORKFLOW_REDIS_MODE_MISMATCH');
      expect(error.message).toContain('single redis:// URL');
    });

    it('a read-only replica is EMAIL_WORKFLOW_REDIS_READ_ONLY, with the master or Sentinel as the fix', async () => {
      const error = await bootError({ redis: `redis://127.0.0.1:${replica.port}` });
      expect(error.code).toBe('EMAIL_WORKFLOW_REDIS_READ_ONLY');
      expect(error.message).toContain('master');
    });

    it("the app's own Cluster factory: one client per role, a hash-tag prefix required; the log names the clients", async () => {
      const nodes = [{ host: '127.0.0.1', port: cluster.nodes[0].port }];
      const roles: string[] = [];
      const factory = (role: string) => {
        roles.push(role);
        return new Cluster(nodes, { redisOptions: role === 'commands' ? {} : { maxRetriesPerRequest: null, enableReadyCheck: false } });
      };
      const refused = await bootError({ redis: factory, prefix: 'no-tag' });
      expect(refused.code).toBe('EMAIL_WORKFLOW_REDIS_MODE_MISMATCH');
      expect(refused.message).toContain('"{no-tag}"');

      const booted = await boot({ redis: factory, prefix: `{${uniquePrefix()}}` });
      try {
        await booted.emails.send({ template: 'test-email', to: 'factory@example.test' });
        await sink.mailTo('factory@example.test', /test/i, 20_000);
        expect(roles).toEqual(expect.arrayContaining(['commands', 'blocking']));
        expect(booted.logger.text()).toContain('the client queue.redis returns');
      } finally {
        await booted.close();
      }
    });
  });
});
