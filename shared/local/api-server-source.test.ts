/**
 * The local ApiServerSource's message, compared with the fixtures shaped like the real
 * adapter's events, and its pure parts: Go's encodings, the plural guess, the re-list diff and
 * the per-object ordering of posts. The source against the real API server:
 * test/integration/local-sources.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HTTP, type CloudEvent } from 'cloudevents';
import { eventFixture } from '../../test/fixtures/events.ts';
import type { RawObject } from '../k8s/watch.ts';
import { memoryLogger } from '../../test/fixtures/memory-logger.ts';
import { apiServerMessage, guessPlural } from './api-server-event.ts';
import { RECONCILER_RESOURCES, startApiServerSource } from './api-server-source.ts';
import { goJson, rfc3339Nano } from './go-encoding.ts';
import { keyedQueue } from './keyed-queue.ts';
import { relistChanges } from './relist-diff.ts';

/** Headers a Broker adds on the way to a subscriber; the adapter does not send them. */
const ADDED_BY_BROKER = new Set(['ce-knativearrivaltime', 'prefer']);

const fixtures = [
  ['apiserver-add', 'add'],
  ['apiserver-update-own-status-write', 'update'],
  ['apiserver-delete-finalizer-removed', 'delete'],
] as const;

for (const [name, action] of fixtures) {
  test(`the ${action} message has the attributes, headers and body of ${name}.json`, () => {
    const fixture = eventFixture(name);
    const object = JSON.parse(fixture.body) as RawObject;
    const message = apiServerMessage({
      action,
      object,
      source: 'https://10.96.0.1:443',
      sourceNamespace: 'team-a',
    });
    const headers = lowerCased(message.headers);
    const expected = Object.keys(fixture.headers).filter((h) => !ADDED_BY_BROKER.has(h));
    assert.deepEqual(Object.keys(headers).sort(), expected.sort());
    for (const header of expected)
      if (header !== 'ce-id' && header !== 'ce-time')
        assert.equal(headers[header], fixture.headers[header], header);
    assert.match(
      headers['ce-id'] ?? '',
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-/,
    );
    // Go's RFC3339Nano: up to 9 fractional digits, no trailing zero.
    assert.match(headers['ce-time'] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$/);
    // The fixture's body is the API server's encoding; ours is byte-identical.
    assert.equal(message.body, fixture.body);

    // The same attribute set as the fixture once parsed as a CloudEvent.
    const ours = HTTP.toEvent({ headers, body: message.body }) as CloudEvent<unknown>;
    const theirs = HTTP.toEvent({
      headers: fixture.headers,
      body: fixture.body,
    }) as CloudEvent<unknown>;
    const attributes = (e: CloudEvent<unknown>): string[] =>
      Object.keys(e.toJSON())
        .filter((a) => a !== 'knativearrivaltime')
        .sort();
    assert.deepEqual(attributes(ours), attributes(theirs));
    assert.deepEqual(ours.data, theirs.data);
    ours.validate();
  });
}

test('a cluster-scoped object has an empty namespace, in the subject and the extension', () => {
  const message = apiServerMessage({
    action: 'add',
    object: {
      apiVersion: 'example.com/v1',
      kind: 'Thing',
      metadata: { name: 'x', uid: 'u', resourceVersion: '1' },
    },
    source: 'https://127.0.0.1:6443',
    sourceNamespace: 'ops',
  });
  assert.equal(message.headers['Ce-Subject'], '/apis/example.com/v1/namespaces//things/x');
  assert.equal(message.headers['Ce-Namespace'], '');
  assert.equal(message.headers['Kn-Namespace'], 'ops');
});

test('a core-group object keeps /apis/ in its subject, as the adapter builds it', () => {
  const message = apiServerMessage({
    action: 'update',
    object: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p1', namespace: 'default', uid: 'u', resourceVersion: '1' },
    },
    source: 'https://127.0.0.1:6443',
    sourceNamespace: 'default',
  });
  assert.equal(message.headers['Ce-Subject'], '/apis/v1/namespaces/default/pods/p1');
});

test('the plural is guessed from the Kind as UnsafeGuessKindToResource does', () => {
  const cases = [
    ['SupabaseProject', 'supabaseprojects'],
    ['Deployment', 'deployments'],
    ['Policy', 'policies'],
    ['Gateway', 'gatewaies'],
    ['Ingress', 'ingresses'],
    ['Endpoints', 'endpoints'],
    ['WKC', 'wkcs'],
  ] as const;
  for (const [kind, plural] of cases) assert.equal(guessPlural(kind), plural, kind);
});

test("goJson encodes as Go's encoding/json: sorted keys at every level, compact, HTML-safe", () => {
  const value = {
    z: 1,
    a: { y: [{ b: 2, a: 1 }], x: 'tag <b> & "q"\u2028\u2029 é' },
    m: null,
    t: true,
    f: 0.5,
  };
  assert.equal(
    goJson(value),
    '{"a":{"x":"tag \\u003cb\\u003e \\u0026 \\"q\\"\\u2028\\u2029 é","y":[{"a":1,"b":2}]},"f":0.5,"m":null,"t":true,"z":1}',
  );
  assert.deepEqual(JSON.parse(goJson(value)), value);
});

test("rfc3339Nano writes Go's RFC3339Nano: trailing zeros dropped, no fraction when zero", () => {
  const at = Date.UTC(2026, 5, 20, 9, 41, 7, 512);
  assert.equal(rfc3339Nano(at, 339871), '2026-06-20T09:41:07.512339871Z');
  assert.equal(rfc3339Nano(at, 339870), '2026-06-20T09:41:07.51233987Z');
  assert.equal(rfc3339Nano(at, 0), '2026-06-20T09:41:07.512Z');
  assert.equal(rfc3339Nano(Date.UTC(2026, 5, 20, 9, 41, 7, 0), 0), '2026-06-20T09:41:07Z');
  assert.equal(
    rfc3339Nano(Date.UTC(2026, 5, 20, 9, 41, 7, 0), 1),
    '2026-06-20T09:41:07.000000001Z',
  );
});

function object(name: string, uid: string, resourceVersion: string, namespace = 'ns'): RawObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, uid, resourceVersion },
  };
}

test('a re-list emits add, update, delete, and delete + add for an object created again', () => {
  const known = new Map(
    [
      object('same', 'u1', '10'),
      object('changed', 'u2', '11'),
      object('gone', 'u3', '12'),
      object('recreated', 'u4', '13'),
    ].map((o) => [`ns/${o.metadata.name}`, o]),
  );
  const listed = [
    object('same', 'u1', '10'),
    object('changed', 'u2', '20'),
    object('recreated', 'u9', '21'),
    object('new', 'u5', '22'),
  ];
  const changes = relistChanges(known, listed).map(
    (c) =>
      `${c.action} ${c.object.metadata.name} ${c.object.metadata.uid}@${c.object.metadata.resourceVersion}`,
  );
  assert.deepEqual(changes, [
    'update changed u2@20',
    'delete recreated u4@13',
    'add recreated u9@21',
    'add new u5@22',
    'delete gone u3@12',
  ]);
  assert.deepEqual(relistChanges(known, [...known.values()]), []);
});

test('the queue keeps order per key, runs other keys concurrently, and bounds concurrency', async () => {
  const queue = keyedQueue(2);
  const log: string[] = [];
  let running = 0;
  let most = 0;
  const task = (name: string, ms: number) => async () => {
    running++;
    most = Math.max(most, running);
    log.push(`start ${name}`);
    await new Promise((resolve) => setTimeout(resolve, ms));
    log.push(`end ${name}`);
    running--;
  };
  queue.push('a', task('a1', 30));
  queue.push('a', task('a2', 1));
  queue.push('b', task('b1', 1));
  queue.push('c', task('c1', 1));
  assert.equal(queue.pending, 4);
  await queue.idle();
  assert.equal(queue.pending, 0);
  assert.equal(most, 2);
  // a2 waited for a1 although it was quicker; b1 did not wait for a1.
  assert.ok(log.indexOf('start a2') > log.indexOf('end a1'));
  assert.ok(log.indexOf('end b1') < log.indexOf('end a1'));
});

function lowerCased(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

test('invalid options are refused at once, before connecting, saying what to fix', () => {
  const valid = {
    kubeconfig: '/nonexistent/kubeconfig',
    namespace: 'supabase-reconciler',
    resources: RECONCILER_RESOURCES,
    sink: 'http://127.0.0.1:1/',
    logger: memoryLogger('source').logger,
  };
  assert.throws(() => startApiServerSource({ ...valid, resources: [] }), /at least one resource/);
  assert.throws(
    () => startApiServerSource({ ...valid, namespaces: [] }),
    /empty list of namespaces: list at least one, or leave it out to watch all namespaces/,
  );
  assert.throws(
    () => startApiServerSource({ ...valid, namespace: '' }),
    /namespace .* must not be empty/,
  );
  assert.throws(
    () => startApiServerSource({ ...valid, sink: 'broker' }),
    /absolute http:\/\/ or https:\/\/ URL/,
  );
  assert.throws(
    () => startApiServerSource({ ...valid, concurrency: 0 }),
    /concurrency must be a positive integer/,
  );
});

test('an unreadable kubeconfig fails `ready` (and stop still returns)', async () => {
  const source = startApiServerSource({
    kubeconfig: '/nonexistent/kubeconfig',
    namespace: 'supabase-reconciler',
    resources: RECONCILER_RESOURCES,
    sink: 'http://127.0.0.1:1/',
    logger: memoryLogger('source').logger,
  });
  await assert.rejects(source.ready, /ENOENT/);
  await source.stop();
});
