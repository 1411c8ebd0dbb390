import { OptionsResolution, resolveUnless } from '../options';
import type { MeterProviderLike } from './metrics.types';

/**
 * OpenTelemetry metrics of delivery (see docs/operations.md, "Metrics"). They go through
 * `@opentelemetry/api`, an optional peer: without it, and without `meterProvider`, nothing is recorded.
 * Best effort: a provider or instrument that throws is logged once as a warning and metrics turn off;
 * emails are sent as before.
 */
export interface EmailMetricsOptions {
  /**
   * `false` records nothing. `true` fails the boot when `@opentelemetry/api` is not installed (and no
   * `meterProvider` is given), instead of recording nothing without a word.
   * @default recorded when @opentelemetry/api is installed or meterProvider is given
   */
  enabled?: boolean;
  /**
   * Where to record, instead of the global MeterProvider (`metrics.getMeterProvider()`). The global one
   * is looked up when the module is created: register the SDK before `NestFactory.create`.
   */
  meterProvider?: MeterProviderLike;
}

/** The module options the metrics concern owns. */
export interface MetricsModuleOptions {
  metrics?: EmailMetricsOptions;
}

export interface MetricsSettings {
  /** `off`: `enabled: false`; `required`: `enabled: true`; `optional`: recorded only if the API is there. */
  mode: 'off' | 'optional' | 'required';
  meterProvider?: MeterProviderLike;
}

/** Injection token of the resolved `MetricsSettings`. */
export const METRICS_SETTINGS = 'EMAIL_WORKFLOW:METRICS_SETTINGS';

// class-validator loads at boot, when options are checked, not on require (see options/options.validator.ts).
function validation(): typeof import('./metrics.options-validation') {
  return require('./metrics.options-validation') as typeof import('./metrics.options-validation');
}

/** Checks `metrics`; unset means recorded whenever `@opentelemetry/api` is installed. */
export function resolveMetricsOptions(metrics: EmailMetricsOptions | undefined): OptionsResolution<MetricsSettings> {
  return resolveUnless(validation().metricsOptionsProblems(metrics), () => ({
    mode: metrics?.enabled === false ? 'off' : metrics?.enabled === true ? 'required' : 'optional',
    meterProvider: metrics?.meterProvider,
  }));
}
