/**
 * The local broker against real HTTP subscribers on loopback: fan-out, replies, retries,
 * dead letters, TTL, timeouts and drain, as Knative's broker behaves (knative-facts.md §3).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { CloudEvent, HTTP } from 'cloudevents';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { MalformedEventError } from '../../shared/runtime/errors.ts';
import { BrokerUnavailableError, createLocalBroker } from '../../shared/local/broker.ts';
import { parseManifests } from '../../shared/local/triggers.ts';
import { PrometheusReader } from '../../shared/telemetry/prometheus.ts';
import { memoryLogger } from '../fixtures/memory-logger.ts';
import {
  startSubscriber,
  testBroker,
  testEvent,
  testManifests,
  type Subscriber,
} from './local-broker-support.ts';

const A = 'dev.example.a';
const B = 'dev.example.b';
const C = 'dev.example.c';
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const open: Subscriber[] = [];
async function subscribers(...names: string[]): Promise<Subscriber[]> {
  const started = await Promise.all(names.map((name) => startSubscriber(name)));
  open.push(...started);
  return started;
}
after(async () => {
  await Promise.all(open.map((s) => s.close()));
});

const decode = (data: unknown): string => Buffer.from(String(data), 'base64').toString('utf8');

describe('local broker', () => {
  test('fan-out: an event posted to the HTTP ingress reaches every matching Trigger once, in binary mode with the Knative headers', async () => {
    const [one, two, other] = await subscribers('one', 'two', 'other');
    const { broker } = testBroker(
      testManifests([
        { name: 'to-one', type: A, subscriber: 'one' },
        { name: 'to-two', type: A, subscriber: 'two' },
        { name: 'to-other', type: B, subscriber: 'other' },
      ]),
      [one!, two!, other!],
    );
    const server = createServer(broker.handleIngress).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const sent = testEvent(A, { traceparent: TRACEPARENT, kind: 'SupabaseProject' });
    const { headers, body } = HTTP.binary(sent);
    const response = await fetch(`http://127.0.0.1:${port}${broker.ingressPath}`, {
      method: 'POST',
      headers: headers as Record<string, string>,
      body: body as string,
    });
    assert.equal(response.status, 202);
    assert.equal(broker.ingressPath, '/broker/reconciler/default');
    assert.equal(await broker.drain(5000), true);
    server.close();

    assert.equal(one!.received.length, 1);
    assert.equal(two!.received.length, 1);
    assert.equal(other!.received.length, 0);
    for (const { headers: h, event } of [one!.received[0]!, two!.received[0]!]) {
      assert.equal(h['ce-id'], sent.id, 'binary mode: attributes in ce- headers');
      assert.equal(h.prefer, 'reply');
      assert.equal(h['kn-namespace'], 'reconciler');
      assert.equal(h.traceparent, TRACEPARENT, 'W3C header from the event');
      assert.equal(h['ce-traceparent'], TRACEPARENT, 'the extension passes through');
      assert.ok(!Number.isNaN(Date.parse(String(h['ce-knativearrivaltime']))));
      assert.equal(h['ce-knativebrokerttl'], undefined, 'the TTL is not shown to subscribers');
      assert.equal(event.kind, 'SupabaseProject');
      assert.deepEqual(event.data, { hello: 'world' });
    }
    assert.equal(broker.counts().deliveries.delivered, 2);
  });

  test('the ingress refuses what is no valid CloudEvent (400, saying why) and other methods (405)', async () => {
    const [one] = await subscribers('one');
    const { broker } = testBroker(testManifests([{ name: 't', type: A, subscriber: 'one' }]), [
      one!,
    ]);
    const server = createServer(broker.handleIngress).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const noSource = await fetch(url, {
      method: 'POST',
      headers: {
        'ce-id': '1',
        'ce-specversion': '1.0',
        'ce-type': A,
        'content-type': 'application/json',
      },
      body: '{}',
    });
    assert.equal(noSource.status, 400);
    assert.match(await noSource.text(), /missing required attribute "source"/);
    const plain = await fetch(url, { method: 'POST', body: 'hello' });
    assert.equal(plain.status, 400);
    assert.match(await plain.text(), /no CloudEvent in the request/);
    assert.equal((await fetch(url)).status, 405);
    await broker.drain(1000);
    server.close();
    assert.equal(one!.received.length, 0);
    assert.equal(broker.counts().ingress.malformed, 2);
  });

  test('replies go back through the broker: a chain of three subscribers', async () => {
    const [first, second, third] = await subscribers('first', 'second', 'third');
    first!.answer = ({ event }) => ({
      reply: new CloudEvent({ type: B, source: '/first', data: { from: event.id } }),
    });
    second!.answer = () => ({
      reply: new CloudEvent({ type: C, source: '/second', traceparent: TRACEPARENT }),
    });
    const { broker } = testBroker(
      testManifests([
        { name: 'a', type: A, subscriber: 'first' },
        { name: 'b', type: B, subscriber: 'second' },
        { name: 'c', type: C, subscriber: 'third' },
      ]),
      [first!, second!, third!],
    );
    const start = testEvent(A);
    broker.publish(start);
    assert.equal(await broker.drain(5000), true);
    assert.equal(first!.received.length, 1);
    assert.equal(second!.received.length, 1);
    assert.deepEqual(second!.received[0]!.event.data, { from: start.id });
    assert.equal(third!.received.length, 1);
    const last = third!.received[0]!;
    assert.equal(last.event.source, '/second');
    assert.equal(last.headers.traceparent, TRACEPARENT);
    assert.equal(last.headers['ce-knativebrokerttl'], undefined);
    assert.deepEqual(broker.counts().deliveries, {
      delivered: 1,
      replied: 2,
      dead_lettered: 0,
      dead_letter_failed: 0,
      dropped: 0,
      abandoned: 0,
    });
    assert.equal(broker.counts().ingress.accepted, 3);
  });

  test('503 is retried with the Trigger’s backoff until it succeeds; the Trigger’s delivery replaces the Broker’s', async () => {
    const [flaky, dls] = await subscribers('flaky', 'dls');
    flaky!.answer = (_req, n) =>
      n < 2 ? { status: 503, body: 'Service Unavailable' } : { status: 204 };
    const { broker } = testBroker(
      testManifests(
        [
          {
            name: 't',
            type: A,
            subscriber: 'flaky',
            delivery: '{ retry: 3, backoffPolicy: exponential, backoffDelay: PT0.04S }',
          },
        ],
        // The Broker's own would wait a minute and never retry this fast.
        '{ retry: 1, backoffPolicy: linear, backoffDelay: PT60S, deadLetterSink: { ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: dls } } }',
      ),
      [flaky!, dls!],
    );
    const started = performance.now();
    broker.publish(testEvent(A));
    assert.equal(await broker.drain(5000), true);
    const elapsed = performance.now() - started;
    assert.equal(flaky!.received.length, 3, 'two 503s, then 204');
    assert.ok(elapsed >= 40 + 80 - 5, `waited 40 then 80 ms, took ${elapsed} ms`);
    assert.ok(elapsed < 2000, `took ${elapsed} ms`);
    assert.equal(
      new Set(flaky!.received.map((r) => r.event.id)).size,
      1,
      'the same event each time',
    );
    assert.equal(dls!.received.length, 0);
    assert.equal(broker.counts().attempts, 3);
    assert.equal(broker.counts().deliveries.delivered, 1);
  });

  test('400 is not retried: the dead-letter sink gets the event with knativeerrordest, knativeerrorcode and knativeerrordata', async () => {
    const [strict, dls] = await subscribers('strict', 'dls');
    strict!.answer = () => ({
      status: 400,
      body: 'event type "x" is not handled here',
      contentType: 'text/plain',
    });
    const { broker } = testBroker(
      testManifests(
        [{ name: 't', type: A, subscriber: 'strict' }],
        '{ retry: 4, backoffPolicy: exponential, backoffDelay: PT0.01S, deadLetterSink: { ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: dls } } }',
      ),
      [strict!, dls!],
    );
    const sent = testEvent(A, { projectuid: 'uid-1', generation: '3' });
    broker.publish(sent);
    assert.equal(await broker.drain(5000), true);
    assert.equal(strict!.received.length, 1, 'no retry on 400');
    assert.equal(dls!.received.length, 1);
    const { event, headers } = dls!.received[0]!;
    assert.equal(event.id, sent.id);
    assert.equal(event.type, A);
    assert.equal(event.projectuid, 'uid-1');
    assert.equal(event.generation, '3');
    assert.deepEqual(event.data, { hello: 'world' });
    assert.equal(event.knativeerrordest, strict!.url);
    assert.equal(event.knativeerrorcode, '400');
    assert.equal(decode(event.knativeerrordata), 'event type "x" is not handled here');
    assert.equal(event.knativebrokerttl, '255', 'as the channel held it');
    assert.equal(typeof event.knativearrivaltime, 'string');
    assert.equal(headers.prefer, 'reply');
    assert.equal(broker.counts().deliveries.dead_lettered, 1);
  });

  test('retries exhausted on 5xx: dead letter with the last status; a long body is cut to 1024 base64 characters', async () => {
    const [down, dls] = await subscribers('down', 'dls');
    down!.answer = () => ({ status: 500, body: 'x'.repeat(5000) });
    const { broker } = testBroker(
      testManifests(
        [{ name: 't', type: A, subscriber: 'down' }],
        '{ retry: 2, deadLetterSink: { ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: dls } } }',
      ),
      [down!, dls!],
    );
    broker.publish(testEvent(A));
    assert.equal(await broker.drain(5000), true);
    assert.equal(down!.received.length, 3, '1 + 2 retries');
    const { event } = dls!.received[0]!;
    assert.equal(event.knativeerrorcode, '500');
    assert.equal(String(event.knativeerrordata).length, 1024);
    assert.equal(decode(event.knativeerrordata), 'x'.repeat(768));
  });

  test('a 2xx answer that is no CloudEvent is a failure (502) and retried', async () => {
    const [chatty, dls] = await subscribers('chatty', 'dls');
    chatty!.answer = () => ({ status: 200, body: 'OK', contentType: 'text/plain' });
    const { broker } = testBroker(
      testManifests(
        [{ name: 't', type: A, subscriber: 'chatty' }],
        '{ retry: 2, deadLetterSink: { ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: dls } } }',
      ),
      [chatty!, dls!],
    );
    broker.publish(testEvent(A));
    assert.equal(await broker.drain(5000), true);
    assert.equal(chatty!.received.length, 3);
    const { event } = dls!.received[0]!;
    assert.equal(event.knativeerrorcode, '502');
    assert.equal(decode(event.knativeerrordata), 'OK');
    assert.equal(broker.counts().deliveries.replied, 0);
  });

  test('a reply loop is stopped by the TTL after 255 passes, and the last event is dead-lettered (400)', async () => {
    const [echo, dls] = await subscribers('echo', 'dls');
    echo!.answer = () => ({
      reply: new CloudEvent({ type: A, source: '/echo', knativebrokerttl: '9999' }),
    });
    const { broker, lines } = testBroker(
      testManifests(
        [{ name: 'loop', type: A, subscriber: 'echo' }],
        '{ retry: 3, deadLetterSink: { ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: dls } } }',
      ),
      [echo!, dls!],
    );
    broker.publish(testEvent(A));
    assert.equal(await broker.drain(20_000), true);
    // TTL 255 at the first pass, 1 at the 255th, whose reply the ingress refuses; a reply's own
    // knativebrokerttl is overwritten by the one the broker held.
    assert.equal(echo!.received.length, 255);
    assert.equal(dls!.received.length, 1);
    const { event } = dls!.received[0]!;
    assert.equal(event.knativeerrorcode, '400', 'the ingress refused the reply: not retried');
    assert.match(decode(event.knativeerrordata), /knativebrokerttl is exhausted/);
    assert.equal(event.knativebrokerttl, '1');
    assert.equal(broker.counts().ingress.ttl_exhausted, 1);
    assert.ok(lines.some((l) => l.includes('event refused')));
  });

  test('an event arriving with an exhausted TTL is refused at the ingress', async () => {
    const [one] = await subscribers('one');
    const { broker } = testBroker(testManifests([{ name: 't', type: A, subscriber: 'one' }]), [
      one!,
    ]);
    assert.throws(
      () => {
        broker.publish(testEvent(A, { knativebrokerttl: '1' }));
      },
      (error: unknown) =>
        error instanceof MalformedEventError && error.message.includes('exhausted'),
    );
    broker.publish(testEvent(A, { knativebrokerttl: '2' }));
    await broker.drain(5000);
    assert.equal(one!.received.length, 1);
  });

  test('each attempt is bounded by delivery.timeout; a subscriber that never answers is dead-lettered as 500', async () => {
    const [slow, stuck, dls] = await subscribers('slow', 'stuck', 'dls');
    slow!.answer = (_req, n) => (n === 0 ? 'hang' : { status: 204 });
    stuck!.answer = () => 'hang';
    const sink =
      'deadLetterSink: { ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: dls } }';
    const { broker } = testBroker(
      testManifests([
        {
          name: 'slow',
          type: A,
          subscriber: 'slow',
          delivery: `{ retry: 1, timeout: PT0.15S, ${sink} }`,
        },
        {
          name: 'stuck',
          type: B,
          subscriber: 'stuck',
          delivery: `{ retry: 1, timeout: PT0.15S, ${sink} }`,
        },
      ]),
      [slow!, stuck!, dls!],
    );
    const started = performance.now();
    broker.publish(testEvent(A));
    broker.publish(testEvent(B));
    assert.equal(await broker.drain(5000), true);
    const elapsed = performance.now() - started;
    assert.equal(slow!.received.length, 2, 'timed out once, then answered');
    assert.equal(stuck!.received.length, 2);
    assert.ok(
      elapsed >= 300 - 10 && elapsed < 2000,
      `two 150 ms timeouts in a row, took ${elapsed} ms`,
    );
    assert.equal(dls!.received.length, 1);
    assert.equal(dls!.received[0]!.event.knativeerrordest, stuck!.url);
    assert.equal(dls!.received[0]!.event.knativeerrorcode, '500');
    assert.equal(dls!.received[0]!.event.knativeerrordata, undefined, 'no answer, no data');
  });

  test('without a dead-letter sink a failed delivery is logged at error and counted', async () => {
    const [down] = await subscribers('down');
    down!.answer = () => ({ status: 503 });
    const { broker, lines } = testBroker(
      testManifests([{ name: 't', type: A, subscriber: 'down' }]),
      [down!],
    );
    broker.publish(testEvent(A));
    await broker.drain(5000);
    assert.equal(down!.received.length, 1, 'no delivery spec: 0 retries');
    assert.equal(broker.counts().deliveries.dropped, 1);
    const lost = lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => String(l.msg).includes('event lost'));
    assert.equal(lost?.level, 'error');
    assert.equal(lost.status, 503);
    assert.equal(lost.subscriber, down!.url);
  });

  test('drain waits for deliveries under way, then the ingress answers 503; past its timeout it abandons them', async () => {
    const [slow, stuck, dls] = await subscribers('slow', 'stuck', 'dls');
    slow!.answer = async () => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      return { status: 204 };
    };
    stuck!.answer = () => 'hang';
    const sink =
      '{ retry: 0, deadLetterSink: { ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: dls } } }';
    const first = testBroker(testManifests([{ name: 't', type: A, subscriber: 'slow' }], sink), [
      slow!,
      dls!,
    ]);
    first.broker.publish(testEvent(A));
    const started = performance.now();
    assert.equal(await first.broker.drain(5000), true);
    assert.ok(performance.now() - started >= 150, 'waited for the slow answer');
    assert.equal(first.broker.counts().deliveries.delivered, 1);
    assert.throws(() => {
      first.broker.publish(testEvent(A));
    }, BrokerUnavailableError);

    const second = testBroker(testManifests([{ name: 't', type: A, subscriber: 'stuck' }], sink), [
      stuck!,
      dls!,
    ]);
    second.broker.publish(testEvent(A));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const drainStarted = performance.now();
    assert.equal(await second.broker.drain(100), false);
    assert.ok(performance.now() - drainStarted < 1000);
    assert.equal(second.broker.counts().deliveries.abandoned, 1);
    assert.equal(dls!.received.length, 0, 'an abandoned delivery is not dead-lettered');
    assert.ok(second.lines.some((l) => l.includes('broker drain timed out')));
  });

  test('at most maxInFlight attempts at once', async () => {
    const [slow] = await subscribers('slow');
    let inFlight = 0;
    let most = 0;
    slow!.answer = async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 30));
      inFlight--;
      return { status: 204 };
    };
    const { broker } = testBroker(
      testManifests([{ name: 't', type: A, subscriber: 'slow' }]),
      [slow!],
      {
        maxInFlight: 2,
      },
    );
    for (let i = 0; i < 6; i++) broker.publish(testEvent(A));
    assert.equal(await broker.drain(5000), true);
    assert.equal(slow!.received.length, 6);
    assert.equal(most, 2);
  });

  test('a structured event is accepted too; delivery.format json delivers structured', async () => {
    const [binary, structured] = await subscribers('binary', 'structured');
    const { broker } = testBroker(
      testManifests([
        { name: 'b', type: A, subscriber: 'binary' },
        { name: 's', type: A, subscriber: 'structured', delivery: '{ format: json }' },
      ]),
      [binary!, structured!],
    );
    const server = createServer(broker.handleIngress).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const sent = testEvent(A, { kind: 'Deployment' });
    const { headers, body } = HTTP.structured(sent);
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, {
      method: 'POST',
      headers: headers as Record<string, string>,
      body: body as string,
    });
    assert.equal(response.status, 202);
    await broker.drain(5000);
    server.close();
    assert.equal(binary!.received[0]?.headers['ce-id'], sent.id);
    const inStructured = structured!.received[0]!;
    assert.match(String(inStructured.headers['content-type']), /^application\/cloudevents\+json/);
    assert.equal(inStructured.event.id, sent.id);
    assert.equal(inStructured.event.kind, 'Deployment');
    assert.deepEqual(inStructured.event.data, { hello: 'world' });
  });

  test('deliveries are counted by trigger and outcome on the meter it is given', async () => {
    const [ok, down] = await subscribers('ok', 'down');
    down!.answer = () => ({ status: 422 });
    const reader = new PrometheusReader();
    const provider = new MeterProvider({ readers: [reader] });
    const broker = createLocalBroker({
      topology: parseManifests([
        {
          origin: 'test',
          text: testManifests([
            { name: 'to-ok', type: A, subscriber: 'ok' },
            { name: 'to-down', type: A, subscriber: 'down' },
          ]),
        },
      ]),
      resolve: (ref) => (ref.name === 'ok' ? ok!.url : down!.url),
      logger: memoryLogger('local-broker').logger,
      meter: provider.getMeter('test'),
    });
    broker.publish(testEvent(A));
    broker.publish(testEvent(A));
    await broker.drain(5000);
    const text = await reader.render();
    assert.match(
      text,
      /supabase_reconciler_broker_deliveries_total\{trigger="to-ok",outcome="delivered",otel_scope_name="test"\} 2/,
    );
    assert.match(
      text,
      /supabase_reconciler_broker_deliveries_total\{trigger="to-down",outcome="dropped",otel_scope_name="test"\} 2/,
    );
    assert.match(
      text,
      /supabase_reconciler_broker_ingress_events_total\{broker="default",outcome="accepted",otel_scope_name="test"\} 2/,
    );
    await provider.shutdown();
  });

  test('a subscriber ref that resolves to nothing: verifyDestinations names the Trigger', async () => {
    const [one] = await subscribers('one');
    const { broker } = testBroker(
      testManifests([
        { name: 'fine', type: A, subscriber: 'one' },
        { name: 'lost', type: A, subscriber: 'missing' },
      ]),
      [one!],
    );
    assert.throws(() => {
      broker.verifyDestinations();
    }, /Trigger "lost" spec\.subscriber: Service "missing" \(serving\.knative\.dev\/v1\) cannot be resolved to a URL/);
    await broker.drain(1000);
  });
});
