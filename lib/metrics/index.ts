export { EmailMetrics } from './email-metrics';
export { meterProviderFor, METER_NAME } from './meter.loader';
export { METRICS_SETTINGS, resolveMetricsOptions } from './metrics.options';
export type { EmailMetricsOptions, MetricsModuleOptions, MetricsSettings } from './metrics.options';
export type { MeterProviderLike, MeterLike, InstrumentOptions, MetricAttributes, AddingInstrument, RecordingInstrument } from './metrics.types';
