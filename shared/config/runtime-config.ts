/**
 * The configuration every function shares: the environment variable names, their defaults,
 * and `parseConfig`, which a function extends with its own schema. Nothing here runs at
 * import time; the environment is read only when `parseConfig` is called.
 */
import {
  boolean,
  integer,
  list,
  oneOf,
  optionalText,
  optionalUrl,
  parseSchema,
  text,
  type ConfigOf,
  type ConfigSchema,
  type Environment,
} from './settings.ts';

/** pino's levels, most verbose first. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
/** A log level accepted by LOG_LEVEL. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Exporters this runtime ships: OTLP over HTTP, or nothing. */
export const TELEMETRY_EXPORTERS = ['otlp', 'none'] as const;
/** An OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER value. */
export type TelemetryExporter = (typeof TELEMETRY_EXPORTERS)[number];

/**
 * The only OTLP protocol the bundled exporters speak. Any other value would be silently
 * ignored by `exporter-*-otlp-http`, so it is refused at start instead.
 */
export const OTLP_PROTOCOLS = ['http/json'] as const;

/** Defaults, in one place. */
export const DEFAULTS = Object.freeze({
  /** Knative Serving's default user port. */
  port: 8080,
  logLevel: 'info' satisfies LogLevel,
  /**
   * How long SIGTERM waits for in-flight events. Knative's queue-proxy drains before the
   * container gets SIGTERM, so this is a backstop well below the revision timeout.
   */
  drainTimeoutMs: 20_000,
  /** Scale-to-zero pods live minutes; push often enough that a short life still reports. */
  metricExportIntervalMs: 15_000,
  metricExportTimeoutMs: 10_000,
  /**
   * The HTTP server's own bounds against slow clients (Knative's queue-proxy in front sends
   * whole requests at once; anything slower is not the broker). Headers must arrive within
   * 10 s and the whole request within 30 s, well inside Knative's request timeout (300 s by
   * default, which bounds the answer). An idle keep-alive connection is kept 95 s, longer than
   * the 90 s for which Go's HTTP transport (queue-proxy's) keeps it for reuse, so the server
   * never closes a connection the proxy is about to send on.
   */
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 95_000,
});

/** A Knative Service name (a DNS-1035 label), which is also our function name. */
const FUNCTION_NAME_PATTERN = {
  regex: /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/,
  description: 'a DNS label (lower-case letters, digits and "-", starting with a letter)',
};

/**
 * The runtime's settings. Variable names are the ones Knative Serving and the OpenTelemetry
 * specification define, so nothing needs mapping in the Knative Service manifest.
 */
export const runtimeSchema = {
  /** Knative always sets PORT. 0 asks for any free port (tests and benchmarks). */
  port: integer('PORT', { default: DEFAULTS.port, min: 0, max: 65_535 }),
  logLevel: oneOf('LOG_LEVEL', LOG_LEVELS, { default: DEFAULTS.logLevel }),
  /** FUNCTION_NAME for local runs; Knative sets K_SERVICE (reserved, users may not). */
  functionName: text(['FUNCTION_NAME', 'K_SERVICE'], { pattern: FUNCTION_NAME_PATTERN }),
  /** The Knative revision, recorded as `service.version` on telemetry. */
  revision: optionalText('K_REVISION'),
  drainTimeoutMs: integer('SHUTDOWN_DRAIN_TIMEOUT_MS', {
    default: DEFAULTS.drainTimeoutMs,
    min: 0,
    max: 600_000,
  }),
  http: {
    headersTimeoutMs: integer('HTTP_HEADERS_TIMEOUT_MS', {
      default: DEFAULTS.headersTimeoutMs,
      min: 100,
      max: 300_000,
    }),
    requestTimeoutMs: integer('HTTP_REQUEST_TIMEOUT_MS', {
      default: DEFAULTS.requestTimeoutMs,
      min: 100,
      max: 300_000,
    }),
    keepAliveTimeoutMs: integer('HTTP_KEEP_ALIVE_TIMEOUT_MS', {
      default: DEFAULTS.keepAliveTimeoutMs,
      min: 100,
      max: 600_000,
    }),
  },
  /**
   * Knative Eventing's OIDC authentication of deliveries (shared/runtime/authenticate.ts):
   * set AUTH_OIDC_AUDIENCE to the audience of this function's Trigger subscriber, and every
   * event must carry the Broker's service-account token for it.
   */
  auth: {
    audience: optionalText('AUTH_OIDC_AUDIENCE'),
    /** Default: the issuer the API server's OIDC discovery names. */
    issuer: optionalText('AUTH_OIDC_ISSUER'),
    subjects: list('AUTH_OIDC_SUBJECTS', (item) =>
      /^system:serviceaccount:[^:]+:[^:]+$/.test(item) || /^system:serviceaccount:.*\*$/.test(item)
        ? undefined
        : 'is not a service account (system:serviceaccount:<namespace>:<name>, or a prefix ending in *)',
    ),
  },
  telemetry: {
    /** `true` turns every signal off (OpenTelemetry's own switch). */
    disabled: boolean('OTEL_SDK_DISABLED', false),
    /** Overrides `service.name` (default: the function name). */
    serviceName: optionalText('OTEL_SERVICE_NAME'),
    tracesExporter: oneOf('OTEL_TRACES_EXPORTER', TELEMETRY_EXPORTERS, { default: 'otlp' }),
    metricsExporter: oneOf('OTEL_METRICS_EXPORTER', TELEMETRY_EXPORTERS, { default: 'otlp' }),
    // The exporters read the endpoints themselves; they are parsed here only so that a typo
    // fails the start instead of every export.
    endpoint: optionalUrl('OTEL_EXPORTER_OTLP_ENDPOINT'),
    tracesEndpoint: optionalUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'),
    metricsEndpoint: optionalUrl('OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'),
    protocol: oneOf(
      ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'],
      OTLP_PROTOCOLS,
      { default: 'http/json' },
    ),
    metricsProtocol: oneOf(
      ['OTEL_EXPORTER_OTLP_METRICS_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'],
      OTLP_PROTOCOLS,
      { default: 'http/json' },
    ),
    metricExportIntervalMs: integer('OTEL_METRIC_EXPORT_INTERVAL', {
      default: DEFAULTS.metricExportIntervalMs,
      min: 100,
    }),
    metricExportTimeoutMs: integer('OTEL_METRIC_EXPORT_TIMEOUT', {
      default: DEFAULTS.metricExportTimeoutMs,
      min: 100,
    }),
  },
} satisfies ConfigSchema;

/** The runtime's part of every function's configuration. */
export type RuntimeConfig = ConfigOf<typeof runtimeSchema>;

/**
 * The runtime's configuration plus a function's own settings. With no schema of its own
 * (`S` left as the wide `ConfigSchema`), it is just the runtime's.
 */
export type FunctionConfig<S extends ConfigSchema = ConfigSchema> = RuntimeConfig &
  (string extends keyof S ? unknown : ConfigOf<S>);

/**
 * Reads the configuration from the environment: the runtime's settings, plus the settings of
 * `schema` when a function has its own (define those in shared/config too, so every variable
 * name and default lives here).
 *
 * @example
 * const config = parseConfig(process.env, { database: databaseSchema });
 * config.port; config.database.url;
 * @param env - the environment (default `process.env`)
 * @param schema - the function's own settings; its keys must not clash with the runtime's
 * @returns a deeply frozen config object
 * @throws ConfigError naming every missing or invalid variable and what it accepts
 */
export function parseConfig<S extends ConfigSchema = ConfigSchema>(
  env: Environment = process.env,
  schema?: S,
): FunctionConfig<S> {
  for (const key of Object.keys(schema ?? {}))
    if (key in runtimeSchema)
      throw new TypeError(`config key "${key}" is the runtime's; choose another name`);
  return parseSchema({ ...runtimeSchema, ...schema }, env) as FunctionConfig<S>;
}
