/**
 * `/metrics` in the Prometheus text format, rendered from the same MeterProvider that pushes
 * OTLP. A pull reader collects on demand; no second HTTP server is started (Knative allows
 * one port, and the function's own server already serves `/metrics`).
 */
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MetricReader } from '@opentelemetry/sdk-metrics';

/** A metric reader that only collects when asked (by a scrape of `/metrics`). */
export class PrometheusReader extends MetricReader {
  readonly #serializer = new PrometheusSerializer();

  /** The current cumulative values, in the Prometheus text exposition format. */
  async render(): Promise<string> {
    const { resourceMetrics, errors } = await this.collect();
    if (errors.length > 0) throw new AggregateError(errors, 'collecting metrics failed');
    // exporter-prometheus 0.301.0 pins sdk-metrics 3.1.0 while the SDK here is 3.1.1: two
    // copies of the same declarations, whose enums have equal values.
    // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
    return this.#serializer.serialize(resourceMetrics);
  }

  /** Nothing is buffered: a pull reader has nothing to flush. */
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }

  /** Nothing to release. */
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** The content type of the Prometheus text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
