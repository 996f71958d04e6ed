/**
 * The local PingSource posting to a real HTTP sink: the event of knative-facts.md §4 (compared
 * with the pingsource-tick fixture), one per interval, and the delivery every local source
 * shares (sink-post.ts): retried with the same id on 5xx and refused connections, not on a
 * final 4xx, counted when given up, abandoned on stop.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { startEventSink, type EventSink } from '../../test/fixtures/event-sink.ts';
import { eventFixture } from '../../test/fixtures/events.ts';
import { memoryLogger } from '../../test/fixtures/memory-logger.ts';
import { PING_EVENT } from '../events/types.ts';
import { pingMessage, startPingSource, type PingSourceOptions } from './ping-source.ts';

let sink: EventSink;
before(async () => {
  sink = await startEventSink();
});
after(() => sink.close());

const quickRetries = { attempts: 3, backoffMs: 10, timeoutMs: 2000 };

function options(overrides: Partial<PingSourceOptions> = {}): PingSourceOptions {
  return {
    namespace: 'supabase-reconciler',
    name: 'resync',
    intervalMs: 100,
    sink: sink.url,
    data: '{"reason":"periodic-resync"}',
    contentType: 'application/json',
    delivery: quickRetries,
    logger: memoryLogger('ping').logger,
    ...overrides,
  };
}

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('each interval posts the PingSource event: the attributes, headers and body of pingsource-tick.json', async () => {
  sink.received.length = 0;
  sink.answer = () => 202;
  const started = Date.now();
  const ping = startPingSource(options());
  try {
    await until('two ticks', () => sink.received.length >= 2);
    const firstAfter = Date.now() - started;
    assert.ok(firstAfter >= 100, `the first tick comes one interval after the start`);
  } finally {
    await ping.stop();
  }
  const fixture = eventFixture('pingsource-tick');
  const [first, second] = sink.received as [
    EventSink['received'][number],
    EventSink['received'][number],
  ];
  // The fixture went through a Broker, which adds these.
  const byBroker = new Set(['ce-knativearrivaltime', 'prefer', 'kn-namespace']);
  const ceHeaders = (headers: Record<string, unknown>): string[] =>
    Object.keys(headers)
      .filter((h) => h.startsWith('ce-') || h === 'content-type')
      .filter((h) => !byBroker.has(h))
      .sort();
  assert.deepEqual(ceHeaders(first.headers), ceHeaders(fixture.headers));
  assert.equal(first.headers['ce-source'], fixture.headers['ce-source']);
  assert.equal(first.headers['ce-type'], PING_EVENT);
  assert.equal(first.headers['content-type'], 'application/json');
  assert.equal(first.headers['ce-subject'], undefined);
  assert.equal(first.body, fixture.body);
  assert.match(
    first.headers['ce-time'] as string,
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$/,
  );
  assert.deepEqual(first.event.data, { reason: 'periodic-resync' });
  assert.notEqual(first.event.id, second.event.id, 'a fresh id per tick');
  first.event.validate();
});

test('without data and content type, a tick has no body and no Content-Type', () => {
  const message = pingMessage({ namespace: 'ns', name: 'tick' });
  assert.equal(message.body, '');
  assert.equal(message.headers['Content-Type'], undefined);
  assert.equal(message.headers['Ce-Source'], '/apis/v1/namespaces/ns/pingsources/tick');
});

test('a 503 is retried with the same id until the sink accepts the tick', async () => {
  sink.received.length = 0;
  let answers = 0;
  sink.answer = () => (++answers <= 2 ? 503 : 202);
  const { logger, lines } = memoryLogger('ping');
  const quick = startPingSource(options({ intervalMs: 50, logger }));
  try {
    await until('a delivered tick', () => quick.counts.delivered >= 1);
  } finally {
    await quick.stop();
  }
  const ids = sink.received.slice(0, 3).map((r) => r.event.id);
  assert.equal(ids.length, 3);
  assert.equal(new Set(ids).size, 1, 'retries carry the id of the first attempt');
  assert.equal(quick.counts.failed, 0);
  assert.equal(lines.filter((l) => l.includes('"level":50')).length, 0);
});

test('a final 4xx is not retried; the tick is dropped, counted and logged', async () => {
  sink.received.length = 0;
  sink.answer = () => 400;
  const { logger, lines } = memoryLogger('ping');
  const ping = startPingSource(options({ intervalMs: 50, logger }));
  try {
    await until('a dropped tick', () => ping.counts.failed >= 1);
  } finally {
    await ping.stop();
  }
  assert.equal(ping.counts.delivered, 0);
  // Nothing retried: no id was posted twice.
  const ids = sink.received.map((r) => r.event.id);
  assert.ok(ids.length >= 1);
  assert.equal(new Set(ids).size, ids.length);
  assert.ok(lines.some((l) => l.includes('the sink answered 400') && l.includes('dropped')));
  sink.answer = () => 202;
});

test('a sink that refuses connections is tried `attempts` times, then the tick is dropped', async () => {
  // A port nobody listens on: bind, note it, close.
  const probe = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => probe.once('listening', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  const { logger, lines } = memoryLogger('ping');
  const ping = startPingSource(
    options({ intervalMs: 50, sink: `http://127.0.0.1:${port}/`, logger }),
  );
  try {
    await until('a dropped tick', () => ping.counts.failed >= 1);
  } finally {
    await ping.stop();
  }
  const retries = lines.filter((l) => l.includes('retrying'));
  assert.ok(retries.length >= quickRetries.attempts - 1);
  assert.ok(lines.some((l) => l.includes('the connection failed (ECONNREFUSED)')));
  // The sink's URL is never logged (it may carry user info).
  assert.ok(!lines.some((l) => l.includes(`127.0.0.1:${port}`)));
});

test('stop abandons a delivery the sink does not answer', async () => {
  sink.received.length = 0;
  sink.answer = () => 'hang';
  const ping = startPingSource(options({ intervalMs: 50, delivery: { timeoutMs: 60_000 } }));
  await until('a tick in flight', () => sink.received.length >= 1);
  const before = Date.now();
  await ping.stop();
  assert.ok(Date.now() - before < 1000, 'stop did not wait for the answer');
  assert.equal(ping.counts.delivered, 0);
  assert.equal(ping.counts.failed, 0);
  assert.equal(ping.counts.abandoned, 1);
  sink.answer = () => 202;
});

test('invalid options are refused at once, saying which and what they must be', () => {
  assert.throws(
    () => startPingSource(options({ intervalMs: 0 })),
    /intervalMs must be a positive integer, got 0/,
  );
  assert.throws(() => startPingSource(options({ name: '' })), /name must not be empty/);
  assert.throws(
    () => startPingSource(options({ sink: 'broker' })),
    /absolute http:\/\/ or https:\/\/ URL/,
  );
  assert.throws(
    () => startPingSource(options({ delivery: { attempts: 0 } })),
    /delivery option attempts must be a positive integer, got 0/,
  );
});
