import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RecordedSpan } from '../telemetry/span-store.ts';
import { renderWaterfall } from './waterfall.ts';

const trace = 'a'.repeat(32);
const span = (
  spanId: string,
  name: string,
  startMs: number,
  endMs: number,
  parentSpanId?: string,
  status = 0,
): RecordedSpan => ({
  traceId: trace,
  spanId,
  parentSpanId,
  name,
  startMs,
  endMs,
  status,
  attributes: {},
});

test('spans in tree order with offsets, durations and bars on one axis; errors marked', () => {
  const text = renderWaterfall(trace, [
    span('c', 'pg.query', 1030, 1050, 'b'),
    span('b', 'process init-db', 1020, 1080, undefined, 2),
    span('a', 'process validate-deps', 1000, 1020, 'x-from-another-process'),
  ]);
  const lines = text.trimEnd().split('\n');
  assert.equal(lines[0], `trace ${trace}  80 ms, 3 spans`);
  assert.match(lines[1]!, /^\s+0\.0 ms\s+20 ms \|█{10} {30}\| process validate-deps$/);
  assert.match(lines[2]!, /^\s+20 ms\s+60 ms \| {10}█{30}\| process init-db ✖$/);
  assert.match(lines[3]!, /^\s+30 ms\s+20 ms \| {15}█{10} {15}\| {3}pg\.query$/);
});

test('a trace without spans says so', () => {
  assert.match(renderWaterfall(trace, []), /no span recorded/);
});
