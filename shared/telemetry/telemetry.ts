/**
 * The telemetry of one function process: a lean OpenTelemetry pipeline (sdk-trace's
 * TracerProvider with a batching OTLP/HTTP exporter, sdk-metrics' MeterProvider pushing
 * OTLP and serving Prometheus text), not NodeSDK: bench/coldstart/README.md measures the
 * difference. Everything is built when `startTelemetry` is called, never at import.
 */
import {
  context,
  diag,
  DiagLogLevel,
  metrics,
  propagation,
  trace,
  type Tracer,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  detectResources,
  resourceAttributesEnvDetector,
  resourceFromAttributes,
  type Resource,
} from '@opentelemetry/resources';
import {
  createDenyListAttributesProcessor,
  MeterProvider,
  PeriodicExportingMetricReader,
  type IMetricReader,
  type ViewOptions,
} from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, TracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace';
import type { RuntimeConfig } from '../config/runtime-config.ts';
import { enableInstrumentations } from './instrumentations.ts';
import type { Logger } from './logger.ts';
import type { MetricsRecorder } from './metrics-recorder.ts';
import { createMetricsRecorder } from './metrics.ts';
import { PrometheusReader } from './prometheus.ts';

/** The instrumentation scope of the runtime's own spans and metrics. */
export const INSTRUMENTATION_SCOPE = 'supabase-reconciler';

/** Traces, metrics and instrumentation of one function process. */
export interface Telemetry {
  /** The `service.name` spans and metrics are reported under. */
  readonly serviceName: string;
  /** Creates the function's own spans (the `process <type>` span). */
  readonly tracer: Tracer;
  /** Counters and histograms for handlers and the k8s/db layers. */
  readonly metrics: MetricsRecorder;
  /** Current metrics in the Prometheus text format, for `/metrics`. */
  renderMetrics(): Promise<string>;
  /** Patches a module loaded through ESM or a bundle (`pg`); see instrumentations.ts. */
  instrumentModule(name: string, moduleExports: unknown): void;
  /** Exports every finished span and the current metrics now. */
  flush(): Promise<void>;
  /** Flushes, then stops exporting and removes the global registrations and patches. */
  shutdown(): Promise<void>;
}

/** What `startTelemetry` needs besides the configuration. */
export interface TelemetryOptions {
  /** Receives OpenTelemetry's own warnings (a failed export) as log lines. */
  readonly logger?: Logger;
  /** More span processors (the local runtime records spans for `supabase-reconciler trace`). */
  readonly spanProcessors?: readonly SpanProcessor[];
}

function serviceResource(config: RuntimeConfig, serviceName: string): Resource {
  const attributes: Record<string, string> = {
    'service.name': serviceName,
    'faas.name': config.functionName,
  };
  if (config.revision !== undefined) {
    attributes['service.version'] = config.revision;
    attributes['faas.version'] = config.revision;
  }
  // OTEL_RESOURCE_ATTRIBUTES adds to (but does not override) what the runtime knows.
  return detectResources({ detectors: [resourceAttributesEnvDetector] }).merge(
    resourceFromAttributes(attributes),
  );
}

function routeDiagnostics(logger: Logger): void {
  const log =
    (level: 'warn' | 'error') =>
    (message: string, ...args: unknown[]): void => {
      logger[level]({ otel: args.map(String) }, `opentelemetry: ${message}`);
    };
  const ignore = (): void => undefined;
  diag.setLogger(
    { error: log('error'), warn: log('warn'), info: ignore, debug: ignore, verbose: ignore },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
}

/**
 * Metric attributes that name where a request went. The HTTP client and pg instrumentations
 * label their metrics with the peer's address, and a peer is often a tenant's (the S3
 * endpoint and database host of a project's Secrets): `/metrics` would show every tenant's
 * addresses to anyone who can scrape it, and each new address would be a new series. Spans
 * keep them (a trace is for the operator); metrics aggregate without them.
 */
export const PEER_ADDRESS_ATTRIBUTES: readonly string[] = [
  'server.address',
  'server.port',
  'url.full',
  'url.path',
  'url.query',
  'network.peer.address',
  'network.peer.port',
  'net.peer.name',
  'net.peer.port',
  'net.peer.ip',
  'http.url',
  'http.host',
  'db.namespace',
  'db.name',
];

const WITHOUT_PEER_ADDRESSES: ViewOptions = {
  instrumentName: '*',
  attributesProcessors: [createDenyListAttributesProcessor([...PEER_ADDRESS_ATTRIBUTES])],
};

/**
 * Builds and registers the telemetry of a function: the global context manager, W3C
 * propagators, tracer and meter providers, and the http/express/pg instrumentations.
 * OTLP exporters read `OTEL_EXPORTER_OTLP_*` themselves; `OTEL_TRACES_EXPORTER=none` or
 * `OTEL_METRICS_EXPORTER=none` turn a push off (`/metrics` keeps working), and
 * `OTEL_SDK_DISABLED=true` turns both off.
 * @param config - the parsed runtime configuration
 * @returns the telemetry; call `shutdown()` before the process exits so nothing is lost
 */
export function startTelemetry(config: RuntimeConfig, options: TelemetryOptions = {}): Telemetry {
  const { telemetry: settings } = config;
  const serviceName = settings.serviceName ?? config.functionName;
  const resource = serviceResource(config, serviceName);
  if (options.logger) routeDiagnostics(options.logger);

  const spanProcessors: SpanProcessor[] = [...(options.spanProcessors ?? [])];
  if (!settings.disabled && settings.tracesExporter === 'otlp')
    spanProcessors.push(new BatchSpanProcessor({ exporter: new OTLPTraceExporter() }));
  const tracerProvider = new TracerProvider({ resource, spanProcessors });

  const prometheus = new PrometheusReader();
  const readers: IMetricReader[] = [prometheus];
  if (!settings.disabled && settings.metricsExporter === 'otlp')
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter(),
        exportIntervalMillis: settings.metricExportIntervalMs,
        // The SDK refuses a timeout longer than the interval.
        exportTimeoutMillis: Math.min(
          settings.metricExportTimeoutMs,
          settings.metricExportIntervalMs,
        ),
      }),
    );
  const meterProvider = new MeterProvider({ resource, readers, views: [WITHOUT_PEER_ADDRESSES] });

  // Globals, so that instrumentations, `trace.getActiveSpan()` in the logger and any layer
  // using @opentelemetry/api see this pipeline. Replacing earlier ones lets tests start one
  // telemetry after another in the same process.
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.disable();
  context.setGlobalContextManager(contextManager);
  propagation.disable();
  propagation.setGlobalPropagator(
    new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
  );
  trace.disable();
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.disable();
  metrics.setGlobalMeterProvider(meterProvider);

  const instrumentations = enableInstrumentations(tracerProvider, meterProvider);
  const flush = async (): Promise<void> => {
    await Promise.all([tracerProvider.forceFlush(), meterProvider.forceFlush()]);
  };
  let stopped: Promise<void> | undefined;

  return {
    serviceName,
    tracer: tracerProvider.getTracer(INSTRUMENTATION_SCOPE),
    metrics: createMetricsRecorder(
      meterProvider.getMeter(INSTRUMENTATION_SCOPE),
      config.functionName,
    ),
    renderMetrics: () => prometheus.render(),
    instrumentModule: (name, moduleExports) => {
      instrumentations.instrumentModule(name, moduleExports);
    },
    flush,
    shutdown() {
      stopped ??= (async () => {
        // shutdown() of each provider exports what is pending before it stops.
        await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
        instrumentations.disable();
        trace.disable();
        metrics.disable();
        propagation.disable();
        context.disable();
        diag.disable();
      })();
      return stopped;
    },
  };
}
