/**
 * The alternative the cold-start benchmark compares against: the same telemetry (same
 * exporters, readers, instrumentations and patching) set up by @opentelemetry/sdk-node's
 * NodeSDK instead of the lean pipeline in shared/telemetry/telemetry.ts.
 */
import { metrics, trace } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import type { RuntimeConfig } from '../../shared/config/runtime-config.ts';
import { enableInstrumentations } from '../../shared/telemetry/instrumentations.ts';
import { createMetricsRecorder } from '../../shared/telemetry/metrics.ts';
import { PrometheusReader } from '../../shared/telemetry/prometheus.ts';
import { INSTRUMENTATION_SCOPE, type Telemetry } from '../../shared/telemetry/telemetry.ts';

/** Starts NodeSDK with the runtime's exporters and instrumentations. */
export function startNodeSdkTelemetry(config: RuntimeConfig): Telemetry {
  const serviceName = config.telemetry.serviceName ?? config.functionName;
  const prometheus = new PrometheusReader();
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    traceExporter: new OTLPTraceExporter(),
    metricReaders: [
      prometheus,
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter(),
        exportIntervalMillis: config.telemetry.metricExportIntervalMs,
        exportTimeoutMillis: Math.min(
          config.telemetry.metricExportTimeoutMs,
          config.telemetry.metricExportIntervalMs,
        ),
      }),
    ],
    // The same instrumentations, registered below with the same ESM/bundle patching.
    instrumentations: [],
  });
  sdk.start();
  const instrumentations = enableInstrumentations(
    trace.getTracerProvider(),
    metrics.getMeterProvider(),
  );
  return {
    serviceName,
    tracer: trace.getTracer(INSTRUMENTATION_SCOPE),
    metrics: createMetricsRecorder(metrics.getMeter(INSTRUMENTATION_SCOPE), config.functionName),
    renderMetrics: () => prometheus.render(),
    instrumentModule: (name, moduleExports) => {
      instrumentations.instrumentModule(name, moduleExports);
    },
    // NodeSDK exposes no flush; shutdown flushes.
    flush: () => Promise.resolve(),
    shutdown: () => sdk.shutdown(),
  };
}
