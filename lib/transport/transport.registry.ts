import { isDeepStrictEqual } from 'node:util';
import { EmailDeliveryError, InvalidOptionsError } from '../errors';
import type { OptionsResolution } from '../options';
import type { NodemailerSmtpOptions } from './smtp-transport.resolver';
import { redact } from './credential.redactor';
import type { MailTransport } from './mail-transport';
import { SmtpTransport } from './smtp.transport';
import type { TenantNetworkGuard } from './tenant-network.guard';
import type { TenantTransportSettings } from './transport.options';

/** A transport, with what a diagnosis needs to know about it. */
export interface ResolvedTransport {
  transport: MailTransport;
  /** SMTP only: nodemailer's options, for a diagnosis step by step. Unset for an app's own transport and a list. */
  options?: NodemailerSmtpOptions;
  /** Without any password. */
  description: string;
  /** A tenant's transport: where it may connect. A diagnosis must connect through it too. */
  guard?: TenantNetworkGuard;
  /** A failover list (`transport: [a, b]`): each of its transports, in order. */
  members?: ResolvedTransport[];
}

/** What a probe of paused delivery or a diagnosis looks at: a tenant's is resolved afresh, without a transport. */
export type ProbedTransport = Omit<ResolvedTransport, 'transport'> & { transport?: MailTransport };

interface RegistryOptions {
  /** Every send, default or tenant, goes through this one (the testing module's outbox); diagnoses still look at the configured ones. */
  capture?: ResolvedTransport;
}

interface CachedTransport {
  /** Rejects only when the app's resolver did; invalid settings are a failed resolution. */
  resolved: Promise<OptionsResolution<ResolvedTransport>>;
  idleTimer?: NodeJS.Timeout;
  /** Deliveries using it now; an evicted transport closes only once this is 0. */
  leases: number;
  evicted: boolean;
}

/**
 * The default transport and, with a tenant resolver, one pooled transport per tenant: created on
 * first use, closed when idle, and bounded in number.
 */
export class TransportRegistry {
  private readonly tenants = new Map<string, CachedTransport>();

  constructor(
    private readonly defaultTransport: ResolvedTransport,
    private readonly tenantSettings?: TenantTransportSettings,
    private readonly registryOptions: RegistryOptions = {},
  ) {}

  /**
   * The transport for a tenant, or the default one without a tenant. For a look, not a send: see `use`.
   * Throws InvalidOptionsError when the tenant's settings are invalid, and what the resolver threw.
   */
  async get(tenant?: string): Promise<ResolvedTransport> {
    if (tenant === undefined) return this.defaultTransport;
    const resolution = await this.entry(tenant).resolved;
    if (!resolution.ok) throw new InvalidOptionsError(resolution.problems);
    return resolution.value;
  }

  /**
   * What a probe of paused delivery connects with. For a tenant, the resolver is asked again each time
   * and a cached transport whose settings changed is dropped, so the next email uses the new ones. A
   * probe is not a use: it leaves the idle timer alone, so a broken tenant's transport still closes
   * when idle. Throws like `get`.
   */
  async forProbe(tenant?: string): Promise<ProbedTransport> {
    if (tenant === undefined) return this.defaultTransport;
    this.assertServes(tenant);
    const resolution = await (this.tenantSettings as TenantTransportSettings).resolve(tenant);
    if (!resolution.ok) throw new InvalidOptionsError(resolution.problems);
    const cached = this.tenants.get(tenant);
    const current = await cached?.resolved.catch(() => undefined);
    const unchanged = current?.ok === true && isDeepStrictEqual(current.value.options, resolution.value.options);
    if (cached && !unchanged && this.tenants.get(tenant) === cached) this.close(tenant);
    return resolution.value;
  }

  /**
   * Runs a send on the tenant's transport; the transport is not closed under it, even if evicted meanwhile.
   * A tenant whose settings cannot be resolved fails as an EmailDeliveryError: `configuration` when they
   * are invalid, `unavailable` when the resolver threw. Either pauses the tenant until a probe resolves it.
   */
  async use<T>(tenant: string | undefined, send: (resolved: ResolvedTransport) => Promise<T>): Promise<T> {
    if (this.registryOptions.capture) return send(this.registryOptions.capture);
    if (tenant === undefined) return send(this.defaultTransport);
    const cached = this.entry(tenant);
    cached.leases += 1;
    try {
      const unresolved = (kind: 'configuration' | 'unavailable', error: unknown) => {
        const reason = redact(error instanceof Error ? error.message : String(error));
        return new EmailDeliveryError({ kind, reason: `The SMTP settings of tenant "${tenant}" could not be resolved: ${reason}` });
      };
      const resolution = await cached.resolved.catch((error: unknown) => {
        throw unresolved('unavailable', error);
      });
      if (!resolution.ok) throw unresolved('configuration', new InvalidOptionsError(resolution.problems));
      return await send(resolution.value);
    } finally {
      cached.leases -= 1;
      if (cached.evicted && cached.leases === 0) this.closeTransport(cached);
    }
  }

  /** Refuses a tenant when there is no tenant resolver, naming the call (`method`) that asked for it. */
  assertServes(tenant: string | undefined, method = 'send'): void {
    if (tenant === undefined || this.tenantSettings) return;
    const call = method === 'send' ? `send({ tenant: "${tenant}" })` : `${method}() for tenant "${tenant}"`;
    throw new InvalidOptionsError([
      { path: 'transportResolver', problem: `is not set, so ${call} has no transport`, fix: `set transportResolver, or ${method} without tenant` },
    ]);
  }

  private entry(tenant: string): CachedTransport {
    this.assertServes(tenant);
    const settings = this.tenantSettings as TenantTransportSettings;
    let cached = this.tenants.get(tenant);
    if (cached) {
      this.tenants.delete(tenant);
    } else {
      const resolved = settings.resolve(tenant).then(
        (resolution): OptionsResolution<ResolvedTransport> =>
          resolution.ok
            ? { ok: true, value: { transport: new SmtpTransport(resolution.value.options, resolution.value.description), options: resolution.value.options, description: resolution.value.description, guard: resolution.value.guard } }
            : resolution,
      );
      const created: CachedTransport = { resolved, leases: 0, evicted: false };
      // A failed resolution is not cached: the next email asks the resolver again.
      const forget = () => this.tenants.get(tenant) === created && this.tenants.delete(tenant);
      resolved.then((resolution) => resolution.ok || forget(), forget);
      cached = created;
    }
    this.tenants.set(tenant, cached);
    this.touch(tenant, cached, settings);
    this.evictBeyond(settings.maxCached);
    return cached;
  }

  async closeAll(): Promise<void> {
    const closing = [this.defaultTransport.transport.close(), this.registryOptions.capture?.transport.close()];
    for (const cached of this.tenants.values()) {
      clearTimeout(cached.idleTimer);
      this.closeTransport(cached);
    }
    this.tenants.clear();
    await Promise.all(closing);
  }

  private touch(tenant: string, cached: CachedTransport, settings: TenantTransportSettings): void {
    clearTimeout(cached.idleTimer);
    cached.idleTimer = setTimeout(() => this.close(tenant), settings.idleTimeout);
    cached.idleTimer.unref();
  }

  private evictBeyond(max: number): void {
    while (this.tenants.size > max) this.close(this.tenants.keys().next().value as string);
  }

  private close(tenant: string): void {
    const cached = this.tenants.get(tenant);
    if (!cached) return;
    this.tenants.delete(tenant);
    clearTimeout(cached.idleTimer);
    cached.evicted = true;
    if (cached.leases === 0) this.closeTransport(cached);
  }

  private closeTransport(cached: CachedTransport): void {
    cached.resolved.then((resolution) => resolution.ok && resolution.value.transport.close()).catch(() => undefined);
  }
}
