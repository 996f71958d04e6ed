import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CloudEvent, HTTP, type CloudEventV1 } from 'cloudevents';
import { eventFixture, type HttpFixture } from '../../test/fixtures/events.ts';
import { MalformedEventError } from '../runtime/errors.ts';
import { chainEvent } from './chain.ts';
import {
  decideOnChange,
  freshness,
  handledRequestFields,
  RECONCILE_REQUEST_ANNOTATION,
} from './decisions.ts';
import { parseEvent, type Accepts, type ResourceEvent } from './parse.ts';
import { API_SERVER_EVENT, CHAIN_EVENT, PING_EVENT } from './types.ts';

const projectAccepts: Accepts = {
  resource: { apiVersion: 'supabase.reconciler.dev/v1alpha1', kind: 'SupabaseProject' },
  types: [API_SERVER_EVENT.add, API_SERVER_EVENT.update, CHAIN_EVENT.reconcileRequested],
};

function receive(message: HttpFixture): CloudEventV1<unknown> {
  const event = HTTP.toEvent({ headers: message.headers, body: message.body });
  assert.ok(event instanceof CloudEvent, 'one CloudEvent (not a batch)');
  event.validate();
  return event;
}

function resourceEvent(fixture: string): ResourceEvent {
  const parsed = parseEvent(receive(eventFixture(fixture)), {
    ...projectAccepts,
    types: [...projectAccepts.types, API_SERVER_EVENT.delete],
  });
  assert.equal(parsed.kind, 'resource');
  return parsed;
}

function malformed(pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(
      error instanceof MalformedEventError,
      `expected MalformedEventError, got ${String(error)}`,
    );
    assert.match(error.message, pattern);
    return true;
  };
}

describe('ApiServerSource events', () => {
  test('an add event gives the project key and the object', () => {
    const event = resourceEvent('apiserver-add');
    assert.equal(event.action, 'add');
    assert.deepEqual(event.key, { namespace: 'team-a', name: 'demo' });
    assert.equal(event.object.metadata.uid, '0b9f3c8e-6a51-4c7d-9e0f-2a4b6c8d1e3f');
    assert.equal(event.object.metadata.generation, 1);
  });

  test('the same event in structured mode parses the same', () => {
    const binary = receive(eventFixture('apiserver-add'));
    const structured = HTTP.structured(binary);
    const parsed = parseEvent(receive(structured as HttpFixture), projectAccepts);
    assert.deepEqual(parsed, resourceEvent('apiserver-add'));
  });

  const decisions = [
    ['apiserver-add', { start: true, reason: 'NeverReconciled' }],
    ['apiserver-update-own-status-write', { start: false, reason: 'NoNewGeneration' }],
    ['apiserver-update-labels-only', { start: false, reason: 'NoNewGeneration' }],
    ['apiserver-update-new-generation', { start: true, reason: 'NewGeneration' }],
    ['apiserver-delete', { start: false, reason: 'Deleting' }],
    // As the real adapter sends a deletion: generation bumped past observedGeneration.
    ['apiserver-update-deletion-requested', { start: false, reason: 'Deleting' }],
    ['apiserver-delete-finalizer-removed', { start: false, reason: 'Deleting' }],
  ] as const;
  for (const [fixture, expected] of decisions) {
    test(`${fixture}: ${expected.start ? 'starts a chain' : 'starts nothing'} (${expected.reason})`, () => {
      assert.deepEqual(decideOnChange(resourceEvent(fixture).object), expected);
    });
  }

  test('a reconcile request annotation starts one chain, and only once', () => {
    const { object } = resourceEvent('apiserver-update-own-status-write');
    const requested = {
      ...object,
      metadata: {
        ...object.metadata,
        annotations: { [RECONCILE_REQUEST_ANNOTATION]: '2026-06-20T10:00:00Z' },
      },
    };
    assert.deepEqual(decideOnChange(requested), { start: true, reason: 'ReconcileRequested' });
    const handled = {
      ...requested,
      status: { ...requested.status, lastHandledReconcileAt: '2026-06-20T10:00:00Z' },
    };
    assert.deepEqual(decideOnChange(handled), { start: false, reason: 'NoNewGeneration' });
  });

  test('an event without data explains that ApiServerSource must use mode Resource', () => {
    const { headers } = eventFixture('apiserver-add');
    assert.throws(
      () => parseEvent(receive({ headers, body: '' }), projectAccepts),
      malformed(/mode: Resource/),
    );
  });

  test('an object without a uid is refused, naming the field', () => {
    const fixture = eventFixture('apiserver-add');
    const body = JSON.parse(fixture.body) as { metadata: Record<string, unknown> };
    delete body.metadata.uid;
    assert.throws(
      () => parseEvent(receive({ ...fixture, body: JSON.stringify(body) }), projectAccepts),
      malformed(/\/metadata.*uid/),
    );
  });

  test('an event about another kind is refused', () => {
    const fixture = eventFixture('apiserver-add');
    const body = {
      ...(JSON.parse(fixture.body) as object),
      kind: 'Deployment',
      apiVersion: 'apps/v1',
    };
    assert.throws(
      () => parseEvent(receive({ ...fixture, body: JSON.stringify(body) }), projectAccepts),
      malformed(
        /about a apps\/v1 Deployment; this function handles supabase.reconciler.dev\/v1alpha1 SupabaseProject/,
      ),
    );
  });

  test('an event type the function does not handle is refused, listing what it handles', () => {
    const fixture = eventFixture('apiserver-delete');
    assert.throws(
      () => parseEvent(receive(fixture), projectAccepts),
      malformed(/is not handled here; expected one of/),
    );
  });
});

describe('chain events', () => {
  const key = { namespace: 'team-a', name: 'demo' };
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  test('a chain event survives binary mode with its key, uid, generation and traceparent', () => {
    const sent = chainEvent({
      type: CHAIN_EVENT.dependenciesValidated,
      from: 'validate-deps',
      key,
      uid: 'uid-1',
      generation: 3,
      traceparent,
    });
    const message = HTTP.binary(sent);
    assert.equal(message.headers['ce-subject'], 'namespaces/team-a/supabaseprojects/demo');
    assert.equal(message.headers['ce-traceparent'], traceparent);
    assert.equal(message.headers['ce-source'], '/supabase-reconciler/validate-deps');
    const received = receive({
      headers: message.headers as Record<string, string>,
      body: String(message.body),
    });
    assert.equal(received.traceparent, traceparent);
    assert.deepEqual(parseEvent(received, { types: [CHAIN_EVENT.dependenciesValidated] }), {
      kind: 'chain',
      type: CHAIN_EVENT.dependenciesValidated,
      key,
      uid: 'uid-1',
      generation: 3,
      // When it was made: validate-deps compares it with the end of the last reconciliation.
      time: sent.time,
    });
  });

  test('a reconcile request names the chain its sender saw under way', () => {
    const runningTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const message = HTTP.binary(
      chainEvent({
        type: CHAIN_EVENT.reconcileRequested,
        from: 'resync',
        key,
        uid: 'uid-1',
        generation: 1,
        runningTrace,
      }),
    );
    assert.equal(message.headers['ce-runningtrace'], runningTrace);
    const received = receive({
      headers: message.headers as Record<string, string>,
      body: String(message.body),
    });
    const parsed = parseEvent(received, { types: [CHAIN_EVENT.reconcileRequested] });
    assert.equal(parsed.kind === 'chain' && parsed.runningTrace, runningTrace);
  });

  const broken = [
    [
      { 'ce-subject': 'namespaces/team-a/deployments/demo' },
      /is not namespaces\/<namespace>\/supabaseprojects\/<name>/,
    ],
    [{ 'ce-subject': undefined }, /subject null is not/],
    [{ 'ce-projectuid': undefined }, /projectuid .* is missing/],
    [{ 'ce-generation': 'abc' }, /generation must be a positive integer, got "abc"/],
    [{ 'ce-generation': '0' }, /generation must be a positive integer/],
    [{ 'ce-generation': undefined }, /generation must be a positive integer, got null/],
    [{ 'ce-runningtrace': 'not-a-trace' }, /runningtrace must be a trace id .* got "not-a-trace"/],
    [{ 'ce-runningtrace': '0'.repeat(32) }, /runningtrace must be a trace id/],
  ] as const;
  for (const [change, pattern] of broken) {
    test(`a chain event with ${JSON.stringify(change)} is refused`, () => {
      const message = HTTP.binary(
        chainEvent({
          type: CHAIN_EVENT.secretsReady,
          from: 'secrets',
          key,
          uid: 'u',
          generation: 1,
        }),
      );
      // An undefined value in `change` removes that header; a number is sent as its text.
      const headers = Object.fromEntries(
        Object.entries({ ...message.headers, ...change }).flatMap(([name, value]) =>
          value === undefined ? [] : [[name, String(value)]],
        ),
      );
      const event = receive({ headers, body: String(message.body) });
      assert.throws(
        () => parseEvent(event, { types: [CHAIN_EVENT.secretsReady] }),
        malformed(pattern),
      );
    });
  }

  test('a PingSource tick parses as ping', () => {
    const event = receive({
      headers: {
        'ce-specversion': '1.0',
        'ce-id': 'p1',
        'ce-type': PING_EVENT,
        'ce-source': '/apis/v1/namespaces/supabase-reconciler/pingsources/resync',
        'content-type': 'application/json',
      },
      body: '{"reason":"periodic-resync"}',
    });
    assert.deepEqual(parseEvent(event, { types: [PING_EVENT] }), { kind: 'ping' });
  });
});

describe('freshness', () => {
  const live = { metadata: { uid: 'u1', generation: 4 } };
  const cases = [
    [{ uid: 'u1', generation: 4 }, live, 'current'],
    [{ uid: 'u1', generation: 5 }, live, 'current'],
    [{ uid: 'u1', generation: 3 }, live, 'superseded'],
    [{ uid: 'u0', generation: 4 }, live, 'foreign'],
    [{ uid: 'u1', generation: 4 }, undefined, 'gone'],
  ] as const;
  for (const [event, object, expected] of cases) {
    test(`event ${JSON.stringify(event)} vs live ${JSON.stringify(object?.metadata)}: ${expected}`, () => {
      assert.equal(freshness(event, object), expected);
    });
  }
});

describe('requests by annotation', () => {
  const base = {
    apiVersion: 'supabase.reconciler.dev/v1alpha1',
    kind: 'SupabaseProject',
    metadata: { name: 'demo', namespace: 'team-a', uid: 'u', resourceVersion: '9', generation: 2 },
    status: { observedGeneration: 2 },
  };

  test('a JWT rotation request starts one chain; once recorded as handled, it starts nothing', () => {
    const requested = {
      ...base,
      metadata: {
        ...base.metadata,
        annotations: { 'supabase.reconciler.dev/rotate-jwt-secret': 'r1' },
      },
    };
    assert.deepEqual(decideOnChange(requested), { start: true, reason: 'ReconcileRequested' });
    const handled = {
      ...requested,
      status: { ...requested.status, ...handledRequestFields(requested.metadata.annotations) },
    };
    assert.deepEqual(handled.status, { observedGeneration: 2, lastHandledJwtRotation: 'r1' });
    assert.deepEqual(decideOnChange(handled), { start: false, reason: 'NoNewGeneration' });
  });

  test('handledRequestFields records every request annotation present, and nothing else', () => {
    assert.deepEqual(
      handledRequestFields({
        [RECONCILE_REQUEST_ANNOTATION]: 't1',
        'supabase.reconciler.dev/rotate-jwt-secret': 'r2',
        other: 'x',
      }),
      { lastHandledReconcileAt: 't1', lastHandledJwtRotation: 'r2' },
    );
    assert.deepEqual(handledRequestFields(undefined), {});
  });
});

describe('deletion as the real ApiServerSource adapter reports it', () => {
  test('the update announcing a deletion carries a new generation, and starts nothing', () => {
    const event = resourceEvent('apiserver-update-deletion-requested');
    assert.equal(event.action, 'update');
    const { metadata, status } = event.object;
    assert.ok(metadata.deletionTimestamp);
    assert.deepEqual(metadata.finalizers, ['supabase.reconciler.dev/finalizer']);
    // The fixture is only a test of the order of the checks if the generation alone would
    // start a chain: setting deletionTimestamp bumped it past observedGeneration.
    assert.equal(metadata.generation, 3);
    assert.equal(status?.observedGeneration, 2);
    assert.deepEqual(decideOnChange(event.object), { start: false, reason: 'Deleting' });
  });

  test('the final delete event still lists the finalizer that was just removed', () => {
    const update = resourceEvent('apiserver-update-deletion-requested');
    const deleted = resourceEvent('apiserver-delete-finalizer-removed');
    assert.equal(deleted.action, 'delete');
    assert.deepEqual(deleted.key, update.key);
    assert.deepEqual(deleted.object.metadata.finalizers, ['supabase.reconciler.dev/finalizer']);
    assert.notEqual(
      deleted.object.metadata.resourceVersion,
      update.object.metadata.resourceVersion,
    );
    const withoutVersion = (e: ResourceEvent) => ({
      ...e.object,
      metadata: { ...e.object.metadata, resourceVersion: '' },
    });
    assert.deepEqual(
      withoutVersion(deleted),
      withoutVersion(update),
      'only resourceVersion differs',
    );
  });

  test('the delete event of an object that never had a finalizer has no deletionTimestamp', () => {
    const event = resourceEvent('apiserver-delete-no-finalizer');
    assert.equal(event.action, 'delete');
    assert.deepEqual(event.key, { namespace: 'team-a', name: 'demo' });
    assert.equal(event.object.metadata.deletionTimestamp, undefined);
    assert.equal(event.object.metadata.finalizers, undefined);
    // So the object alone does not say it is gone: only the event type does (resolvePhaseTarget
    // drops delete events by their action; shared/reconcile/phase.test.ts).
    assert.equal(decideOnChange(event.object).start, true);
  });
});

describe('what ApiServerSource events are refused', () => {
  const addFixture = eventFixture('apiserver-add');
  const addObject = JSON.parse(addFixture.body) as Record<string, unknown> & {
    metadata: Record<string, unknown>;
  };
  function withBody(body: string) {
    return () => parseEvent(receive({ ...addFixture, body }), projectAccepts);
  }
  function withObject(change: (object: typeof addObject) => object) {
    return withBody(JSON.stringify(change(structuredClone(addObject))));
  }

  test('an object of the right kind in another API version is refused', () => {
    assert.throws(
      withObject((o) => ({ ...o, apiVersion: 'supabase.reconciler.dev/v1beta1' })),
      malformed(/about a supabase.reconciler.dev\/v1beta1 SupabaseProject; this function handles/),
    );
  });

  test('an object of another kind in the right API version is refused', () => {
    assert.throws(
      withObject((o) => ({ ...o, kind: 'SupabaseBackup' })),
      malformed(/about a supabase.reconciler.dev\/v1alpha1 SupabaseBackup; this function handles/),
    );
  });

  test('without a resource to match, any kind is accepted', () => {
    const parsed = parseEvent(
      receive({ ...addFixture, body: JSON.stringify({ ...addObject, kind: 'SupabaseBackup' }) }),
      { types: projectAccepts.types },
    );
    assert.equal(parsed.kind === 'resource' && parsed.object.kind, 'SupabaseBackup');
  });

  test('an object with an empty uid is refused, naming the field', () => {
    assert.throws(
      withObject((o) => ({ ...o, metadata: { ...o.metadata, uid: '' } })),
      malformed(/^the event data \(the object\) is not valid: \/metadata\/uid /),
    );
  });

  const noData = [
    ['an empty body', ''],
    ['a blank body', '   '],
    ['a JSON null', 'null'],
  ] as const;
  for (const [what, body] of noData) {
    test(`${what} is an event without data`, () => {
      assert.throws(withBody(body), malformed(/^the event has no data: .*mode: Resource/));
    });
  }

  test('a structured event without data is an event without data', () => {
    const structured = HTTP.structured(
      new CloudEvent({ type: API_SERVER_EVENT.add, source: 'https://10.96.0.1:443' }),
    );
    assert.throws(
      () => parseEvent(receive(structured as HttpFixture), projectAccepts),
      malformed(/^the event has no data/),
    );
  });

  test('data that is not JSON is refused as such', () => {
    // The SDK parses JSON objects itself; a JSON value it leaves as text is parsed here.
    assert.throws(withBody('nul'), malformed(/^the event data is not JSON$/));
  });

  test('data that is JSON but no object is refused, naming the object', () => {
    assert.throws(withBody('[]'), malformed(/^the event data \(the object\) is not valid: /));
  });

  test('a type the function accepts but no parser knows is refused as such', () => {
    const event = receive({
      headers: { ...addFixture.headers, 'ce-type': 'com.example.widget.changed' },
      body: addFixture.body,
    });
    assert.throws(
      () => parseEvent(event, { types: ['com.example.widget.changed'] }),
      malformed(/^event type "com.example.widget.changed" has no parser$/),
    );
  });

  test('a type the function does not accept is refused with the accepted types listed', () => {
    const fixture = eventFixture('apiserver-delete');
    assert.throws(
      () => parseEvent(receive(fixture), projectAccepts),
      malformed(
        /^event type "dev.knative.apiserver.resource.delete" is not handled here; expected one of: dev.knative.apiserver.resource.add, dev.knative.apiserver.resource.update, dev.reconciler.supabase.reconcile.requested$/,
      ),
    );
  });
});

describe('chain event identity', () => {
  const key = { namespace: 'team-a', name: 'demo' };
  const accepts: Accepts = { types: [CHAIN_EVENT.secretsReady] };
  function binaryWith(headers: Record<string, string>) {
    const message = HTTP.binary(
      chainEvent({ type: CHAIN_EVENT.secretsReady, from: 'secrets', key, uid: 'u', generation: 1 }),
    );
    return receive({
      headers: { ...(message.headers as Record<string, string>), ...headers },
      body: String(message.body),
    });
  }
  function structuredWith(extensions: Record<string, unknown>) {
    const body = {
      specversion: '1.0',
      id: 'c1',
      type: CHAIN_EVENT.secretsReady,
      source: '/supabase-reconciler/secrets',
      subject: 'namespaces/team-a/supabaseprojects/demo',
      datacontenttype: 'application/json',
      data: {},
      projectuid: 'u',
      generation: 1,
      ...extensions,
    };
    return receive({
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify(body),
    });
  }

  test('an empty projectuid is refused as missing', () => {
    assert.throws(
      () => parseEvent(binaryWith({ 'ce-projectuid': '' }), accepts),
      malformed(/^extension projectuid \(the project's uid\) is missing/),
    );
  });

  test('a uid of up to 128 characters is accepted; a longer one is refused', () => {
    const parsed = parseEvent(binaryWith({ 'ce-projectuid': 'u'.repeat(128) }), accepts);
    assert.equal(parsed.kind === 'chain' && parsed.uid, 'u'.repeat(128));
    assert.throws(
      () => parseEvent(binaryWith({ 'ce-projectuid': 'u'.repeat(129) }), accepts),
      malformed(/^extension projectuid \(the project's uid\) is missing or longer than 128/),
    );
  });

  test('the subject must name the project with Kubernetes names', () => {
    const subject = (namespace: string, name: string) => ({
      'ce-subject': `namespaces/${namespace}/supabaseprojects/${name}`,
    });
    for (const [namespace, name] of [
      ['n'.repeat(63), 'demo'],
      ['team-a', 'd'.repeat(253)],
      ['team-a', 'demo.v2'],
    ] as const) {
      const parsed = parseEvent(binaryWith(subject(namespace, name)), accepts);
      assert.deepEqual(parsed.kind === 'chain' && parsed.key, { namespace, name });
    }
    for (const [namespace, name] of [
      ['n'.repeat(64), 'demo'],
      ['team-a', 'd'.repeat(254)],
      ['team-a', 'demo..v2'],
    ] as const) {
      assert.throws(
        () => parseEvent(binaryWith(subject(namespace, name)), accepts),
        malformed(
          /^subject .* is not namespaces\/<namespace>\/supabaseprojects\/<name> with Kubernetes names/,
        ),
      );
    }
  });

  test('a generation of several digits is read whole, in binary and structured mode', () => {
    for (const event of [
      binaryWith({ 'ce-generation': '12' }),
      structuredWith({ generation: 12 }),
    ]) {
      const parsed = parseEvent(event, accepts);
      assert.equal(parsed.kind === 'chain' && parsed.generation, 12);
    }
  });

  const notGenerations = [
    ['+3', binaryWith({ 'ce-generation': '+3' }), '"\\+3"'],
    ['0x3', binaryWith({ 'ce-generation': '0x3' }), '"0x3"'],
    ['3e0', binaryWith({ 'ce-generation': '3e0' }), '"3e0"'],
    ['3.0', binaryWith({ 'ce-generation': '3.0' }), '"3.0"'],
    ['2.5 (structured)', structuredWith({ generation: 2.5 }), '2.5'],
    // How an array is shown is not the point here.
    ['[5] (structured)', structuredWith({ generation: [5] }), '.+'],
    ['true (structured)', structuredWith({ generation: true }), 'true'],
  ] as const;
  for (const [what, event, shown] of notGenerations) {
    test(`generation ${what} is refused: only decimal digits make a generation`, () => {
      assert.throws(
        () => parseEvent(event, accepts),
        malformed(new RegExp(`^extension generation must be a positive integer, got ${shown}$`)),
      );
    });
  }
});

describe('reconcile requests as a user makes them', () => {
  const { object } = resourceEvent('apiserver-update-own-status-write');

  test('the annotation a user sets is supabase.reconciler.dev/requestedAt', () => {
    // The name is an API: users and tools write it literally (README), never our constant.
    const requested = {
      ...object,
      metadata: {
        ...object.metadata,
        annotations: { 'supabase.reconciler.dev/requestedAt': '2026-06-21T08:00:00Z' },
      },
    };
    assert.deepEqual(decideOnChange(requested), { start: true, reason: 'ReconcileRequested' });
    assert.deepEqual(handledRequestFields(requested.metadata.annotations), {
      lastHandledReconcileAt: '2026-06-21T08:00:00Z',
    });
  });

  test('removing a handled request annotation starts nothing', () => {
    const removed = {
      ...object,
      status: { ...object.status, lastHandledReconcileAt: '2026-06-20T10:00:00Z' },
    };
    assert.equal(removed.metadata.annotations, undefined);
    assert.deepEqual(decideOnChange(removed), { start: false, reason: 'NoNewGeneration' });
  });
});
