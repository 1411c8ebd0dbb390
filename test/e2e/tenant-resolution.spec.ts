import { Test } from '@nestjs/testing';
import { EmailEvent, EmailEventSubscriptions, EmailWorkflowModule, EmailWorkflowService, InvalidOptionsError } from 'nestjs-email-workflow';
import { SilentLogger } from '../support/capturing-logger';
import { localOptions } from '../support/module-options';
import { until } from '../support/wait';
import { EventLog } from '../support/workflow';

const QUEUE = { redis: false as const, probeInterval: 200, backoff: { delay: 20, maxDelay: 100 }, attempts: 2 };

/** The tenant path resolves settings to a typed result: invalid ones pause the tenant, and so does a failing resolver, asked again at each probe. */
describe('tenant transport resolution at run time', () => {
  const resolverCalls: string[] = [];

  async function boot() {
    const moduleRef = await Test.createTestingModule({
      imports: [
        EmailWorkflowModule.forRoot(
          localOptions(2599, {
            queue: QUEUE,
            transportResolver: async (id) => {
              resolverCalls.push(id);
              if (id === 'invalid') return { host: 'smtp.example.test', port: 99999 };
              throw new Error('tenant database unreachable');
            },
          }),
        ),
      ],
    })
      .setLogger(new SilentLogger())
      .compile();
    const events = new EventLog(moduleRef.get(EmailEventSubscriptions));
    await moduleRef.init();
    return { moduleRef, events, emails: moduleRef.get(EmailWorkflowService) };
  }

  it('invalid settings pause that tenant, naming the field; diagnoseTransport throws InvalidOptionsError', async () => {
    const { moduleRef, events, emails } = await boot();
    try {
      await emails.send({ template: 'test-email', to: 'a@example.test', tenant: 'invalid' });
      const [paused] = await events.waitFor(EmailEvent.DeliveryPaused, 1);
      expect(paused.tenant).toBe('invalid');
      expect(paused.reason).toContain('The SMTP settings of tenant "invalid" could not be resolved');
      expect(paused.reason).toContain('transportResolver("invalid").port: must be a port number');
      expect(events.seen[EmailEvent.Failed]).toHaveLength(0);

      const error = await emails.diagnoseTransport('invalid').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect((error as InvalidOptionsError).problems.map((problem) => problem.path)).toEqual(['transportResolver("invalid").port']);
    } finally {
      await moduleRef.close();
    }
  });

  it('a resolver that throws pauses that tenant, never fails its email, and is asked again at each probe', async () => {
    const { moduleRef, events, emails } = await boot();
    try {
      await emails.send({ template: 'test-email', to: 'b@example.test', tenant: 'down' });
      const [paused] = await events.waitFor(EmailEvent.DeliveryPaused, 1);
      expect(paused).toMatchObject({ tenant: 'down' });
      expect(paused.reason).toBe('The SMTP settings of tenant "down" could not be resolved: tenant database unreachable');
      const askedAtPause = resolverCalls.filter((id) => id === 'down').length;
      await until(() => resolverCalls.filter((id) => id === 'down').length >= askedAtPause + 2, 'two probes that asked the resolver again');
      expect(events.seen[EmailEvent.Failed]).toHaveLength(0);
      expect(events.seen[EmailEvent.Retrying]).toHaveLength(0);
      expect(events.seen[EmailEvent.DeliveryPaused]).toHaveLength(1);
      expect((await emails.queueStatus()).pausedTenants).toEqual(['down']);
    } finally {
      await moduleRef.close();
    }
  });
});
