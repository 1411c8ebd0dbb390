import 'reflect-metadata';
import { EmailDeliveryError, InvalidOptionsError } from '../../lib/errors';
import type { MailTransportJob } from '../../lib/transport/mail-transport';
import { SmtpTransport } from '../../lib/transport/smtp.transport';
import type { SmtpTransportOptions } from '../../lib/transport/smtp-transport.options';
import { describeTransport, toNodemailerOptions } from '../../lib/transport/smtp-transport.resolver';
import { resolveSmtpTransport } from '../../lib/transport/transport.options';
import type { TenantTransportSettings } from '../../lib/transport/transport.options';
import { ResolvedTransport, TransportRegistry } from '../../lib/transport/transport.registry';
import { SmtpSink } from '../support/smtp-sink';
import { sleep, until } from '../support/wait';

/** A sink that also counts the connections that closed: a pooled transport closes its own only when it is closed. */
class CountingSink {
  closed = 0;
  private constructor(readonly sink: SmtpSink) {}

  static async start(options: Parameters<typeof SmtpSink.start>[0] = {}): Promise<CountingSink> {
    let counting: CountingSink | undefined;
    const sink = await SmtpSink.start({ ...options, onClose: () => void (counting && counting.closed++) });
    counting = new CountingSink(sink);
    return counting;
  }

  /** Pooled, as tenant transports are by default. */
  transport(): SmtpTransportOptions {
    return { host: '127.0.0.1', port: this.sink.port, security: 'none' };
  }
}

function resolvedTo(options: SmtpTransportOptions): ResolvedTransport {
  const nodemailerOptions = toNodemailerOptions(options);
  return { transport: new SmtpTransport(nodemailerOptions), options: nodemailerOptions, description: describeTransport(options) };
}

/** The job a transport receives beside the message (the SMTP transport does not read it). */
const SEND_JOB = (to: string): MailTransportJob => ({ id: '1', attempt: 1, template: 'test-email', to: { address: to, name: '' }, context: {}, messageId: `<${to}@acme.test>` });

/** Sends one message through the registry's transport for `tenant`. */
function sendThrough(registry: TransportRegistry, tenant: string | undefined, to: string) {
  return registry.use(tenant, ({ transport }) => transport.deliver({ from: 'no-reply@acme.test', to, subject: `to ${to}`, text: 'hello' }, SEND_JOB(to)));
}

describe('TransportRegistry', () => {
  const sinks: CountingSink[] = [];
  const registries: TransportRegistry[] = [];

  async function sink(options: Parameters<typeof SmtpSink.start>[0] = {}): Promise<CountingSink> {
    const started = await CountingSink.start(options);
    sinks.push(started);
    return started;
  }

  /** A registry whose tenants resolve through `transports` (a tenant id → its transport option), recording each call. */
  function registry(
    defaultSink: CountingSink,
    transports?: (tenant: string) => Promise<unknown>,
    limits: Partial<Pick<TenantTransportSettings, 'maxCached' | 'idleTimeout'>> = {},
  ): { registry: TransportRegistry; calls: string[] } {
    const calls: string[] = [];
    const tenants: TenantTransportSettings | undefined = transports && {
      resolve: async (tenant) => {
        calls.push(tenant);
        return resolveSmtpTransport(await transports(tenant), { credentialKeys: [] }, `transportResolver("${tenant}")`);
      },
      maxCached: limits.maxCached ?? 100,
      idleTimeout: limits.idleTimeout ?? 60_000,
    };
    const created = new TransportRegistry(resolvedTo({ ...defaultSink.transport(), pool: false }), tenants);
    registries.push(created);
    return { registry: created, calls };
  }

  afterEach(async () => {
    registries.splice(0).forEach((created) => created.closeAll());
    await Promise.all(sinks.splice(0).map(({ sink: started }) => started.close()));
  });

  it('without a tenant, sends through the default transport; without a resolver, refuses a tenant with InvalidOptionsError', async () => {
    const defaultSink = await sink();
    const { registry: transports } = registry(defaultSink);

    const receipt = await sendThrough(transports, undefined, 'ada@example.test');
    expect(receipt.accepted).toEqual(['ada@example.test']);
    const [mail] = await defaultSink.sink.waitForMessages(1);
    expect(mail.subject).toBe('to ada@example.test');
    expect((await transports.get()).description).toBe(`smtp://127.0.0.1:${defaultSink.sink.port} (no TLS)`);

    for (const refusal of [() => transports.assertServes('acme'), () => transports.get('acme'), () => sendThrough(transports, 'acme', 'bo@example.test')]) {
      const error = await Promise.resolve().then(refusal).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidOptionsError);
      expect((error as InvalidOptionsError).message).toContain('transportResolver');
      expect((error as InvalidOptionsError).message).toContain('"acme"');
    }
    expect(() => transports.assertServes(undefined)).not.toThrow();
    expect(defaultSink.sink.messages).toHaveLength(1);
  });

  it('resolves a tenant once and reuses its transport for every later email', async () => {
    const defaultSink = await sink();
    const tenantA = await sink();
    const tenantB = await sink();
    const bySink = { a: tenantA, b: tenantB } as Record<string, CountingSink>;
    const { registry: transports, calls } = registry(defaultSink, async (tenant) => bySink[tenant].transport());

    await sendThrough(transports, 'a', 'a1@example.test');
    await sendThrough(transports, 'b', 'b1@example.test');
    await sendThrough(transports, 'a', 'a2@example.test');
    await sendThrough(transports, undefined, 'plain@example.test');

    expect(calls).toEqual(['a', 'b']);
    expect(tenantA.sink.messages.map((mail) => mail.subject)).toEqual(['to a1@example.test', 'to a2@example.test']);
    expect(tenantB.sink.messages.map((mail) => mail.subject)).toEqual(['to b1@example.test']);
    expect(defaultSink.sink.messages.map((mail) => mail.subject)).toEqual(['to plain@example.test']);
    const [first, again] = [await transports.get('a'), await transports.get('a')];
    expect(again).toBe(first);
    expect(first.description).toBe(`smtp://127.0.0.1:${tenantA.sink.port} (no TLS)`);
    expect(calls).toEqual(['a', 'b']);
  });

  it('fails a tenant whose settings are invalid as configuration, one whose resolver threw as unavailable, and caches neither', async () => {
    const defaultSink = await sink();
    let resolverDown = true;
    const { registry: transports, calls } = registry(defaultSink, async (tenant) => {
      if (tenant === 'broken') return { host: '127.0.0.1', port: 99_999, security: 'none' };
      if (resolverDown) throw new Error('tenant database unreachable');
      return defaultSink.transport();
    });

    const invalid = await sendThrough(transports, 'broken', 'x@example.test').catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(EmailDeliveryError);
    expect(invalid).toMatchObject({ kind: 'configuration' });
    expect((invalid as Error).message).toContain('tenant "broken"');
    expect((invalid as Error).message).toContain('transportResolver("broken").port');
    await expect(transports.get('broken')).rejects.toBeInstanceOf(InvalidOptionsError);

    const thrown = await sendThrough(transports, 'flaky', 'y@example.test').catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(EmailDeliveryError);
    expect(thrown).toMatchObject({ kind: 'unavailable' });
    expect((thrown as Error).message).toContain('tenant database unreachable');

    resolverDown = false;
    await sendThrough(transports, 'flaky', 'y@example.test');
    expect(calls).toEqual(['broken', 'broken', 'flaky', 'flaky']);
    expect(defaultSink.sink.messages).toHaveLength(1);
  });

  it('beyond maxCached, closes the least recently used tenant, which is resolved again on its next email', async () => {
    const defaultSink = await sink();
    const tenantA = await sink();
    const tenantB = await sink();
    const bySink = { a: tenantA, b: tenantB } as Record<string, CountingSink>;
    const { registry: transports, calls } = registry(defaultSink, async (tenant) => bySink[tenant].transport(), { maxCached: 1 });

    await sendThrough(transports, 'a', 'a1@example.test');
    expect(tenantA.closed).toBe(0);
    await sendThrough(transports, 'b', 'b1@example.test');
    await until(() => tenantA.closed > 0, "tenant a's pool to close once b pushed it out");
    expect(tenantB.closed).toBe(0);

    await sendThrough(transports, 'a', 'a2@example.test');
    expect(calls).toEqual(['a', 'b', 'a']);
    await until(() => tenantB.closed > 0, "tenant b's pool to close once a pushed it out");
    expect(tenantA.sink.messages).toHaveLength(2);
  });

  it('does not close an evicted tenant transport under a send still using it', async () => {
    const defaultSink = await sink();
    const slowA = await sink({ delayMs: 500 });
    const tenantB = await sink();
    const bySink = { a: slowA, b: tenantB } as Record<string, CountingSink>;
    const { registry: transports } = registry(defaultSink, async (tenant) => bySink[tenant].transport(), { maxCached: 1 });

    const slowSend = sendThrough(transports, 'a', 'a1@example.test');
    await until(() => slowA.sink.arriving > 0, "tenant a's message to be on its way");
    await sendThrough(transports, 'b', 'b1@example.test');
    expect(slowA.closed).toBe(0);
    await expect(slowSend).resolves.toMatchObject({ accepted: ['a1@example.test'] });
    await until(() => slowA.closed > 0, "tenant a's pool to close once its send is done");
  });

  it('closes a tenant transport unused for idleTimeout, and resolves the tenant again on its next email', async () => {
    const defaultSink = await sink();
    const tenantA = await sink();
    const { registry: transports, calls } = registry(defaultSink, async () => tenantA.transport(), { idleTimeout: 1_000 });

    await sendThrough(transports, 'a', 'a1@example.test');
    expect(tenantA.closed).toBe(0);
    await until(() => tenantA.closed > 0, 'the idle tenant pool to close', 5_000);
    await sendThrough(transports, 'a', 'a2@example.test');
    expect(calls).toEqual(['a', 'a']);
  });

  it('each email restarts the idle time of its tenant', async () => {
    const defaultSink = await sink();
    const tenantA = await sink();
    const { registry: transports, calls } = registry(defaultSink, async () => tenantA.transport(), { idleTimeout: 1_000 });

    for (let i = 0; i < 4; i++) {
      await sendThrough(transports, 'a', `a${i}@example.test`);
      // Proves an absence: 300 ms apart, each email comes within the idle time of the one before, 1.2 s in all.
      await sleep(300);
    }
    expect(calls).toEqual(['a']);
    expect(tenantA.closed).toBe(0);
  });

  it('forProbe asks the resolver again each time; changed settings replace the cached transport, unchanged ones keep it', async () => {
    const defaultSink = await sink();
    const before = await sink();
    const after = await sink();
    let target = before;
    const { registry: transports, calls } = registry(defaultSink, async () => target.transport());

    expect(await transports.forProbe()).toMatchObject({ description: `smtp://127.0.0.1:${defaultSink.sink.port} (no TLS)` });
    await sendThrough(transports, 'a', 'a1@example.test');
    const probed = await transports.forProbe('a');
    expect(probed.description).toBe(`smtp://127.0.0.1:${before.sink.port} (no TLS)`);
    expect(calls).toEqual(['a', 'a']);
    // Unchanged: the cached pool stays open and the next email reuses it without asking again.
    await sendThrough(transports, 'a', 'a2@example.test');
    expect(calls).toEqual(['a', 'a']);
    expect(before.closed).toBe(0);

    target = after;
    expect((await transports.forProbe('a')).description).toBe(`smtp://127.0.0.1:${after.sink.port} (no TLS)`);
    await until(() => before.closed > 0, 'the pool with the old settings to close');
    await sendThrough(transports, 'a', 'a3@example.test');
    expect(calls).toEqual(['a', 'a', 'a', 'a']);
    expect(before.sink.messages.map((mail) => mail.subject)).toEqual(['to a1@example.test', 'to a2@example.test']);
    expect(after.sink.messages.map((mail) => mail.subject)).toEqual(['to a3@example.test']);
  });

  it('forProbe throws what resolving throws, and leaves the idle time alone: probes do not keep a tenant transport open', async () => {
    const defaultSink = await sink();
    const tenantA = await sink();
    let resolverDown = false;
    const { registry: transports } = registry(
      defaultSink,
      async (tenant) => {
        if (resolverDown) throw new Error('tenant database unreachable');
        return tenant === 'broken' ? { host: '127.0.0.1', port: 99_999, security: 'none' } : tenantA.transport();
      },
      { idleTimeout: 1_000 },
    );
    await expect(transports.forProbe('broken')).rejects.toBeInstanceOf(InvalidOptionsError);

    await sendThrough(transports, 'a', 'a1@example.test');
    const probing = setInterval(() => void transports.forProbe('a').catch(() => undefined), 100);
    try {
      // Probed ten times a second with unchanged settings, the pool still closes once idle for 1 s.
      await until(() => tenantA.closed > 0, 'the idle tenant pool to close while it is probed', 5_000);
    } finally {
      clearInterval(probing);
    }
    resolverDown = true;
    await expect(transports.forProbe('a')).rejects.toThrow('tenant database unreachable');
  });

  it('closeAll closes the default transport and every tenant transport, and forgets the tenants', async () => {
    const defaultSink = await sink();
    const tenantA = await sink();
    const tenantB = await sink();
    const bySink = { a: tenantA, b: tenantB } as Record<string, CountingSink>;
    const calls: string[] = [];
    const transports = new TransportRegistry(resolvedTo(defaultSink.transport()), {
      resolve: async (tenant) => {
        calls.push(tenant);
        return resolveSmtpTransport(bySink[tenant].transport(), { credentialKeys: [] });
      },
      maxCached: 100,
      idleTimeout: 60_000,
    });
    registries.push(transports);

    await Promise.all([sendThrough(transports, undefined, 'plain@example.test'), sendThrough(transports, 'a', 'a@example.test'), sendThrough(transports, 'b', 'b@example.test')]);
    expect([defaultSink.closed, tenantA.closed, tenantB.closed]).toEqual([0, 0, 0]);

    transports.closeAll();
    await until(() => [defaultSink, tenantA, tenantB].every((counting) => counting.closed > 0), 'every pool to close its connections');
    await sendThrough(transports, 'a', 'a-again@example.test');
    expect(calls).toEqual(['a', 'b', 'a']);
  });
});
