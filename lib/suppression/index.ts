export { EmailSuppressions } from './email-suppressions';
export { BounceFeed, suppressesRecipient } from './bounce.feed';
export { MemorySuppressionStore } from './memory-suppression.store';
export { RedisSuppressionStore } from './redis-suppression.store';
export { SUPPRESSION_SETTINGS, DEFAULT_BYPASS_TEMPLATES } from './suppression.options';
export type { SuppressionOptions, SuppressionModuleOptions, SuppressionSettings } from './suppression.options';
export type { Suppression, SuppressionDetails, SuppressionReason, SuppressionStore, StoredSuppression } from './suppression.types';
export { resolveSuppressionOptions } from './suppression.options';
