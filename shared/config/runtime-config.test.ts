import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from './config-error.ts';
import { DEFAULTS, parseConfig } from './runtime-config.ts';
import { integer, text } from './settings.ts';

const minimal = { FUNCTION_NAME: 'validate-deps' };

function problemOf(env: Record<string, string>): string {
  try {
    parseConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.message;
  }
  assert.fail('expected a ConfigError');
}

describe('parseConfig', () => {
  test('applies the defaults and freezes the result', () => {
    const config = parseConfig(minimal);
    assert.equal(config.port, DEFAULTS.port);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.functionName, 'validate-deps');
    assert.equal(config.drainTimeoutMs, DEFAULTS.drainTimeoutMs);
    assert.equal(config.telemetry.tracesExporter, 'otlp');
    assert.equal(config.telemetry.serviceName, undefined);
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.telemetry));
  });

  test("takes the function name from Knative's K_SERVICE when FUNCTION_NAME is unset", () => {
    assert.equal(
      parseConfig({ K_SERVICE: 'init-db', K_REVISION: 'init-db-00001' }).functionName,
      'init-db',
    );
    assert.equal(parseConfig({ K_SERVICE: 'init-db', FUNCTION_NAME: 'x' }).functionName, 'x');
  });

  test('treats an empty value as unset', () => {
    assert.equal(parseConfig({ ...minimal, PORT: '' }).port, 8080);
  });

  test('reads the OpenTelemetry switches', () => {
    const config = parseConfig({
      ...minimal,
      OTEL_TRACES_EXPORTER: 'NONE',
      OTEL_SERVICE_NAME: 'custom',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
    });
    assert.equal(config.telemetry.tracesExporter, 'none');
    assert.equal(config.telemetry.serviceName, 'custom');
    assert.equal(config.telemetry.endpoint, 'http://collector:4318');
  });

  for (const [env, expected] of [
    [{}, /FUNCTION_NAME or K_SERVICE is required: a DNS label/],
    [{ ...minimal, PORT: 'eighty' }, /PORT must be an integer from 0 to 65535, not "eighty"/],
    [{ ...minimal, PORT: '70000' }, /PORT must be an integer from 0 to 65535/],
    [
      { ...minimal, LOG_LEVEL: 'verbose' },
      /LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, not "verbose"/,
    ],
    [{ FUNCTION_NAME: 'Init_DB' }, /^invalid configuration: FUNCTION_NAME must be a DNS label/],
    [
      { ...minimal, OTEL_TRACES_EXPORTER: 'jaeger' },
      /OTEL_TRACES_EXPORTER must be one of otlp, none/,
    ],
    [
      { ...minimal, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      /^invalid configuration: OTEL_EXPORTER_OTLP_PROTOCOL must be one of http\/json, not "grpc"$/,
    ],
    [
      { ...minimal, OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' },
      /OTEL_EXPORTER_OTLP_ENDPOINT must be an absolute URL starting with http:\/\/ or https:\/\//,
    ],
    [{ ...minimal, OTEL_SDK_DISABLED: 'yes' }, /OTEL_SDK_DISABLED must be true or false/],
    [
      { ...minimal, SHUTDOWN_DRAIN_TIMEOUT_MS: '-1' },
      /SHUTDOWN_DRAIN_TIMEOUT_MS must be an integer/,
    ],
  ] as const) {
    test(`refuses ${JSON.stringify(env)}, naming the variable and what it accepts`, () => {
      assert.match(problemOf(env), expected);
    });
  }

  test('reports every problem at once', () => {
    const message = problemOf({ PORT: 'x', LOG_LEVEL: 'loud' });
    assert.match(message, /PORT/);
    assert.match(message, /LOG_LEVEL/);
    assert.match(message, /FUNCTION_NAME/);
  });

  test('never echoes a URL, which may carry credentials', () => {
    const message = problemOf({
      ...minimal,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://user:s3cret@host',
    });
    assert.doesNotMatch(message, /s3cret/);
  });

  test("extends with a function's own schema, parsed and reported in the same pass", () => {
    const schema = {
      database: {
        url: text('DATABASE_URL'),
        poolSize: integer('DATABASE_POOL_SIZE', { default: 5, min: 1, max: 50 }),
      },
    };
    const config = parseConfig({ ...minimal, DATABASE_URL: 'postgres://h/db' }, schema);
    assert.equal(config.database.url, 'postgres://h/db');
    assert.equal(config.database.poolSize, 5);
    assert.equal(config.port, 8080);
    assert.throws(
      () => parseConfig({ PORT: 'x' }, schema),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.problems.some((p) => p.startsWith('DATABASE_URL is required')) &&
        error.problems.some((p) => p.startsWith('PORT')),
    );
  });

  test("refuses a schema key that clashes with the runtime's", () => {
    assert.throws(() => parseConfig(minimal, { port: integer('OTHER_PORT') }), /runtime's/);
  });
});
