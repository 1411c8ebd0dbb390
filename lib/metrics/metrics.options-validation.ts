import { IsBoolean, IsOptional } from 'class-validator';
import type { OptionsProblem } from '../errors';
import { dtoProblems, missingMethods, rule } from '../options/options.validator';

class MetricsDto {
  @IsOptional()
  @IsBoolean(rule('must be true or false', 'use false to record no metrics, true to fail the boot without @opentelemetry/api'))
  enabled?: boolean;
}

/** Problems of the `metrics` option, by path. */
export function metricsOptionsProblems(metrics: unknown): OptionsProblem[] {
  if (metrics === undefined) return [];
  if (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics)) {
    return [{ path: 'metrics', problem: 'must be an object', fix: 'use e.g. metrics: { enabled: true }' }];
  }
  // The provider is checked as given: class-transformer would walk (and copy) the SDK's whole object graph.
  const { meterProvider, ...rest } = metrics as { meterProvider?: unknown };
  return [...dtoProblems(MetricsDto, rest, 'metrics'), ...missingMethods('metrics.meterProvider', meterProvider, ['getMeter'])];
}
