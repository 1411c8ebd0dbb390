import { Test } from '@nestjs/testing';
import { createServer, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  EmailEvent,
  EmailEventSubscriptions,
  EmailTransportOption,
  EmailWorkflowModule,
  EmailWorkflowModuleOptions,
  EmailWorkflowService,
  TransportDiagnosis,
} from 'nestjs-email-workflow';
import { SilentLogger } from '../support/capturing-logger';
import { freePort } from '../support/free-port';
import { invalidOptionsError, localOptions } from '../support/module-options';
import { SmtpSink, TEST_CA, trustedStartTls } from '../support/smtp-sink';
import { ClientSockets, CountingListener } from '../support/tenant-network';
import { until, untilQueueIdle } from '../support/wait';
import { EventLog } from '../support/workflow';

const QUEUE = { redis: false as const, probeInterval: 200, backoff: { delay: 20, maxDelay: 100 } };

/**
 * Tenant SMTP settings are untrusted input (issue 23, point 3): a tenant transport may not connect to
 * loopback, private, link-local or metadata addresses, however its host is written, unless
 * tenantTransports.allowPrivateNetworks lists them. Counting listeners sit where a refused host points,
 * and Node's `net.client.socket` channel sees every socket the process opens.
 */
describe('tenant SMTP settings are untrusted: no connection to a non-public address', () => {
  const cleanups: Array<() => Promise<void>> = [];
  const sockets = new ClientSockets();
  let sink: SmtpSink;

  beforeEach(async () => {
    sink = await SmtpSink.start();
    cleanups.push(() => sink.close());
  });

  afterEach(async () => {
    sockets.stop();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function boot(options: EmailWorkflowModuleOptions) {
    const moduleRef = await Test.createTestingModule({ imports: [EmailWorkflowModule.forRoot(options)] })
      .setLogger(new SilentLogger())
      .compile();
    const events = new EventLog(moduleRef.get(EmailEventSubscriptions));
    await moduleRef.init();
    cleanups.push(() => moduleRef.close());
    return { emails: moduleRef.get(EmailWorkflowService), events };
  }

  async function listenOn(host: string, port?: number): Promise<CountingListener> {
    const listener = await CountingListener.start(host, port);
    cleanups.push(() => listener.close());
    return listener;
  }

  /** A diagnosis that says only "refused": no step, so no address, port state or timing. */
  function expectRefusedDiagnosis(diagnosis: TransportDiagnosis, host: string, hidden: string[]) {
    expect(diagnosis).toEqual({ ok: false, transport: expect.any(String) as unknown, steps: [], failure: expect.any(Object) as unknown });
    expect(diagnosis.failure).toMatchObject({ code: 'TENANT_HOST_REFUSED', responseCode: undefined, enhancedCode: undefined });
    expect(diagnosis.failure?.message).toContain(host);
    expect(diagnosis.failure?.hint).toContain('tenantTransports.allowPrivateNetworks');
    const text = JSON.stringify(diagnosis);
    expect(text).not.toMatch(/"ms"|\d+ ?ms\b/);
    for (const secret of hidden) expect(text).not.toContain(secret);
  }

  it('refuses loopback, ::1, private, metadata, a name resolving to loopback and IPv4-mapped loopback: send, sendTestEmail and diagnoseTransport, before any byte', async () => {
    const loopback = await listenOn('127.0.0.1');
    const loopbackV6 = await listenOn('::1');
    const hosts: Record<string, { host: string; port: number; hidden: string[] }> = {
      loopback: { host: '127.0.0.1', port: loopback.port, hidden: [] },
      'loopback-v6': { host: '::1', port: loopbackV6.port, hidden: [] },
      private: { host: '10.1.2.3', port: 2525, hidden: [] },
      metadata: { host: '169.254.169.254', port: 80, hidden: [] },
      // Through the system resolver (/etc/hosts): the message names the host, never what it resolved to.
      'host-name': { host: 'localhost', port: loopback.port, hidden: ['127.0.0.1', '::1'] },
      'short-form': { host: '127.1', port: loopback.port, hidden: ['127.0.0.1'] },
      mapped: { host: '::ffff:127.0.0.1', port: loopback.port, hidden: [] },
      'mapped-hex': { host: '::ffff:7f00:1', port: loopback.port, hidden: ['127.0.0.1'] },
      unspecified: { host: '0.0.0.0', port: loopback.port, hidden: [] },
    };
    const resolved: string[] = [];
    const { emails, events } = await boot(
      localOptions(sink.port, {
        queue: QUEUE,
        transportResolver: async (id): Promise<EmailTransportOption> => {
          resolved.push(id);
          return { host: hosts[id].host, port: hosts[id].port, security: 'none' };
        },
      }),
    );
    sockets.start();

    const tenants = Object.keys(hosts);
    for (const tenant of tenants) await emails.send({ template: 'test-email', to: `${tenant}@example.test`, tenant });
    const failed = await events.waitFor(EmailEvent.Failed, tenants.length);
    await untilQueueIdle(emails);
    for (const tenant of tenants) {
      const { host, hidden } = hosts[tenant];
      const event = failed.find((candidate) => candidate.tenant === tenant);
      expect(event).toMatchObject({ kind: 'permanent', attempt: 1, sendDurationMs: undefined });
      expect(event?.reason).toContain(`"${host}"`);
      for (const secret of hidden) expect(event?.reason).not.toContain(secret);

      expectRefusedDiagnosis(await emails.diagnoseTransport(tenant), host, hidden);
      expectRefusedDiagnosis(await emails.sendTestEmail('ops@example.test', tenant), host, hidden);
    }
    // No retry storm and no pause: one failure per email, each transport resolved once.
    expect(events.seen[EmailEvent.Failed]).toHaveLength(tenants.length);
    expect(events.seen[EmailEvent.Retrying]).toEqual([]);
    expect(events.seen[EmailEvent.DeliveryPaused]).toEqual([]);
    expect(resolved.sort()).toEqual([...tenants].sort());
    expect((await emails.queueStatus()).pausedTenants).toEqual([]);
    // Before any byte: not a connection, not even a socket.
    expect(loopback.accepted).toBe(0);
    expect(loopbackV6.accepted).toBe(0);
    expect(sockets.opened).toEqual([]);
    expect(sink.messages).toEqual([]);

    // The app's own transport is not restricted: 127.0.0.1 works.
    const plain = await emails.send({ template: 'test-email', to: 'plain@example.test' });
    await sink.mailWithId(plain.messageId);
    expect(await emails.diagnoseTransport()).toMatchObject({ ok: true });
    expect(sockets.connectedTo.every((peer) => peer === `127.0.0.1:${sink.port}`)).toBe(true);
  });

  it('allowPrivateNetworks: [127.0.0.0/8] lets the same tenants reach a real server on 127.0.0.1, over plaintext, STARTTLS and implicit TLS; ::1 stays refused', async () => {
    const tlsSink = await SmtpSink.start({ secure: true });
    cleanups.push(() => tlsSink.close());
    const loopbackV6 = await listenOn('::1');
    const settings: Record<string, EmailTransportOption> = {
      plain: { host: '127.0.0.1', port: sink.port, security: 'none' },
      'host-name': { host: 'localhost', port: sink.port, security: 'none', pool: false },
      mapped: { host: '::ffff:127.0.0.1', port: sink.port, security: 'none', pool: false },
      starttls: trustedStartTls(sink.port),
      // Connected to the checked address, the certificate is still verified against the name.
      'implicit-tls': { host: 'localhost', port: tlsSink.port, security: 'tls', tls: { ca: TEST_CA } },
      v6: { host: '::1', port: loopbackV6.port, security: 'none' },
    };
    const { emails, events } = await boot(
      localOptions(sink.port, {
        queue: QUEUE,
        tenantTransports: { allowPrivateNetworks: ['127.0.0.0/8'] },
        transportResolver: async (id) => settings[id],
      }),
    );
    sockets.start();

    const sent = ['plain', 'host-name', 'mapped', 'starttls'];
    for (const tenant of sent) await emails.send({ template: 'test-email', to: `${tenant}@example.test`, tenant });
    const secured = await emails.send({ template: 'test-email', to: 'tls@example.test', tenant: 'implicit-tls' });
    await sink.waitForMessages(sent.length);
    await tlsSink.mailWithId(secured.messageId);
    await events.waitFor(EmailEvent.Sent, sent.length + 1);
    expect(events.seen[EmailEvent.Failed]).toEqual([]);

    const tls = await emails.diagnoseTransport('implicit-tls');
    expect(tls).toMatchObject({ ok: true, steps: expect.arrayContaining([expect.objectContaining({ step: 'tls', ok: true })]) as unknown });
    expect(tls.steps.find((step) => step.step === 'tls')?.detail).toMatch(/^implicit TLS \(TLSv1\.[23]\), certificate trusted$/);
    const test = await emails.sendTestEmail('ops@example.test', 'host-name');
    expect(test).toMatchObject({ ok: true });
    expect(test.steps.map((step) => step.step)).toEqual(['dns', 'connect', 'greeting', 'tls', 'mail-from', 'rcpt', 'data']);
    await sink.mailTo('ops@example.test', /./);

    expectRefusedDiagnosis(await emails.diagnoseTransport('v6'), '::1', []);
    await emails.send({ template: 'test-email', to: 'v6@example.test', tenant: 'v6' });
    const [refused] = await events.waitFor(EmailEvent.Failed, 1);
    expect(refused).toMatchObject({ tenant: 'v6', kind: 'permanent' });
    expect(loopbackV6.accepted).toBe(0);
    // Every connection went to a checked address: 127.0.0.1, or as the tenant wrote it, ::ffff:127.0.0.1.
    expect(sockets.connectedTo.length).toBeGreaterThanOrEqual(sent.length + 2);
    expect(sockets.connectedTo.filter((peer) => !/^(::ffff:)?127\.0\.0\.1:\d+$/.test(peer))).toEqual([]);
    expect(sockets.connectedTo.filter((peer) => peer.startsWith('::ffff:'))).toHaveLength(1);
  });

  it('a paused tenant whose settings turn to a refused host is released by the next probe: its held email fails at once, nothing connects', async () => {
    const internal = await listenOn('127.0.0.1');
    const deadPort = await freePort();
    let host = '127.0.0.2';
    const { emails, events } = await boot(
      localOptions(sink.port, {
        queue: QUEUE,
        tenantTransports: { allowPrivateNetworks: ['127.0.0.2/32'] },
        transportResolver: async () => ({ host, port: host === '127.0.0.2' ? deadPort : internal.port, security: 'none', pool: false }),
      }),
    );
    // Nothing listens on 127.0.0.2 there: the connection is refused, so the tenant pauses.
    await emails.send({ template: 'test-email', to: 'held@example.test', tenant: 'a' });
    const [paused] = await events.waitFor(EmailEvent.DeliveryPaused, 1);
    expect(paused).toMatchObject({ tenant: 'a' });
    expect(events.seen[EmailEvent.Failed]).toEqual([]);

    host = '127.0.0.1';
    const [failed] = await events.waitFor(EmailEvent.Failed, 1, 5_000);
    expect(failed).toMatchObject({ tenant: 'a', kind: 'permanent', to: 'held@example.test', sendDurationMs: undefined });
    expect(failed.reason).toContain('"127.0.0.1" was refused');
    await untilQueueIdle(emails);
    expect((await emails.queueStatus()).pausedTenants).toEqual([]);
    expect(events.seen[EmailEvent.Retrying]).toEqual([]);
    expect(internal.accepted).toBe(0);
  });

  it('tenantTransports timeouts cap what a tenant asks for: a silent server is given up after greetingTimeout', async () => {
    const held: Socket[] = [];
    const silent = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      held.forEach((socket) => socket.destroy());
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const { emails } = await boot(
      localOptions(sink.port, {
        queue: QUEUE,
        tenantTransports: { allowPrivateNetworks: ['127.0.0.1/32'], greetingTimeout: 300 },
        // The tenant asks for a minute; the app's cap wins.
        transportResolver: async () => ({ host: '127.0.0.1', port: (silent.address() as AddressInfo).port, security: 'none', greetingTimeout: 60_000 }),
      }),
    );
    const started = Date.now();
    const diagnosis = await emails.diagnoseTransport('slow');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(diagnosis.failure).toMatchObject({ code: 'GREETING_TIMEOUT' });
    expect(diagnosis.failure?.message).toContain('within 300 ms');
    await until(() => held.length === 1, 'the one connection of the diagnosis');
  });

  it('refuses invalid tenantTransports at boot, naming each bad entry', async () => {
    const error = await invalidOptionsError(
      localOptions(sink.port, {
        transportResolver: async () => ({ host: 'smtp.example.test' }),
        tenantTransports: { allowPrivateNetworks: ['10.0.0.0/8', '10.0.0.0/33', 'ten/8', '10.0.0.1', 42 as unknown as string], connectionTimeout: 0 },
      }),
    );
    expect(error.problems.map((problem) => problem.path)).toEqual([
      'tenantTransports.connectionTimeout',
      'tenantTransports.allowPrivateNetworks[1]',
      'tenantTransports.allowPrivateNetworks[2]',
      'tenantTransports.allowPrivateNetworks[3]',
      'tenantTransports.allowPrivateNetworks[4]',
    ]);
    expect(error.message).toContain('tenantTransports.allowPrivateNetworks[3]: "10.0.0.1" is not a CIDR range. Fix: write each range as address/prefix length');
    const notAList = await invalidOptionsError(
      localOptions(sink.port, { transportResolver: async () => ({ host: 'smtp.example.test' }), tenantTransports: { allowPrivateNetworks: '10.0.0.0/8' as unknown as string[] } }),
    );
    expect(notAList.problems).toEqual([{ path: 'tenantTransports.allowPrivateNetworks', problem: 'must be a list of CIDR ranges', fix: expect.stringContaining("['10.0.0.0/8']") as unknown }]);
  });
});
