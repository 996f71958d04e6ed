import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { CloudEvent, HTTP } from 'cloudevents';
import request from 'supertest';
import { createHarness, MODES, sampleEvent } from '../../test/fixtures/function-harness.ts';
import { ConflictError, PermanentError, RateLimitedError, TransientError } from './errors.ts';
import { acknowledge, type EventHandler } from './handler.ts';
import { RedactedError } from '../secrets/redacted-error.ts';

/** A handler whose behaviour each test picks through the event's data. */
const scripted: EventHandler = async (event, context) => {
  const data = event.data as { action?: string } | undefined;
  context.logger.info({ action: data?.action }, 'handling');
  switch (data?.action) {
    case 'reply':
      return new CloudEvent<unknown>({
        type: 'dev.reconciler.supabase.database.initialized',
        source: 'init-db',
        ...(event.subject === undefined ? {} : { subject: event.subject }),
        data: { done: true },
      });
    case 'drop-stale':
      return acknowledge('dropped_stale', 'generation 2 is older than 3');
    case 'conflict':
      throw new ConflictError('resourceVersion changed');
    case 'rate-limited':
      throw new RateLimitedError('slow down');
    case 'transient':
      throw new TransientError('connect ECONNREFUSED', { cause: new Error('socket detail') });
    case 'permanent':
      throw new PermanentError('SecretKeyMissing', 'Secret db has no key "password"');
    case 'bug':
      throw new Error('internal detail: pool of 10 exhausted', {
        // As a boundary keeps it: a scrubbed copy (shared/secrets/redacted-error.ts).
        cause: RedactedError.of(new Error('root cause here'), []),
      });
    default:
      return Promise.resolve(undefined);
  }
};

const harness = createHarness(scripted);
after(() => harness.telemetry.shutdown());

function post(message: { headers: Record<string, unknown>; body: unknown }) {
  return request(harness.app)
    .post('/')
    .set(message.headers as Record<string, string>)
    .send(message.body as string);
}

for (const [mode, encode] of Object.entries(MODES)) {
  describe(`a ${mode} CloudEvent`, () => {
    test('a reply is answered 200 in binary mode with ce-* headers and the trace context', async () => {
      const res = await post(encode(sampleEvent({ data: { action: 'reply' } })));
      assert.equal(res.status, 200);
      assert.equal(res.headers['ce-type'], 'dev.reconciler.supabase.database.initialized');
      assert.equal(res.headers['ce-source'], 'init-db');
      assert.equal(res.headers['ce-specversion'], '1.0');
      assert.equal(res.headers['ce-subject'], 'namespaces/team-a/supabaseprojects/demo');
      assert.match(String(res.headers['ce-traceparent']), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      const reply = HTTP.toEvent({ headers: res.headers, body: res.text }) as CloudEvent<unknown>;
      assert.deepEqual(reply.data, { done: true });
    });

    test('no reply is answered 204 with an empty body', async () => {
      const res = await post(encode(sampleEvent({ data: { action: 'none' } })));
      assert.equal(res.status, 204);
      assert.equal(res.text, '');
      assert.equal(res.headers['ce-id'], undefined);
    });

    test('an acknowledged (dropped) event is answered 202 with an empty body', async () => {
      const res = await post(encode(sampleEvent({ data: { action: 'drop-stale' } })));
      assert.equal(res.status, 202);
      assert.equal(res.text, '');
    });

    for (const [action, status] of [
      ['conflict', 409],
      ['rate-limited', 429],
      ['transient', 503],
      ['bug', 500],
    ] as const) {
      test(`a ${action} error is answered ${status} with a generic body`, async () => {
        const res = await post(encode(sampleEvent({ data: { action } })));
        assert.equal(res.status, status);
        assert.doesNotMatch(res.text, /detail|exhausted|ECONNREFUSED|slow down|resourceVersion/);
      });
    }

    test('a permanent error is answered 422 (not retried) with its reason only', async () => {
      const res = await post(encode(sampleEvent({ data: { action: 'permanent' } })));
      assert.equal(res.status, 422);
      assert.equal(res.text, 'Unprocessable Entity: SecretKeyMissing');
    });
  });
}

describe('a malformed request is answered 400 with the precise problem', () => {
  test('no CloudEvent at all', async () => {
    const res = await request(harness.app).post('/').type('application/json').send('{"a":1}');
    assert.equal(res.status, 400);
    assert.match(res.text, /no CloudEvent in the request/);
  });

  test('binary mode without the required source attribute', async () => {
    const { headers, body } = HTTP.binary(sampleEvent());
    delete headers['ce-source'];
    const res = await post({ headers, body });
    assert.equal(res.status, 400);
    assert.equal(res.text, 'invalid CloudEvent: missing required attribute "source"');
  });

  test('structured mode without the required type attribute', async () => {
    const { headers, body } = HTTP.structured(sampleEvent());
    const json = JSON.parse(body as string) as Record<string, unknown>;
    delete json.type;
    const res = await post({ headers, body: JSON.stringify(json) });
    assert.equal(res.status, 400);
    assert.equal(res.text, 'invalid CloudEvent: missing required attribute "type"');
  });

  test('batch mode', async () => {
    const res = await request(harness.app)
      .post('/')
      .type('application/cloudevents-batch+json')
      .send(JSON.stringify([JSON.parse(HTTP.structured(sampleEvent()).body as string)]));
    assert.equal(res.status, 400);
    assert.match(res.text, /batch mode is not supported/);
  });

  test('structured mode with a body that is not JSON', async () => {
    const res = await request(harness.app)
      .post('/')
      .type('application/cloudevents+json')
      .send('{"specversion": "1.0", oops');
    assert.equal(res.status, 400);
    assert.match(
      res.text,
      /^the body is not valid JSON \(Content-Type application\/cloudevents\+json\)/,
    );
  });

  test('binary mode with a JSON content type and a body that is not JSON', async () => {
    const { headers } = HTTP.binary(sampleEvent());
    const res = await post({ headers, body: '{not json' });
    assert.equal(res.status, 400);
    assert.match(res.text, /the body is not valid JSON \(Content-Type application\/json/);
  });

  test('a specversion other than 1.0', async () => {
    const { headers, body } = HTTP.binary(sampleEvent());
    const res = await post({ headers: { ...headers, 'ce-specversion': '0.1' }, body });
    assert.equal(res.status, 400);
    assert.match(res.text, /unsupported specversion "0.1"/);
  });
});

test('a failure is logged with its message and cause chain, under the event', async () => {
  const event = sampleEvent({ data: { action: 'bug' } });
  await post(HTTP.binary(event));
  const line = harness.logs.find(
    (l) => l.msg === 'event failed' && (l.event as { id?: string } | undefined)?.id === event.id,
  );
  assert.ok(line, 'an "event failed" line');
  assert.equal(line.level, 'error');
  assert.equal(line.status, 500);
  assert.equal(line.outcome, 'failed_retryable');
  const error = line.error as { message: string; cause: { message: string } };
  assert.match(error.message, /internal detail/);
  assert.equal(error.cause.message, 'root cause here');

  // A cause nobody scrubbed may hold a secret: only its type is logged.
  const transient = sampleEvent({ data: { action: 'transient' } });
  await post(HTTP.binary(transient));
  const failed = harness.logs.find(
    (l) =>
      l.msg === 'event failed' && (l.event as { id?: string } | undefined)?.id === transient.id,
  );
  assert.ok(failed);
  assert.ok(!JSON.stringify(failed).includes('socket detail'));
  assert.equal((failed.error as { cause: { type: string } }).cause.type, 'Error');
  assert.deepEqual(line.event, {
    id: event.id,
    type: event.type,
    ...(event.subject === undefined ? {} : { subject: event.subject }),
    source: event.source,
  });
});

test("the handler's logger carries the event and the trace and span ids", async () => {
  const event = sampleEvent({ data: { action: 'none' } });
  await post(HTTP.binary(event));
  const line = harness.logs.find(
    (l) => l.msg === 'handling' && (l.event as { id?: string } | undefined)?.id === event.id,
  );
  assert.ok(line);
  assert.match(String(line.trace_id), /^[0-9a-f]{32}$/);
  assert.match(String(line.span_id), /^[0-9a-f]{16}$/);
  assert.equal(line.name, 'test-function');
});

describe('health', () => {
  test('liveness answers 200 whatever the readiness', async () => {
    const res = await request(harness.app).get('/health/liveness');
    assert.equal(res.status, 200);
  });

  test('readiness is false before serving, true while serving, false while draining', async () => {
    const h = createHarness(scripted);
    try {
      const before = await request(h.app).get('/health/readiness');
      assert.equal(before.status, 503);
      assert.equal((before.body as { state: string }).state, 'starting');
      h.health.markServing();
      assert.equal((await request(h.app).get('/health/readiness')).status, 200);
      h.health.startDraining();
      const draining = await request(h.app).get('/health/readiness');
      assert.equal(draining.status, 503);
      assert.equal((draining.body as { state: string }).state, 'draining');
      assert.equal((await request(h.app).get('/health/liveness')).status, 200);
    } finally {
      await h.telemetry.shutdown();
    }
  });

  test('a failing or throwing readiness check makes readiness false and names it', async () => {
    const h = createHarness(scripted);
    try {
      h.health.markServing();
      h.health.addReadinessCheck('postgres', () => false);
      h.health.addReadinessCheck('kube', () => Promise.reject(new Error('token=abc')));
      h.health.addReadinessCheck('s3', () => true);
      const res = await request(h.app).get('/health/readiness');
      assert.equal(res.status, 503);
      assert.deepEqual((res.body as { checks: unknown }).checks, {
        postgres: false,
        kube: false,
        s3: true,
      });
      assert.doesNotMatch(res.text, /token/);
    } finally {
      await h.telemetry.shutdown();
    }
  });
});

test('/metrics shows the events counter by type and outcome', async () => {
  // A known type (unknown ones are counted as "other": see event-surface.test.ts).
  const event = sampleEvent({
    type: 'dev.reconciler.supabase.components.deployed',
    data: { action: 'none' },
  });
  await post(HTTP.binary(event));
  const res = await request(harness.app).get('/metrics');
  assert.equal(res.status, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  assert.match(
    res.text,
    /supabase_reconciler_events_total\{[^}]*type="dev\.reconciler\.supabase\.components\.deployed"[^}]*outcome="processed"[^}]*\} 1/,
  );
  assert.match(
    res.text,
    /controller_runtime_reconcile_total\{controller="test-function",result="success"[^}]*\} \d+/,
  );
  assert.match(res.text, /controller_runtime_reconcile_time_seconds_bucket\{/);
});
