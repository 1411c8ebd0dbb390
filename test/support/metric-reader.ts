import { AggregationTemporality, DataPointType, MeterProvider, MetricData, MetricReader } from '@opentelemetry/sdk-metrics';

/** The SDK's own reader, pulled on demand: what an exporter would see at that moment. */
class PullReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

export interface HistogramSummary {
  count: number;
  sum: number;
  min?: number;
  max?: number;
  boundaries: number[];
}

/** A real OpenTelemetry SDK MeterProvider whose metrics a test reads back after real sends. */
export class RecordedMetrics {
  private readonly reader = new PullReader();
  readonly provider = new MeterProvider({ readers: [this.reader] });

  /** Every metric the provider holds, with the scope (meter) that made it. */
  async all(): Promise<Array<{ scope: { name: string; version?: string }; metric: MetricData }>> {
    const { resourceMetrics, errors } = await this.reader.collect();
    if (errors.length > 0) throw new Error(`collecting metrics failed: ${errors.map(String).join('; ')}`);
    return resourceMetrics.scopeMetrics.flatMap(({ scope, metrics }) => metrics.map((metric) => ({ scope, metric })));
  }

  async metric(name: string): Promise<MetricData | undefined> {
    return (await this.all()).find(({ metric }) => metric.descriptor.name === name)?.metric;
  }

  /** A counter's (or up-down counter's) value for each attribute set, keyed by `label(attributes)`. */
  async sums(name: string): Promise<Record<string, number>> {
    const metric = await this.metric(name);
    if (metric && metric.dataPointType !== DataPointType.SUM) throw new Error(`${name} is not a sum`);
    return Object.fromEntries((metric?.dataPoints ?? []).map((point) => [label(point.attributes), point.value as number]));
  }

  /** A histogram's summary for each attribute set, keyed by `label(attributes)`. */
  async histograms(name: string): Promise<Record<string, HistogramSummary>> {
    const metric = await this.metric(name);
    if (!metric) return {};
    if (metric.dataPointType !== DataPointType.HISTOGRAM) throw new Error(`${name} is not a histogram`);
    return Object.fromEntries(
      metric.dataPoints.map(({ attributes, value }) => [
        label(attributes),
        { count: value.count, sum: value.sum ?? 0, min: value.min, max: value.max, boundaries: value.buckets.boundaries },
      ]),
    );
  }

  /** Every attribute value of every data point, to look for personal data in. */
  async attributeValues(): Promise<string[]> {
    return (await this.all()).flatMap(({ metric }) =>
      (metric.dataPoints as Array<{ attributes: Record<string, unknown> }>).flatMap((point) => Object.values(point.attributes).map(String)),
    );
  }

  async shutdown(): Promise<void> {
    await this.provider.shutdown();
  }
}

/** An attribute set as one order-free key: `kind=permanent,template=welcome`; '' for none. */
export function label(attributes: Record<string, unknown>): string {
  return Object.entries(attributes)
    .map(([key, value]) => `${key}=${String(value)}`)
    .sort()
    .join(',');
}
