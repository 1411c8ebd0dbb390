import type { NodemailerSmtpOptions } from './smtp-transport.resolver';
import { SmtpTransport } from './smtp.transport';

/** A tenant's transport, with what a diagnosis needs to know about it. */
export interface ResolvedTransport {
  transport: SmtpTransport;
  options: NodemailerSmtpOptions;
  /** Without any password. */
  description: string;
}

export interface TenantTransportSettings {
  /** Supplies a tenant's settings, already validated and with secrets decrypted. */
  resolve: (tenantId: string) => Promise<{ options: NodemailerSmtpOptions; description: string }>;
  /** Most tenant pools kept open; the least recently used is closed beyond it. */
  maxCached: number;
  /** A tenant pool unused this long (ms) is closed. */
  idleTimeout: number;
}

interface CachedTransport {
  resolved: Promise<ResolvedTransport>;
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
  ) {}

  /** Whether tenants have transports of their own, that is whether a tenant resolver was given. */
  servesTenants(): boolean {
    return this.tenantSettings !== undefined;
  }

  /** The transport for a tenant, or the default one without a tenant. For a look, not a send: see `use`. */
  async get(tenant?: string): Promise<ResolvedTransport> {
    return tenant === undefined ? this.defaultTransport : this.entry(tenant).resolved;
  }

  /** Runs a send on the tenant's transport; the transport is not closed under it, even if evicted meanwhile. */
  async use<T>(tenant: string | undefined, send: (resolved: ResolvedTransport) => Promise<T>): Promise<T> {
    if (tenant === undefined) return send(this.defaultTransport);
    const cached = this.entry(tenant);
    cached.leases += 1;
    try {
      return await send(await cached.resolved);
    } finally {
      cached.leases -= 1;
      if (cached.evicted && cached.leases === 0) this.closeTransport(cached);
    }
  }

  private entry(tenant: string): CachedTransport {
    const settings = this.tenantSettings;
    if (!settings) throw new Error(`Email for tenant "${tenant}" needs the transportResolver option.`);
    let cached = this.tenants.get(tenant);
    if (cached) {
      this.tenants.delete(tenant);
    } else {
      const resolved = settings.resolve(tenant).then(({ options, description }) => ({ transport: new SmtpTransport(options), options, description }));
      const created: CachedTransport = { resolved, leases: 0, evicted: false };
      // A failed resolution is not cached: the next email asks the resolver again.
      resolved.catch(() => this.tenants.get(tenant) === created && this.tenants.delete(tenant));
      cached = created;
    }
    this.tenants.set(tenant, cached);
    this.touch(tenant, cached, settings);
    this.evictBeyond(settings.maxCached);
    return cached;
  }

  closeAll(): void {
    this.defaultTransport.transport.close();
    for (const cached of this.tenants.values()) {
      clearTimeout(cached.idleTimer);
      this.closeTransport(cached);
    }
    this.tenants.clear();
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
    cached.resolved.then(({ transport }) => transport.close()).catch(() => undefined);
  }
}
