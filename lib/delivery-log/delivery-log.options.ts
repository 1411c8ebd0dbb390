import { OptionsResolution, resolveUnless } from '../options';
import type { DeliveryLogLimits } from './delivery-log.types';

/** The delivery log: one record per email, kept where the tokens are. */
export interface DeliveryLogOptions {
  /** How long a record is kept, in ms. @default 2592000000 (30 days) */
  retention?: number;
  /** The most records kept per address; the oldest go first. @default 100 */
  perAddress?: number;
}

export interface DeliveryLogModuleOptions {
  deliveryLog?: DeliveryLogOptions;
}

export type DeliveryLogSettings = DeliveryLogLimits;

export const DELIVERY_LOG_SETTINGS = 'EMAIL_WORKFLOW:DELIVERY_LOG_SETTINGS';
const DAY_MS = 86_400_000;
/** How many records the dev inbox's Delivery log page can list without an address. */
const RECENT_RECORDS = 500;

function validation(): typeof import('./delivery-log.options-validation') {
  return require('./delivery-log.options-validation') as typeof import('./delivery-log.options-validation');
}

/** Checks `deliveryLog` and applies its defaults. */
export function resolveDeliveryLogOptions({ deliveryLog }: DeliveryLogModuleOptions): OptionsResolution<DeliveryLogSettings> {
  return resolveUnless(validation().deliveryLogOptionsProblems(deliveryLog), () => ({
    retentionMs: deliveryLog?.retention ?? 30 * DAY_MS,
    perAddress: deliveryLog?.perAddress ?? 100,
    recent: RECENT_RECORDS,
  }));
}
