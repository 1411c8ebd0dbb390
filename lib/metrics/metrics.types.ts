/**
 * The part of `@opentelemetry/api`'s metrics interfaces this library calls, declared here so our type
 * declarations never import the optional peer: an app without it still type-checks. Any MeterProvider
 * of the OpenTelemetry API (the SDK's included) fits.
 */
export interface MeterProviderLike {
  getMeter(name: string, version?: string): MeterLike;
}

export interface MeterLike {
  createCounter(name: string, options?: InstrumentOptions): AddingInstrument;
  createUpDownCounter(name: string, options?: InstrumentOptions): AddingInstrument;
  createHistogram(name: string, options?: InstrumentOptions): RecordingInstrument;
}

export interface InstrumentOptions {
  description?: string;
  unit?: string;
  /** Bucket boundaries for histograms; an SDK view may override them. */
  advice?: { explicitBucketBoundaries?: number[] };
}

/** Attributes of one measurement: low-cardinality labels, never personal data. */
export type MetricAttributes = Record<string, string>;

export interface AddingInstrument {
  add(value: number, attributes?: MetricAttributes): void;
}

export interface RecordingInstrument {
  record(value: number, attributes?: MetricAttributes): void;
}
