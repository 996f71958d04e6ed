/**
 * One reconciliation is one trace: two functions chained through a reply event export spans
 * of one trace to a real OTLP receiver, the second's `process` span a child of the first's,
 * whatever trace the HTTP headers carry. Also: express is instrumented under ESM, logs carry
 * the trace ids, and metrics are pushed over OTLP.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CloudEvent, HTTP } from 'cloudevents';
import request from 'supertest';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../env/index.ts';
import { createHarness, sampleEvent, type Harness } from '../fixtures/function-harness.ts';

const FOREIGN_TRACE = 'ffffffffffffffffffffffffffffffff';
const foreignTraceparent = (spanId: string) => `00-${FOREIGN_TRACE}-${spanId}-01`;
const CONSUMER = 5;

let receiver: OtlpReceiver;
let first: Harness;
let second: Harness;

before(async () => {
  receiver = await startOtlpReceiver();
  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_SERVICE_NAME: 'chain-test',
  };
  // The OTLP exporters read their endpoint from the process environment, as in a pod.
  Object.assign(process.env, env);
  first = createHarness(
    async (event, { logger }) => {
      logger.info('first phase');
      return Promise.resolve(
        new CloudEvent<unknown>({
          type: 'dev.reconciler.supabase.database.initialized',
          source: 'init-db',
          ...(event.subject === undefined ? {} : { subject: event.subject }),
          data: { step: 1 },
        }),
      );
    },
    { env, name: 'init-db' },
  );
  second = createHarness(
    async (_event, { logger }) => {
      logger.info('second phase');
      return Promise.resolve(undefined);
    },
    { env, name: 'secrets', telemetry: first.telemetry },
  );
});

after(async () => {
  await first.telemetry.shutdown();
  await receiver.close();
});

const processSpan = (spans: readonly ReceivedSpan[], eventId: string) =>
  spans.find(
    (s) => s.name.startsWith('process ') && s.attributes['cloudevents.event_id'] === eventId,
  );

test('a chain of two functions is one trace, the second process span a child of the first', async () => {
  const start = sampleEvent({ traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` });
  const startMessage = HTTP.binary(start);
  // The broker's own hop context differs from the event's: the event's must win.
  const firstRes = await request(first.app)
    .post('/')
    .set({ ...startMessage.headers, traceparent: foreignTraceparent('1111111111111111') })
    .send(startMessage.body as string);
  assert.equal(firstRes.status, 200);
  const reply = HTTP.toEvent({
    headers: firstRes.headers,
    body: firstRes.text,
  }) as CloudEvent<unknown>;

  const replyMessage = HTTP.binary(reply);
  const secondRes = await request(second.app)
    .post('/')
    .set({ ...replyMessage.headers, traceparent: foreignTraceparent('2222222222222222') })
    .send(replyMessage.body as string);
  assert.equal(secondRes.status, 204);

  await first.telemetry.flush();
  const spans = await receiver.waitForSpans(
    (all) => processSpan(all, start.id) !== undefined && processSpan(all, reply.id) !== undefined,
  );
  const one = processSpan(spans, start.id)!;
  const two = processSpan(spans, reply.id)!;

  assert.equal(one.traceId, 'a'.repeat(32), 'continued from the traceparent extension');
  assert.equal(one.parentSpanId, 'b'.repeat(16));
  assert.equal(two.traceId, one.traceId, 'one trace');
  assert.equal(two.parentSpanId, one.spanId, "the second's span is a child of the first's");
  assert.equal(reply.traceparent, `00-${one.traceId}-${one.spanId}-01`);

  assert.equal(one.name, `process ${start.type}`);
  assert.equal(two.name, 'process dev.reconciler.supabase.database.initialized');
  for (const [span, event] of [
    [one, start],
    [two, reply],
  ] as const) {
    assert.equal(span.kind, CONSUMER);
    assert.equal(span.attributes['cloudevents.event_type'], event.type);
    assert.equal(span.attributes['cloudevents.event_subject'], event.subject);
    assert.equal(span.attributes['cloudevents.event_id'], event.id);
    assert.equal(span.attributes['messaging.operation.type'], 'process');
    assert.equal(span.resource['service.name'], 'chain-test');
  }

  // The handlers' log lines carry their span's ids.
  const firstLog = first.logs.find((l) => l.msg === 'first phase');
  const secondLog = second.logs.find((l) => l.msg === 'second phase');
  assert.equal(firstLog?.trace_id, one.traceId);
  assert.equal(firstLog.span_id, one.spanId);
  assert.equal(secondLog?.trace_id, one.traceId);
  assert.equal(secondLog.span_id, two.spanId);
});

test('without the extension, the trace continues from the HTTP traceparent header', async () => {
  const event = sampleEvent();
  const message = HTTP.binary(event);
  const res = await request(first.app)
    .post('/')
    .set({ ...message.headers, traceparent: foreignTraceparent('3333333333333333') })
    .send(message.body as string);
  assert.equal(res.status, 200);
  await first.telemetry.flush();
  const spans = await receiver.waitForSpans((all) => processSpan(all, event.id) !== undefined);
  const span = processSpan(spans, event.id)!;
  assert.equal(span.traceId, FOREIGN_TRACE);
  // Its ancestors are express's request-handler span and the http instrumentation's server
  // span, which is the header's child.
  const ancestors: ReceivedSpan[] = [];
  for (let s = span; ;) {
    const parent = spans.find((p) => p.spanId === s.parentSpanId);
    if (!parent) break;
    ancestors.push(parent);
    s = parent;
  }
  assert.deepEqual(
    ancestors.map((s) => s.scope),
    ['@opentelemetry/instrumentation-express', '@opentelemetry/instrumentation-http'],
  );
  assert.equal(ancestors.at(-1)?.parentSpanId, '3333333333333333');
});

test('express is instrumented under ESM: middleware spans and the route on the server span', async () => {
  await first.telemetry.flush();
  const spans = await receiver.waitForSpans((all) =>
    all.some((s) => s.scope === '@opentelemetry/instrumentation-express'),
  );
  const expressSpans = spans.filter((s) => s.scope === '@opentelemetry/instrumentation-express');
  assert.ok(expressSpans.some((s) => s.attributes['express.type'] === 'request_handler'));
  const server = spans.find(
    (s) => s.scope === '@opentelemetry/instrumentation-http' && s.kind === 2,
  );
  assert.equal(server?.attributes['http.route'], '/');
});

test('metrics are pushed over OTLP on flush', async () => {
  await first.telemetry.flush();
  const body = JSON.stringify(receiver.metricRequests);
  assert.match(body, /supabase_reconciler_events_total/);
  assert.match(body, /controller_runtime_reconcile_time_seconds/);
});
