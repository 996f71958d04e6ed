import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CloudEvent, HTTP } from 'cloudevents';
import { eventFixture } from '../../test/fixtures/events.ts';
import { chainEvent } from '../../shared/events/chain.ts';
import { parseEvent } from '../../shared/events/parse.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { PROJECT_FINALIZER } from '../../shared/reconcile/finalizer.ts';
import type { LiveProject } from '../../shared/reconcile/project-store.ts';
import { MalformedEventError } from '../../shared/runtime/errors.ts';
import { deletionHint, FINALIZE_ACCEPTS, finalizeVerdict, isDeletionHint } from './decide.ts';

const UID = '0b9f3c8e-6a51-4c7d-9e0f-2a4b6c8d1e3f';
const key = { namespace: 'team-a', name: 'demo' };

/** A fixture as finalize's parser sees it. */
function received(name: string) {
  const fixture = eventFixture(name);
  const event = HTTP.toEvent({ headers: fixture.headers, body: fixture.body });
  assert.ok(event instanceof CloudEvent);
  return parseEvent(event, FINALIZE_ACCEPTS);
}

describe('deletionHint, from the events the real ApiServerSource adapter sends', () => {
  test('the update announcing a deletion (generation bumped, finalizer on) is a hint', () => {
    const hint = deletionHint(received('apiserver-update-deletion-requested'));
    assert.deepEqual(hint, { key, uid: UID });
    assert.ok(isDeletionHint(hint), 'the handler goes on to read the live object');
  });

  test('the final delete event still lists our finalizer: a hint (the live object decides)', () => {
    const hint = deletionHint(received('apiserver-delete-finalizer-removed'));
    assert.deepEqual(hint, { key, uid: UID });
    assert.ok(isDeletionHint(hint));
  });

  test('the delete of an object that never had our finalizer is acknowledged at once', () => {
    const hint = deletionHint(received('apiserver-delete-no-finalizer'));
    assert.ok(!isDeletionHint(hint));
    assert.equal(hint.outcome, 'dropped_stale');
    assert.match(hint.reason, /without the reconciler's finalizer/);
  });

  for (const fixture of [
    'apiserver-add',
    'apiserver-update-own-status-write',
    'apiserver-update-new-generation',
    'apiserver-update-labels-only',
  ]) {
    test(`${fixture}: no deletionTimestamp, acknowledged without an API call`, () => {
      const hint = deletionHint(received(fixture));
      assert.ok(!isDeletionHint(hint));
      // Counted as a stale event in the events metric, like every event that needs no work.
      assert.equal(hint.outcome, 'dropped_stale');
      assert.match(hint.reason, /^team-a\/demo is not being deleted$/);
    });
  }

  test('a reconcile request (resync) is a hint with its uid', () => {
    const event = chainEvent({
      type: CHAIN_EVENT.reconcileRequested,
      from: 'resync',
      key,
      uid: UID,
      generation: 3,
    });
    const hint = deletionHint(parseEvent(event, FINALIZE_ACCEPTS));
    assert.deepEqual(hint, { key, uid: UID });
    assert.ok(isDeletionHint(hint));
  });

  test('chain events of the phases are not finalize’s: refused with 400', () => {
    const event = chainEvent({
      type: CHAIN_EVENT.secretsReady,
      from: 'secrets',
      key,
      uid: UID,
      generation: 1,
    });
    assert.throws(() => parseEvent(event, FINALIZE_ACCEPTS), MalformedEventError);
  });
});

describe('finalizeVerdict, on the live object', () => {
  const hint = { key, uid: UID };
  const live = (metadata: Record<string, unknown>): LiveProject =>
    ({
      apiVersion: 'supabase.reconciler.dev/v1alpha1',
      kind: 'SupabaseProject',
      metadata: {
        ...key,
        uid: UID,
        resourceVersion: '1',
        deletionTimestamp: '2026-06-20T10:02:51Z',
        finalizers: [PROJECT_FINALIZER],
        ...metadata,
      },
      spec: {},
    }) as unknown as LiveProject;

  test('being deleted, our finalizer on, same uid: finalize it', () => {
    assert.equal(finalizeVerdict(hint, live({})), undefined);
  });

  test('another finalizer alone does not make it ours to finalize', () => {
    const verdict = finalizeVerdict(hint, live({ finalizers: ['example.com/other'] }));
    assert.equal(verdict?.outcome, 'dropped_stale');
    assert.match(verdict.reason, /no longer carries the reconciler's finalizer/);
  });

  const cases: [string, LiveProject | undefined, RegExp][] = [
    ['gone', undefined, /is gone/],
    ['recreated', live({ uid: 'another' }), /recreated/],
    ['not being deleted', live({ deletionTimestamp: undefined }), /is not being deleted/],
  ];
  for (const [name, object, reason] of cases) {
    test(`${name}: acknowledged`, () => {
      const verdict = finalizeVerdict(hint, object);
      assert.equal(verdict?.outcome, 'dropped_stale');
      assert.match(verdict.reason, reason);
    });
  }
});
