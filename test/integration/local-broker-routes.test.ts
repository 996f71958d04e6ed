/**
 * The routing of the Trigger files of deploy/overlays/knative (what the local runtime's broker
 * reads) against the functions' contracts (routing-support.ts): every event type of the
 * reconciler reaches exactly the functions that handle it, and never one whose parser would
 * refuse it. deploy-manifests.test.ts runs the same checks on the overlay as kustomize renders
 * it.
 */
import { describe, test } from 'node:test';
import { readTopology } from '../../shared/local/triggers.ts';
import {
  assertEveryEventReachesItsHandlers,
  assertForeignEventsRouteNowhere,
  assertRecordedEventsRouted,
  assertTriggersNameFunctions,
} from './routing-support.ts';

describe('the routing of deploy/overlays/knative', () => {
  test('every Trigger names a function of the reconciler, never the dead-letter sink', async () => {
    assertTriggersNameFunctions((await readTopology()).triggers);
  });

  test('every event type reaches exactly the functions that handle it', async () => {
    assertEveryEventReachesItsHandlers((await readTopology()).triggers);
  });

  test('what is none of the reconciler’s events routes nowhere', async () => {
    assertForeignEventsRouteNowhere((await readTopology()).triggers);
  });

  test('the recorded adapter and chain events of test/fixtures/events reach functions that parse them', async () => {
    await assertRecordedEventsRouted((await readTopology()).triggers);
  });
});
