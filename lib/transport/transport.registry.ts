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

  get hasTenants(): boolean {
    return this.tenantSettings !== undefined;
  }

  /** The transport for a tenant, or the default one without a tenant. */
  async get(tenant?: string): Promise<ResolvedTransport> {
    if (tenant === undefined) return this.defaultTransport;
    const settings = this.tenantSettings;
    if (!settings) throw new Error(`Email for tenant "${tenant}" needs the transportResolver option.`);
    let cached = this.tenants.get(tenant);
    if (cached) {
      this.tenants.delete(tenant);
    } else {
      const resolved = settings.resolve(tenant).then(({ options, description }) => ({ transport: new SmtpTransport(options), options, description }));
      cached = { resolved };
      // A failed resolution is not cached: the next email asks the resolver again.
      resolved.catch(() => this.tenants.get(tenant) === cached && this.tenants.delete(tenant));
    }
    this.tenants.set(tenant, cached);
    this.touch(tenant, cached, settings);
    this.evictBeyond(settings.maxCached);
    return cached.resolved;
  }

  closeAll(): void {
    this.defaultTransport.transport.close();
    for (const tenant of [...this.tenants.keys()]) this.close(tenant);
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
    cached.resolved.then(({ transport }) => transport.close()).catch(() => undefined);
  }
}
