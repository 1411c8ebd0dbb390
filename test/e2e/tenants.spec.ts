import { Test } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import {
  EmailEvent,
  EmailEventSubscriptions,
  EmailTransportOption,
  EmailWorkflowModule,
  EmailWorkflowModuleOptions,
  EmailWorkflowService,
  encryptCredential,
} from 'nestjs-email-workflow';
import { SilentLogger } from '../support/capturing-logger';
import { localOptions } from '../support/module-options';
import { SmtpSink } from '../support/smtp-sink';
import { until, untilQueueIdle } from '../support/wait';
import { EventLog } from '../support/workflow';

const QUEUE = { redis: false as const, probeInterval: 200, backoff: { delay: 20, maxDelay: 100 } };
/** The tenants' servers here run on loopback, which tenant transports may not reach unless allowed (see tenant-ssrf.spec.ts). */
const LOOPBACK_TENANTS = { allowPrivateNetworks: ['127.0.0.0/8'] };

function recipients(sink: SmtpSink): string[] {
  return sink.messages.map((mail) => (mail.to && !Array.isArray(mail.to) ? mail.to.value[0].address ?? '' : '')).sort();
}

describe('per-tenant transports (transportResolver)', () => {
  const cleanups: Array<() => Promise<void>> = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function startSink(credentials?: { user: string; pass: string }): Promise<SmtpSink> {
    const sink = await SmtpSink.start({ credentials });
    cleanups.push(() => sink.close());
    return sink;
  }

  async function boot(options: EmailWorkflowModuleOptions) {
    const moduleRef = await Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(options)] })
      .setLogger(new SilentLogger())
      .compile();
    const events = new EventLog(moduleRef.get(EmailEventSubscriptions));
    await moduleRef.init();
    cleanups.push(() => moduleRef.close());
    return { emails: moduleRef.get(EmailWorkflowService), events };
  }

  it('routes each tenant to its own server, and pauses only the tenant whose login is refused', async () => {
    const key = randomBytes(32).toString('base64url');
    const sinkDefault = await startSink();
    const sinkA = await startSink({ user: 'tenant-a', pass: 'a-password' });
    const sinkB = await startSink({ user: 'tenant-b', pass: 'b-password' });
    const calls: string[] = [];
    const { emails, events } = await boot(
      localOptions(sinkDefault.port, {
        queue: QUEUE,
        tenantTransports: LOOPBACK_TENANTS,
        credentialKeys: [key],
        transportResolver: async (id): Promise<EmailTransportOption> => {
          calls.push(id);
          return {
            host: '127.0.0.1',
            port: id === 'a' ? sinkA.port : sinkB.port,
            security: 'none',
            // A pooled connection that has logged in stays logged in; without a pool every email
            // logs in afresh, so the test sees a password change at once.
            pool: false,
            // Tenant B's password is stored encrypted, as a resolver reading a database would return it.
            auth: id === 'a' ? { user: 'tenant-a', pass: 'a-password' } : { user: 'tenant-b', pass: encryptCredential('b-password', key) },
          };
        },
      }),
    );

    // Routing: tenant a → A only, tenant b → B only, no tenant → the default transport.
    await Promise.all([
      emails.send({ template: 'test-email', to: 'a1@example.test', tenant: 'a' }),
      emails.send({ template: 'test-email', to: 'a2@example.test', tenant: 'a' }),
      emails.send({ template: 'test-email', to: 'b1@example.test', tenant: 'b' }),
      emails.send({ template: 'test-email', to: 'b2@example.test', tenant: 'b' }),
      emails.send({ template: 'test-email', to: 'plain@example.test' }),
    ]);
    await Promise.all([sinkA.waitForMessages(2), sinkB.waitForMessages(2), sinkDefault.waitForMessages(1)]);
    await events.waitFor(EmailEvent.Sent, 5);
    await untilQueueIdle(emails);
    expect(recipients(sinkA)).toEqual(['a1@example.test', 'a2@example.test']);
    expect(recipients(sinkB)).toEqual(['b1@example.test', 'b2@example.test']);
    expect(recipients(sinkDefault)).toEqual(['plain@example.test']);
    expect(events.seen[EmailEvent.Sent].map((sent) => `${sent.tenant ?? '-'} ${sent.to}`).sort()).toEqual([
      '- plain@example.test',
      'a a1@example.test',
      'a a2@example.test',
      'b b1@example.test',
      'b b2@example.test',
    ]);
    expect(events.seen[EmailEvent.Queued].find((queued) => queued.to === 'b1@example.test')).toMatchObject({ tenant: 'b' });
    // Cached: one resolver call per tenant, however many emails.
    expect(calls.sort()).toEqual(['a', 'b']);

    // Tenant A's server now refuses its login: A pauses, B and the default keep sending.
    sinkA.credentials = { user: 'tenant-a', pass: 'rotated-at-the-provider' };
    const heldA = await Promise.all([
      emails.send({ template: 'test-email', to: 'a3@example.test', tenant: 'a' }),
      emails.send({ template: 'test-email', to: 'a4@example.test', tenant: 'a' }),
    ]);
    const [paused] = await events.waitFor(EmailEvent.DeliveryPaused, 1);
    const loginsAtPause = sinkA.authAttempts.length;
    expect(paused).toMatchObject({ tenant: 'a', responseCode: 535 });
    expect(paused.reason).toMatch(/refused the login/);

    await Promise.all([
      emails.send({ template: 'test-email', to: 'b3@example.test', tenant: 'b' }),
      emails.send({ template: 'test-email', to: 'b4@example.test', tenant: 'b' }),
      emails.send({ template: 'test-email', to: 'plain2@example.test' }),
    ]);
    await Promise.all([sinkB.waitForMessages(4), sinkDefault.waitForMessages(2)]);
    // Paused, A is probed every 200 ms: two more refused logins show it stayed paused through two probes.
    await until(() => sinkA.authAttempts.length >= loginsAtPause + 2, 'two refused probes of tenant A');
    expect(recipients(sinkB)).toEqual(['b1@example.test', 'b2@example.test', 'b3@example.test', 'b4@example.test']);
    expect(recipients(sinkDefault)).toEqual(['plain2@example.test', 'plain@example.test']);
    expect(sinkA.messages).toHaveLength(2);
    expect(events.seen[EmailEvent.DeliveryPaused]).toEqual([paused]);
    expect(events.seen[EmailEvent.DeliveryResumed]).toHaveLength(0);
    expect(events.seen[EmailEvent.Failed]).toHaveLength(0);
    expect((await emails.queueStatus()).paused).toBe(false);

    // Fixed: A's held emails go out, once each.
    sinkA.credentials = { user: 'tenant-a', pass: 'a-password' };
    const [resumed] = await events.waitFor(EmailEvent.DeliveryResumed, 1);
    expect(resumed.tenant).toBe('a');
    expect(resumed.pausedForMs).toBeGreaterThan(0);
    await sinkA.waitForMessages(4);
    await untilQueueIdle(emails);
    expect(recipients(sinkA)).toEqual(['a1@example.test', 'a2@example.test', 'a3@example.test', 'a4@example.test']);
    expect(sinkA.messages.filter((mail) => heldA.some((held) => held.messageId === mail.messageId))).toHaveLength(2);
    expect(sinkB.messages).toHaveLength(4);
    expect(events.seen[EmailEvent.DeliveryPaused]).toHaveLength(1);
    expect(events.seen[EmailEvent.Failed]).toHaveLength(0);
    expect(events.seen[EmailEvent.Retrying]).toHaveLength(0);
    // Deliveries reused the cached settings; each probe of paused tenant A asked the resolver again (issue 11).
    expect(calls.filter((id) => id === 'b')).toEqual(['b']);
    expect(calls.filter((id) => id === 'a').length).toBeGreaterThanOrEqual(1 + 2);
  });

  it('diagnoses a tenant transport by tenant id', async () => {
    const sinkDefault = await startSink();
    const sinkA = await startSink({ user: 'tenant-a', pass: 'a-password' });
    const { emails } = await boot(
      localOptions(sinkDefault.port, {
        queue: QUEUE,
        tenantTransports: LOOPBACK_TENANTS,
        transportResolver: async () => ({ host: '127.0.0.1', port: sinkA.port, security: 'none', auth: { user: 'tenant-a', pass: 'wrong' } }),
      }),
    );
    const diagnosis = await emails.diagnoseTransport('a');
    expect(diagnosis).toMatchObject({ ok: false, transport: `smtp://tenant-a:***@127.0.0.1:${sinkA.port} (no TLS)`, failure: { code: 'AUTH_FAILED' } });
    expect((await emails.diagnoseTransport()).ok).toBe(true);
  });

  it('tenantTransports.maxCached: 1 closes the least recently used tenant, so it is resolved again', async () => {
    const sinkDefault = await startSink();
    const sinkA = await startSink();
    const sinkB = await startSink();
    const calls: string[] = [];
    const { emails } = await boot(
      localOptions(sinkDefault.port, {
        queue: QUEUE,
        tenantTransports: { ...LOOPBACK_TENANTS, maxCached: 1 },
        transportResolver: async (id) => {
          calls.push(id);
          return { host: '127.0.0.1', port: id === 'a' ? sinkA.port : sinkB.port, security: 'none' };
        },
      }),
    );

    await emails.send({ template: 'test-email', to: 'a1@example.test', tenant: 'a' });
    await sinkA.waitForMessages(1);
    await emails.send({ template: 'test-email', to: 'a2@example.test', tenant: 'a' });
    await sinkA.waitForMessages(2);
    expect(calls).toEqual(['a']);

    await emails.send({ template: 'test-email', to: 'b1@example.test', tenant: 'b' });
    await sinkB.waitForMessages(1);
    expect(calls).toEqual(['a', 'b']);

    await emails.send({ template: 'test-email', to: 'a3@example.test', tenant: 'a' });
    await sinkA.waitForMessages(3);
    expect(calls).toEqual(['a', 'b', 'a']);
    expect(recipients(sinkA)).toEqual(['a1@example.test', 'a2@example.test', 'a3@example.test']);
    expect(recipients(sinkB)).toEqual(['b1@example.test']);
  });

  /**
   * Regression guard: TransportRegistry
   * evicts and closes a tenant pool (transport.registry.ts, evictBeyond → close) while deliveries
   * holding it still have messages queued in it: nodemailer fails those with "Connection pool was
   * closed", which the worker counts as a failed attempt ("check transport host and port"), so with
   * more busy tenants than maxCached emails spend retries, and can run out of them.
   */
  it('more busy tenants than maxCached: every email is delivered without spending a retry', async () => {
    const sinkDefault = await startSink();
    const tenantSinks = new Map<string, SmtpSink>();
    for (const id of ['a', 'b', 'c']) tenantSinks.set(id, await startSink());
    const { emails, events } = await boot(
      localOptions(sinkDefault.port, {
        queue: { ...QUEUE, concurrency: 10 },
        tenantTransports: { ...LOOPBACK_TENANTS, maxCached: 1 },
        transportResolver: async (id) => ({ host: '127.0.0.1', port: tenantSinks.get(id)!.port, security: 'none' }),
      }),
    );

    for (let i = 0; i < 12; i++) await emails.send({ template: 'test-email', to: `user${i}@example.test`, tenant: ['a', 'b', 'c'][i % 3] });
    await Promise.all([...tenantSinks.values()].map((sink) => sink.waitForMessages(4, 20_000)));
    expect(events.seen[EmailEvent.Failed]).toHaveLength(0);
    expect(events.seen[EmailEvent.Retrying].map((retrying) => retrying.reason)).toEqual([]);
  });

  it('tenantTransports.idleTimeout closes an unused tenant transport, so it is resolved again', async () => {
    const sinkDefault = await startSink();
    let closedConnections = 0;
    const sinkA = await SmtpSink.start({ onClose: () => void closedConnections++ });
    cleanups.push(() => sinkA.close());
    const calls: string[] = [];
    const { emails } = await boot(
      localOptions(sinkDefault.port, {
        queue: QUEUE,
        // Counted from each email's start: long enough that a slow first delivery is not already idle.
        tenantTransports: { ...LOOPBACK_TENANTS, idleTimeout: 1_000 },
        transportResolver: async (id) => {
          calls.push(id);
          return { host: '127.0.0.1', port: sinkA.port, security: 'none' };
        },
      }),
    );

    await emails.send({ template: 'test-email', to: 'a1@example.test', tenant: 'a' });
    await sinkA.waitForMessages(1);
    await emails.send({ template: 'test-email', to: 'a2@example.test', tenant: 'a' });
    await sinkA.waitForMessages(2);
    expect(calls).toEqual(['a']);
    // The tenant's pooled connections close only with its transport.
    expect(closedConnections).toBe(0);
    await until(() => closedConnections > 0, 'the idle tenant transport to close its connections', 5_000);
    await emails.send({ template: 'test-email', to: 'a3@example.test', tenant: 'a' });
    await sinkA.waitForMessages(3);
    expect(calls).toEqual(['a', 'a']);
  });
});
