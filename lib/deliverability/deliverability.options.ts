import { OptionsResolution, resolveUnless } from '../options';

/** The DNS the deliverability checks ask (`diagnoseDeliverability()`). */
export interface DnsOptions {
  /**
   * DNS servers to ask, as IP addresses with an optional port (`'1.1.1.1'`, `'127.0.0.1:5353'`,
   * `'[2001:db8::53]:53'`). @default the system's resolvers (/etc/resolv.conf)
   */
  servers?: string[];
  /** Milliseconds each query may take before the check reports DNS_TIMEOUT. @default 5000 */
  timeout?: number;
}

/** The module options the deliverability concern owns. */
export interface DeliverabilityModuleOptions {
  dns?: DnsOptions;
}

export interface DeliverabilitySettings {
  dns: { servers?: string[]; timeoutMs: number };
}

export const DEFAULT_DNS_TIMEOUT_MS = 5_000;

/** Injection token of the resolved `DeliverabilitySettings`. */
export const DELIVERABILITY_SETTINGS = 'EMAIL_WORKFLOW:DELIVERABILITY_SETTINGS';

// class-validator loads at boot, when options are checked, not on require (see options/options.validator.ts).
function validation(): typeof import('./deliverability.options-validation') {
  return require('./deliverability.options-validation') as typeof import('./deliverability.options-validation');
}

/** Checks `dns` and applies its defaults. */
export function resolveDeliverabilityOptions({ dns }: DeliverabilityModuleOptions): OptionsResolution<DeliverabilitySettings> {
  return resolveUnless(validation().dnsOptionsProblems(dns), () => ({
    dns: { servers: dns?.servers && [...dns.servers], timeoutMs: dns?.timeout ?? DEFAULT_DNS_TIMEOUT_MS },
  }));
}
