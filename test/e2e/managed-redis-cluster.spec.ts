import { Test, TestingModule } from '@nestjs/testing';
import { randomUUID } from 'node:crypto';
import type { ParsedMail } from 'mailparser';
import { EmailBounceProcessor, EmailDeliveryLog, EmailSuppressions, EmailWorkflowModule, EmailWorkflowService } from 'nestjs-email-workflow';
import type { EmailQueueDriver, EmailWorkflowModuleOptions } from 'nestjs-email-workflow';
import { dsn } from '../support/bounce-reports';
import { CapturingLogger } from '../support/capturing-logger';
import { InMemoryUsers } from '../support/in-memory-users';
import { localOptions } from '../support/module-options';
import { QUEUE_DRIVERS } from '../support/queue-drivers';
import { TEST_SECRET } from '../support/redis';
import { ThrowawayCluster } from '../support/redis-topologies';
import { linkIn, SmtpSink } from '../support/smtp-sink';
import { until, untilQueueIdle } from '../support/wait';
import { FAST_RETRIES } from '../support/workflow';

// Issue 21, point 1: a 3-master Redis Cluster with a replica each, on both drivers: the flows, a slot
// migration and a replica failover mid-load.

const APP = 'http://localhost:3000';

function tokenIn(mail: ParsedMail, page: string): string {
  const link = linkIn(mail.html as string, `${APP}/${page}?token=`);
  if (!link) throw new Error(`no ${page} link in the email`);
  return new URL(link).searchParams.get('token') as string;
}

function codeIn(mail: ParsedMail): string {
  const found = /^\s*(\d{6,10})\s*$/m.exec(mail.text ?? '');
  if (!found) throw new Error(`no code in the email "${mail.subject}"`);
  return found[1];
}

describe('on a Redis Cluster (3 masters, 1 replica each)', () => {
  let cluster: ThrowawayCluster;
  let sink: SmtpSink;

  beforeAll(async () => {
    cluster = await ThrowawayCluster.start({ masters: 3, replicas: 1 });
    sink = await SmtpSink.start();
  });

  afterAll(async () => {
    await sink?.close();
    await cluster?.stop();
  });

  describe.each(QUEUE_DRIVERS)('%s', (driver: EmailQueueDriver) => {
    let moduleRef: TestingModule | undefined;
    let tag: string;

    beforeEach(() => {
      sink.messages.length = 0;
      tag = `ew-${randomUUID().slice(0, 8)}`;
    });

    afterEach(async () => {
      await moduleRef?.close();
      moduleRef = undefined;
    });

    async function boot(overrides: Partial<EmailWorkflowModuleOptions> = {}): Promise<EmailWorkflowService> {
      const users = new InMemoryUsers();
      users.add({ id: 'ada-1', email: 'ada@example.test', name: 'Ada', emailVerified: false });
      moduleRef = await Test.createTestingModule({
        imports: [
          EmailWorkflowModule.forRoot(
            localOptions(sink.port, {
              secret: TEST_SECRET,
              users,
              links: {
                ...localOptions(0).links,
                signIn: `${APP}/sign-in?token={token}`,
                confirmEmailChange: `${APP}/confirm-email-change?token={token}`,
                revertEmailChange: `${APP}/revert-email-change?token={token}`,
              },
              flows: { signIn: { delivery: 'both' } },
              // One seed node: the client finds the others.
              queue: { redis: { cluster: { nodes: [cluster.nodes[0]] } }, driver, prefix: `{${tag}}`, ...FAST_RETRIES },
              ...overrides,
            }),
          ),
        ],
      })
        .setLogger(new CapturingLogger())
        .compile();
      await moduleRef.init();
      return moduleRef.get(EmailWorkflowService);
    }

    it('runs the flows: send, verification, reset, sign-in by code, email change and its revert, suppression, queue status', async () => {
      const emails = await boot();
      await emails.send({ template: 'test-email', to: 'bo@example.test' });
      await emails.startEmailVerification({ id: 'ada-1', email: 'ada@example.test', name: 'Ada' });
      await expect(emails.verifyEmail(tokenIn(await sink.mailTo('ada@example.test', /confirm/i, 20_000), 'verify-email'))).resolves.toMatchObject({ emailVerified: true });
      await emails.requestPasswordReset('ada@example.test');
      const reset = tokenIn(await sink.mailTo('ada@example.test', /reset/i, 20_000), 'reset-password');
      const applied: string[] = [];
      await emails.resetPassword(reset, async (user) => void applied.push(user.id));
      expect(applied).toEqual(['ada-1']);
      await emails.requestSignIn('ada@example.test');
      await expect(emails.completeSignInWithCode('ada@example.test', codeIn(await sink.mailTo('ada@example.test', /sign in/i, 20_000)))).resolves.toMatchObject({ id: 'ada-1' });
      await emails.requestEmailChange({ id: 'ada-1', email: 'ada@example.test', name: 'Ada' }, 'ada.new@example.test');
      const confirm = tokenIn(await sink.mailTo('ada.new@example.test', /confirm/i, 20_000), 'confirm-email-change');
      const revert = tokenIn(await sink.mailTo('ada@example.test', /being changed/i, 20_000), 'revert-email-change');
      await expect(emails.confirmEmailChange(confirm)).resolves.toMatchObject({ email: 'ada.new@example.test' });
      await expect(emails.revertEmailChange(revert)).resolves.toMatchObject({ email: 'ada@example.test' });
      const suppressions = (moduleRef as TestingModule).get(EmailSuppressions);
      await suppressions.add('gone@example.test', 'bounce', { code: '5.1.1' });
      expect(await suppressions.has('gone@example.test')).toBe(true);
      await expect(emails.send({ template: 'test-email', to: 'gone@example.test' })).resolves.toMatchObject({ cancelled: { reason: 'suppressed' } });
      await sink.mailTo('bo@example.test', /test/i, 20_000);
      await untilQueueIdle(emails, 20_000);
      expect(await emails.queueStatus()).toMatchObject({ durable: true, waiting: 0, active: 0, failed: 0 });
    });

    it('keeps the delivery log (per-address cap deletes the oldest) and counts a bounce report once, in the prefix\'s one slot', async () => {
      const emails = await boot({ bounces: { address: 'bounces@acme.test' }, deliveryLog: { perAddress: 2 } });
      const log = (moduleRef as TestingModule).get(EmailDeliveryLog);
      const reports = (moduleRef as TestingModule).get(EmailBounceProcessor);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await emails.send({ template: 'test-email', to: 'cy@example.test' })).messageId);
      await until(async () => (await Promise.all(ids.slice(1).map((id) => log.get(id)))).every((record) => record?.status === 'sent'), 'the last two sent in the log', 20_000);
      expect((await log.find({ to: 'cy@example.test' })).map((record) => record.messageId)).toEqual([ids[2], ids[1]]);
      expect(await log.get(ids[0])).toBeUndefined();
      const report = dsn({ recipient: 'cy@example.test', messageId: ids[2] });
      await expect(reports.process(report)).resolves.toMatchObject({ outcome: 'recorded', suppressed: true });
      await expect(reports.process(report)).resolves.toMatchObject({ outcome: 'ignored', reason: 'duplicate' });
      expect((await log.get(ids[2]))!.status).toBe('bounced');
    });

    async function sendUnderLoad(emails: EmailWorkflowService, count: number, midway: () => Promise<void>): Promise<string[]> {
      const ids: string[] = [];
      for (let i = 0; i < count; i++) {
        if (i === Math.floor(count / 2)) await midway();
        ids.push((await emails.send({ template: 'test-email', to: `load${i}@example.test` })).messageId);
      }
      return ids;
    }

    async function expectAllDelivered(ids: string[]): Promise<void> {
      await until(() => ids.every((id) => sink.messages.some((mail) => mail.messageId === id)), () => `all ${ids.length} accepted emails delivered, have ${sink.messages.length}`, 60_000);
    }

    it("a slot migration of the prefix's slot mid-load: every accepted email is delivered, no call fails", async () => {
      const emails = await boot();
      const ids = await sendUnderLoad(emails, 60, async () => {
        const slot = await cluster.slotOf(`{${tag}}`);
        const owner = await cluster.masterFor(`{${tag}}`);
        const target = (await cluster.masters()).find((master) => master.port !== owner.port);
        await cluster.migrateSlot(slot, (target as { port: number }).port);
      });
      await expectAllDelivered(ids);
    });

    it("a replica failover of the prefix's master mid-load: every accepted email is delivered, no call fails", async () => {
      const emails = await boot();
      const ids = await sendUnderLoad(emails, 60, async () => {
        const owner = await cluster.masterFor(`{${tag}}`);
        const [replica] = await cluster.replicasOf(owner.port);
        await cluster.failover(replica.port);
      });
      await expectAllDelivered(ids);
    });
  });
});
