import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DependencyMissingError } from '../errors';
import { requireOptional } from '../optional-packages';
import type { MetricsSettings } from './metrics.options';
import type { MeterLike, MeterProviderLike } from './metrics.types';

/** The instrumentation scope of every instrument: what a backend shows as the meter's name. */
export const METER_NAME = 'nestjs-email-workflow';

interface OpenTelemetryApi {
  metrics: { getMeterProvider(): MeterProviderLike };
}

/**
 * The MeterProvider to record to, or undefined when nothing is to be recorded: metrics are off, or
 * `@opentelemetry/api` is not installed and no provider was given. `@opentelemetry/api` is loaded here,
 * when the module is created, so apps without it neither install it nor load it. Only a configuration
 * error throws (`enabled: true` without the package); what the provider itself does is EmailMetrics' to guard.
 */
export function meterProviderFor({ mode, meterProvider }: MetricsSettings): MeterProviderLike | undefined {
  if (mode === 'off') return undefined;
  return meterProvider ?? globalMeterProvider(mode === 'required');
}

/** The library's meter from `provider`, named and versioned as docs/operations.md says. */
export function meterOf(provider: MeterProviderLike): MeterLike {
  return provider.getMeter(METER_NAME, libraryVersion());
}

function globalMeterProvider(required: boolean): MeterProviderLike | undefined {
  try {
    const api = requireOptional(
      '@opentelemetry/api',
      () => require('@opentelemetry/api') as OpenTelemetryApi,
      (name) => new DependencyMissingError(name, 'metrics: { enabled: true } (OpenTelemetry metrics)'),
    );
    return api.metrics.getMeterProvider();
  } catch (error) {
    if (!required && error instanceof DependencyMissingError) return undefined;
    throw error;
  }
}

/** The package's version, as the meter's: lib/metrics and dist/metrics both sit two levels below package.json. */
function libraryVersion(): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    // Bundled apps have no package.json there; a meter without a version is still a meter.
    return undefined;
  }
}
