export { diagnoseDeliverability } from './deliverability.doctor';
export { isDnsServer } from './dns.servers';
export { DELIVERABILITY_SETTINGS, DEFAULT_DNS_TIMEOUT_MS, resolveDeliverabilityOptions } from './deliverability.options';
export type { DeliverabilityModuleOptions, DeliverabilitySettings, DnsOptions } from './deliverability.options';
export type {
  DeliverabilityCheck,
  DeliverabilityCheckName,
  DeliverabilityCode,
  DeliverabilityDiagnosis,
  DeliverabilityRequest,
  DeliverabilityStatus,
  FixAudience,
} from './deliverability.types';
