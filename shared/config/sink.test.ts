import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from './config-error.ts';
import { resyncSchema, RESYNC_DEFAULTS } from './resync.ts';
import { parseConfig } from './runtime-config.ts';
import { parseSchema } from './settings.ts';
import { sinkSchema, SINK_DEFAULTS } from './sink.ts';

const SINK = 'http://broker-ingress.knative-eventing.svc.cluster.local/team-a/default';

function problems(env: Record<string, string>): readonly string[] {
  try {
    parseSchema(sinkSchema, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('sink settings', () => {
  test('K_SINK missing or empty is a configuration error that says how to fix it', () => {
    for (const env of [{}, { K_SINK: '' }]) {
      const [problem] = problems(env);
      assert.match(problem ?? '', /K_SINK is required/);
      assert.match(problem ?? '', /SinkBinding/);
    }
  });

  test('K_SINK must be an http(s) URL, and its value is not echoed', () => {
    for (const value of ['broker', 'ftp://user:secret@host/x', 'http//x']) {
      const [problem] = problems({ K_SINK: value });
      assert.match(problem ?? '', /K_SINK must be an absolute http:\/\/ or https:\/\/ URL/);
      assert.ok(!(problem ?? '').includes(value), problem);
    }
  });

  test('K_CE_OVERRIDES: unset, empty, {} and null extensions mean none', () => {
    for (const overrides of [undefined, '', '{}', '{"extensions":null}', '{"extensions":{}}']) {
      const env = {
        K_SINK: SINK,
        ...(overrides === undefined ? {} : { K_CE_OVERRIDES: overrides }),
      };
      const { sink } = parseSchema(sinkSchema, env);
      assert.deepEqual(sink, { url: SINK, extensions: {}, timeoutMs: SINK_DEFAULTS.timeoutMs });
    }
  });

  test('K_CE_OVERRIDES extensions are read', () => {
    const { sink } = parseSchema(sinkSchema, {
      K_SINK: SINK,
      K_CE_OVERRIDES: '{"extensions":{"cluster":"eu1","team":"platform"}}',
    });
    assert.deepEqual(sink.extensions, { cluster: 'eu1', team: 'platform' });
  });

  test('K_CE_OVERRIDES that is not the documented JSON, or overrides our own attributes, is refused', () => {
    const cases: [string, RegExp][] = [
      ['{', /not JSON/],
      ['[1]', /must be JSON of the form/],
      ['"x"', /must be JSON of the form/],
      ['{"extensions":[]}', /must be JSON of the form/],
      ['{"extensions":{"Bad-Name":"x"}}', /lower-case letters and digits/],
      ['{"extensions":{"n":1}}', /must be text/],
      ['{"extensions":{"projectuid":"x"}}', /sets itself/],
      ['{"extensions":{"type":"x"}}', /sets itself/],
      ['{"extensions":{"traceparent":"x"}}', /sets itself/],
    ];
    for (const [value, expected] of cases) {
      const [problem] = problems({ K_SINK: SINK, K_CE_OVERRIDES: value });
      assert.match(problem ?? '', expected, value);
      assert.match(problem ?? '', /^K_CE_OVERRIDES/);
    }
  });

  test("resync's schema: defaults, bounds, and a missing K_SINK stops the start", () => {
    const config = parseConfig({ FUNCTION_NAME: 'resync', K_SINK: SINK }, resyncSchema);
    assert.deepEqual(config.resync, {
      maxAgeSeconds: RESYNC_DEFAULTS.maxAgeSeconds,
      failedRetrySeconds: RESYNC_DEFAULTS.failedRetrySeconds,
      concurrency: RESYNC_DEFAULTS.concurrency,
      namespaces: [],
    });
    assert.deepEqual(
      parseConfig(
        { FUNCTION_NAME: 'resync', K_SINK: SINK, RESYNC_NAMESPACES: 'team-a, team-b' },
        resyncSchema,
      ).resync.namespaces,
      ['team-a', 'team-b'],
    );
    assert.throws(
      () =>
        parseConfig(
          { FUNCTION_NAME: 'resync', K_SINK: SINK, RESYNC_NAMESPACES: 'Team_A' },
          resyncSchema,
        ),
      /RESYNC_NAMESPACES has "Team_A", which is not a namespace name/,
    );
    assert.equal(RESYNC_DEFAULTS.maxAgeSeconds, 36_000);
    assert.throws(
      () => parseConfig({ FUNCTION_NAME: 'resync' }, resyncSchema),
      (error: unknown) =>
        error instanceof ConfigError && error.message.includes('K_SINK is required'),
    );
    assert.throws(
      () =>
        parseConfig(
          { FUNCTION_NAME: 'resync', K_SINK: SINK, RESYNC_MAX_AGE_SECONDS: '10' },
          resyncSchema,
        ),
      /RESYNC_MAX_AGE_SECONDS must be an integer from 60/,
    );
  });
});
