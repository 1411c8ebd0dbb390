import 'reflect-metadata';
import { isDeepStrictEqual } from 'node:util';
import { diagnoseSmtp } from '../../lib/diagnostics';
import { EmailDeliveryError, TenantHostRefusedError } from '../../lib/errors';
import { SmtpTransport } from '../../lib/transport/smtp.transport';
import { toNodemailerOptions } from '../../lib/transport/smtp-transport.resolver';
import { TenantNetworkGuard } from '../../lib/transport/tenant-network.guard';
import { resolveTransportOptions } from '../../lib/transport/transport.options';
import { parseCidr, TenantNetworkPolicy } from '../../lib/transport/tenant-network.policy';
import { SmtpSink } from '../support/smtp-sink';
import { ClientSockets, CountingListener, RebindingDnsServer } from '../support/tenant-network';

describe('TenantNetworkPolicy: where a tenant transport may connect', () => {
  const policy = new TenantNetworkPolicy();

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback, the whole /8'],
    ['::1', 'IPv6 loopback'],
    ['0.0.0.0', 'unspecified (reaches the local host)'],
    ['::', 'IPv6 unspecified'],
    ['10.1.2.3', 'private 10/8'],
    ['172.16.0.1', 'private 172.16/12'],
    ['172.31.255.255', 'private 172.16/12, its end'],
    ['192.168.1.1', 'private 192.168/16'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.100.100.200', 'Alibaba Cloud metadata'],
    ['169.254.169.254', 'AWS/GCP/Azure metadata'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'IPv6 link-local'],
    ['fc00::1', 'unique-local'],
    ['fd00:ec2::254', 'AWS IPv6 metadata'],
    ['192.0.0.192', 'Oracle Cloud metadata'],
    ['168.63.129.16', 'Azure WireServer'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback, dotted'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex'],
    ['::ffff:a01:203', 'IPv4-mapped 10.1.2.3'],
    ['::ffff:169.254.169.254', 'IPv4-mapped metadata'],
    ['::127.0.0.1', 'IPv4-compatible loopback (deprecated)'],
    ['64:ff9b::7f00:1', 'NAT64 of 127.0.0.1'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 of 169.254.169.254'],
    ['2002:7f00:1::1', '6to4 of 127.0.0.1'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['198.18.0.1', 'benchmarking'],
    ['192.0.2.10', 'documentation'],
    ['2001:db8::1', 'IPv6 documentation'],
    ['fe80::1%eth0', 'with a zone id'],
    ['localhost', 'not an address at all'],
    ['', 'empty'],
  ])('refuses %s (%s)', (address) => {
    expect(policy.permits(address)).toBe(false);
  });

  it.each([['8.8.8.8'], ['1.1.1.1'], ['172.32.0.1'], ['100.128.0.1'], ['2606:4700:4700::1111'], ['::ffff:8.8.8.8'], ['64:ff9b::808:808'], ['2002:808:808::1']])(
    'permits the public address %s',
    (address) => {
      expect(policy.permits(address)).toBe(true);
    },
  );

  it('permits what allowPrivateNetworks lists, and only that', () => {
    const allowing = new TenantNetworkPolicy(['127.0.0.0/8', '10.20.0.0/16', 'fd12:3456::/32']);
    for (const address of ['127.0.0.1', '127.9.9.9', '::ffff:127.0.0.1', '10.20.1.1', 'fd12:3456::1', '8.8.8.8']) expect(allowing.permits(address)).toBe(true);
    for (const address of ['::1', '10.21.0.1', '169.254.169.254', '192.168.0.1', 'fd12:3457::1']) expect(allowing.permits(address)).toBe(false);
  });

  it('parses CIDR ranges, refusing anything else', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('127.0.0.1/32')).toEqual({ address: '127.0.0.1', prefix: 32, family: 'ipv4' });
    expect(parseCidr('fd00::/8')).toEqual({ address: 'fd00::', prefix: 8, family: 'ipv6' });
    for (const bad of ['10.0.0.0', '10.0.0.0/33', '::/129', 'ten/8', '10.0.0.0/-1', '10.0.0.0/8/8', 'fe80::%eth0/64', '', 8, null]) expect(parseCidr(bad)).toBeUndefined();
  });
});

/**
 * DNS rebinding with a real DNS server: `mail.rebind.test` answers 127.0.0.1 (allowed here, standing for
 * a public address), then 127.0.0.2 (not allowed, standing for the internal one), in turn. A guard that
 * checked one answer and let the connection resolve the name again would land on 127.0.0.2, where a
 * listener on the same port counts connections.
 */
describe('TenantNetworkGuard against DNS rebinding (real DNS server, real sockets)', () => {
  let sink: SmtpSink;
  let internal: CountingListener;
  let dns: RebindingDnsServer;
  const sockets = new ClientSockets();

  beforeAll(async () => {
    sink = await SmtpSink.start();
    internal = await CountingListener.start('127.0.0.2', sink.port);
  });
  beforeEach(async () => {
    dns = await RebindingDnsServer.start('mail.rebind.test', ['127.0.0.1', '127.0.0.2']);
    sockets.opened.length = 0;
    sockets.connectedTo.length = 0;
    sockets.start();
  });
  afterEach(async () => {
    sockets.stop();
    await dns.close();
  });
  afterAll(async () => {
    await internal.close();
    await sink.close();
  });

  function guardedOptions(pool: boolean) {
    const guard = new TenantNetworkGuard(new TenantNetworkPolicy(['127.0.0.1/32']), dns.lookup());
    const options = { ...toNodemailerOptions({ host: 'mail.rebind.test', port: sink.port, security: 'none', pool }), getSocket: guard.getSocket };
    return { guard, options };
  }

  it.each([false, true])('resolves once, connects to the address it checked, and refuses the rebound answer (pool: %s)', async (pool) => {
    const { options } = guardedOptions(pool);
    const transport = new SmtpTransport(options);
    try {
      const message = { from: 'no-reply@acme.test', to: 'ada@example.test', subject: 'rebinding', text: 'hello' };
      await transport.deliver(message);
      expect(dns.queries).toEqual(['127.0.0.1']);
      expect(sockets.connectedTo).toEqual([`127.0.0.1:${sink.port}`]);
      expect((await sink.waitForMessages(1)).at(-1)?.subject).toBe('rebinding');
      transport.close();

      // A fresh connection resolves again; the name now points inside: refused before any socket exists.
      const again = new SmtpTransport(options);
      const error = await again.deliver(message).catch((caught: unknown) => caught);
      again.close();
      expect(error).toBeInstanceOf(TenantHostRefusedError);
      expect(error).toBeInstanceOf(EmailDeliveryError);
      expect(error).toMatchObject({ code: 'EMAIL_WORKFLOW_TENANT_HOST_REFUSED', kind: 'permanent', host: 'mail.rebind.test' });
      expect((error as Error).message).toContain('"mail.rebind.test"');
      expect((error as Error).message).not.toContain('127.0.0.2');
      expect(dns.queries).toEqual(['127.0.0.1', '127.0.0.2']);
      expect(sockets.opened).toHaveLength(1);
      expect(internal.accepted).toBe(0);
    } finally {
      transport.close();
    }
  });

  it('the doctor connects to the address it checked, and reports a rebound answer as refused without steps', async () => {
    const { guard, options } = guardedOptions(false);
    const first = await diagnoseSmtp(options, 'tenant', { from: 'no-reply@acme.test' }, guard);
    expect(first).toMatchObject({ ok: true });
    expect(first.steps.slice(0, 2)).toMatchObject([
      { step: 'dns', ok: true, detail: 'mail.rebind.test resolves to 127.0.0.1' },
      { step: 'connect', ok: true, detail: `connected to 127.0.0.1:${sink.port}` },
    ]);
    expect(sockets.connectedTo).toEqual([`127.0.0.1:${sink.port}`]);

    const second = await diagnoseSmtp(options, 'tenant', { from: 'no-reply@acme.test' }, guard);
    expect(second).toEqual({
      ok: false,
      transport: 'tenant',
      steps: [],
      failure: expect.objectContaining({ code: 'TENANT_HOST_REFUSED' }) as unknown,
    });
    expect(second.failure?.message).toContain('mail.rebind.test');
    expect(second.failure?.message).not.toContain('127.0.0.2');
    expect(dns.queries).toEqual(['127.0.0.1', '127.0.0.2']);
    expect(sockets.opened).toHaveLength(1);
    expect(internal.accepted).toBe(0);
  });

  it('a name with several addresses: the refused ones are dropped, and Node tries only the checked ones, in turn', async () => {
    await dns.close();
    // 10.9.9.9 is refused; nothing listens on 127.0.0.3 (refused connection); the sink is on 127.0.0.1.
    dns = await RebindingDnsServer.start('mail.rebind.test', [['10.9.9.9', '127.0.0.3', '127.0.0.1']]);
    const guard = new TenantNetworkGuard(new TenantNetworkPolicy(['127.0.0.0/8']), dns.lookup());
    expect(await guard.resolve('mail.rebind.test', 2_000)).toEqual(['127.0.0.3', '127.0.0.1']);
    const transport = new SmtpTransport({ ...toNodemailerOptions({ host: 'mail.rebind.test', port: sink.port, security: 'none', pool: false }), getSocket: guard.getSocket });
    try {
      await transport.deliver({ from: 'no-reply@acme.test', to: 'ada@example.test', subject: 'several', text: 'hello' });
    } finally {
      transport.close();
    }
    expect(dns.queries).toEqual(['10.9.9.9 127.0.0.3 127.0.0.1', '10.9.9.9 127.0.0.3 127.0.0.1']);
    expect(sockets.connectedTo).toEqual([`127.0.0.1:${sink.port}`]);
    await sink.mailTo('ada@example.test', /^several$/);
    expect(internal.accepted).toBe(0);
  });

  it('a name that does not resolve is a DNS failure (unavailable), not a refusal', async () => {
    const guard = new TenantNetworkGuard(new TenantNetworkPolicy(), dns.lookup());
    const options = { ...toNodemailerOptions({ host: 'nothing.rebind.test', port: sink.port, security: 'none', pool: false }), getSocket: guard.getSocket };
    const transport = new SmtpTransport(options);
    const error = await transport.deliver({ from: 'no-reply@acme.test', to: 'ada@example.test', text: 'x' }).catch((caught: unknown) => caught);
    transport.close();
    expect(error).toBeInstanceOf(EmailDeliveryError);
    expect(error).not.toBeInstanceOf(TenantHostRefusedError);
    expect(error).toMatchObject({ kind: 'unavailable' });
    expect((error as Error).message).toMatch(/did not resolve/);
    expect(sockets.opened).toHaveLength(0);
  });
});

describe('tenant transport limits', () => {
  const resolveTenant = async (tenantTransports?: object, tenant: object = {}) => {
    const resolution = resolveTransportOptions(
      { transport: { host: '127.0.0.1', port: 2525 }, transportResolver: async () => ({ host: 'smtp.tenant.test', ...tenant }), tenantTransports },
      [],
    );
    if (!resolution.ok) throw new Error(JSON.stringify(resolution.problems));
    const tenantResolution = await resolution.value.tenants!.resolve('a');
    if (!tenantResolution.ok) throw new Error(JSON.stringify(tenantResolution.problems));
    const [defaults] = resolution.value.default;
    if (defaults.options === undefined) throw new Error('expected the SMTP transport');
    return { defaults, tenant: tenantResolution.value, again: resolution.value.tenants!.resolve('a') };
  };

  it('caps a tenant transport at 10 s to connect, 10 s for the greeting, 30 s idle by default, keeping a tenant’s lower values; the app’s own transport is untouched', async () => {
    const { defaults, tenant } = await resolveTenant(undefined, { connectionTimeout: 2_000, greetingTimeout: 600_000, socketTimeout: 600_000 });
    expect(tenant.options).toMatchObject({ connectionTimeout: 2_000, greetingTimeout: 10_000, socketTimeout: 30_000 });
    expect(tenant.guard).toBeInstanceOf(TenantNetworkGuard);
    expect(tenant.options.getSocket).toBe(tenant.guard!.getSocket);
    expect(defaults.guard).toBeUndefined();
    expect(defaults.options).toMatchObject({ connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 60_000 });
    expect('getSocket' in defaults.options).toBe(false);
  });

  it('takes the caps from tenantTransports; settings resolved twice compare equal, so a probe keeps the cached pool', async () => {
    const { tenant, again } = await resolveTenant({ connectionTimeout: 1_000, greetingTimeout: 2_000, socketTimeout: 3_000 });
    expect(tenant.options).toMatchObject({ connectionTimeout: 1_000, greetingTimeout: 2_000, socketTimeout: 3_000 });
    const second = await again;
    expect(second.ok && isDeepStrictEqual(second.value.options, tenant.options)).toBe(true);
  });
});
