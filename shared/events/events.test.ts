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
    });
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
      // An undefined value in `change` removes that header.
      const headers = Object.fromEntries(
        Object.entries({ ...message.headers, ...change }).filter(
          (entry): entry is [string, string] => typeof entry[1] === 'string',
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
