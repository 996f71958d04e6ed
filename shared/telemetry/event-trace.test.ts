import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { context, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { CloudEvent } from 'cloudevents';
import { parseConfig } from '../config/runtime-config.ts';
import { eventTraceContext, injectTraceparent, withEventSpan } from './event-trace.ts';
import { startTelemetry } from './telemetry.ts';

const telemetry = startTelemetry(
  parseConfig({
    FUNCTION_NAME: 'unit',
    OTEL_TRACES_EXPORTER: 'none',
    OTEL_METRICS_EXPORTER: 'none',
  }),
);
after(() => telemetry.shutdown());

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const event = (extra: Record<string, unknown> = {}) =>
  new CloudEvent<unknown>({
    type: 't.example',
    source: '/s',
    subject: 'namespaces/a/x/b',
    ...extra,
  });

test('eventTraceContext reads the traceparent and tracestate extension attributes', () => {
  const ctx = eventTraceContext(
    event({ traceparent: `00-${TRACE_ID}-b7ad6b7169203331-01`, tracestate: 'vendor=1' }),
  );
  assert.ok(ctx);
  const spanContext = trace.getSpanContext(ctx);
  assert.ok(spanContext);
  assert.equal(spanContext.traceId, TRACE_ID);
  assert.equal(spanContext.spanId, 'b7ad6b7169203331');
  assert.equal(spanContext.traceState?.get('vendor'), '1');
  assert.equal(spanContext.isRemote, true);
});

test('eventTraceContext ignores a missing or invalid traceparent', () => {
  assert.equal(eventTraceContext(event()), undefined);
  assert.equal(eventTraceContext(event({ traceparent: 'garbage' })), undefined);
});

test('withEventSpan continues the event trace over the transport context', async () => {
  const transport = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: 'ffffffffffffffffffffffffffffffff',
    spanId: 'eeeeeeeeeeeeeeee',
    traceFlags: TraceFlags.SAMPLED,
  });
  const traceparent = `00-${TRACE_ID}-b7ad6b7169203331-01`;
  const seen = await withEventSpan(
    telemetry.tracer,
    event({ traceparent }),
    async (span) => {
      assert.equal(trace.getActiveSpan(), span);
      return Promise.resolve(span.spanContext());
    },
    transport,
  );
  assert.equal(seen.traceId, TRACE_ID);
});

test('withEventSpan falls back to the transport context', async () => {
  const transport = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: 'ffffffffffffffffffffffffffffffff',
    spanId: 'eeeeeeeeeeeeeeee',
    traceFlags: TraceFlags.SAMPLED,
  });
  const seen = await withEventSpan(
    telemetry.tracer,
    event(),
    (span) => Promise.resolve(span.spanContext()),
    transport,
  );
  assert.equal(seen.traceId, 'ffffffffffffffffffffffffffffffff');
});

test('injectTraceparent stamps the active span and drops a stale tracestate', async () => {
  await withEventSpan(telemetry.tracer, event(), (span) => {
    const reply = injectTraceparent(event({ tracestate: 'stale=1', data: { a: 1 } }));
    const { traceId, spanId } = span.spanContext();
    assert.equal(reply.traceparent, `00-${traceId}-${spanId}-01`);
    assert.equal(reply.tracestate, undefined);
    assert.deepEqual(reply.data, { a: 1 });
    assert.equal(reply.subject, 'namespaces/a/x/b');
    return Promise.resolve();
  });
});

test('injectTraceparent leaves the event alone without a span', () => {
  const original = event();
  assert.equal(
    context.with(ROOT_CONTEXT, () => injectTraceparent(original)),
    original,
  );
});
