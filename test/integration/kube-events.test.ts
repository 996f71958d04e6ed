/**
 * Kubernetes Events on the real API server: repetitions aggregate into one Event with a count
 * (as Kubernetes does), and the phases record one Event per condition transition and none on
 * a pass that changes nothing — also a failing pass delivered again.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CoreV1Event } from '@kubernetes/client-node';
import { API_GROUP_VERSION, KIND } from '../../shared/api/group-version.ts';
import { kubeEventRecorder, type InvolvedObject } from '../../shared/k8s/events.ts';
import { kubeProjectStore, type LiveProject } from '../../shared/reconcile/project-store.ts';
import { recordingTransitions } from '../../shared/reconcile/transition-events.ts';
import { setConditions } from '../../shared/status/conditions.ts';
import { updateStatus } from '../../shared/status/write.ts';
import { freshNamespace, kube, kubeConnection } from '../env/index.ts';
import { deliver, phaseHarnesses, projectOnTestServers } from '../fixtures/chain.ts';
import { NO_EXPORT_ENV, type Harness } from '../fixtures/function-harness.ts';
import { memoryLogger } from '../fixtures/memory-logger.ts';
import { apiServerEvent, createProject, installProjectCrd } from '../fixtures/project.ts';

let validateDeps: Harness;

before(async () => {
  await installProjectCrd();
  ({ validateDeps } = phaseHarnesses(NO_EXPORT_ENV));
});

after(async () => {
  await validateDeps.telemetry.shutdown();
});

const options = () => ({ kubeconfigPath: kubeConnection().kubeconfigPath });

function involved(project: LiveProject): InvolvedObject {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: KIND,
    namespace: project.metadata.namespace,
    name: project.metadata.name,
    uid: project.metadata.uid,
  };
}

/** The Events on a project, as `reason/type x count: message`, sorted. */
async function eventsOn(project: LiveProject): Promise<string[]> {
  const list = await kube().core.listNamespacedEvent({
    namespace: project.metadata.namespace,
    fieldSelector: `involvedObject.uid=${project.metadata.uid}`,
  });
  return list.items
    .map((e: CoreV1Event) => `${e.reason}/${e.type} x${e.count}: ${e.message}`)
    .sort();
}

test('a repeated Event raises the count of one object, concurrent repetitions included', async () => {
  const namespace = await freshNamespace('events');
  const project = await createProject(namespace);
  const recorder = kubeEventRecorder({ ...options(), component: 'events-test' });
  const warning = {
    type: 'Warning',
    reason: 'BucketNotFound',
    message: 'bucket b is gone',
  } as const;

  await recorder.record(involved(project), warning);
  await recorder.record(involved(project), warning);
  assert.deepEqual(await eventsOn(project), ['BucketNotFound/Warning x2: bucket b is gone']);

  // Another message is another occurrence; three at once all count.
  const other = { ...warning, message: 'bucket c is gone' };
  await Promise.all([1, 2, 3].map(() => recorder.record(involved(project), other)));
  assert.deepEqual(await eventsOn(project), [
    'BucketNotFound/Warning x2: bucket b is gone',
    'BucketNotFound/Warning x3: bucket c is gone',
  ]);
  const stored = await kube().core.listNamespacedEvent({ namespace });
  const first = stored.items.find((e) => e.message === 'bucket b is gone');
  assert.ok(first);
  assert.equal(first.source?.component, 'events-test');
  const { firstTimestamp, lastTimestamp } = first;
  assert.ok(firstTimestamp && lastTimestamp);
  assert.ok(new Date(lastTimestamp) >= new Date(firstTimestamp));
});

test('status writes record their transitions: one Event each, none when nothing changes', async () => {
  const namespace = await freshNamespace('transitions');
  const created = await createProject(namespace);
  const key = { namespace, name: created.metadata.name };
  const store = recordingTransitions(
    kubeProjectStore(options()),
    kubeEventRecorder({ ...options(), component: 'transitions-test' }),
    memoryLogger('transitions-test').logger,
  );
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const setReady = (
    status: 'True' | 'False',
    reason: 'Succeeded' | 'Unreachable' | 'Reconciling',
  ) =>
    updateStatus(store, key, (current) => ({
      ...current,
      conditions: setConditions(
        current?.conditions,
        [{ type: 'Ready', status, observedGeneration: 1, reason, message: `ready: ${status}` }],
        new Date((clock += 1000)),
      ),
    }));

  assert.equal((await setReady('False', 'Reconciling')).outcome, 'written');
  assert.deepEqual(await eventsOn(created), [], 'work under way, first appearance: no Event');
  assert.equal((await setReady('True', 'Succeeded')).outcome, 'written');
  assert.equal((await setReady('True', 'Succeeded')).outcome, 'unchanged');
  assert.deepEqual(await eventsOn(created), ['Succeeded/Normal x1: Ready is True: ready: True']);
  await setReady('False', 'Unreachable');
  await setReady('True', 'Succeeded');
  assert.deepEqual(await eventsOn(created), [
    'Succeeded/Normal x2: Ready is True: ready: True',
    'Unreachable/Warning x1: Ready is False: ready: False',
  ]);
});

test('validate-deps: a failing pass records its transitions once; delivered again it records nothing; the fix records its own', async () => {
  const namespace = await freshNamespace('ev-chain');
  const created = await projectOnTestServers(namespace, 'ev_chain');
  const s3Secret = await kube().core.readNamespacedSecret({ namespace, name: 'demo-s3' });
  const bucket = Buffer.from(s3Secret.data?.bucket ?? '', 'base64').toString();
  const setBucket = async (value: string) => {
    const secret = await kube().core.readNamespacedSecret({ namespace, name: 'demo-s3' });
    secret.data = { ...secret.data, bucket: Buffer.from(value).toString('base64') };
    await kube().core.replaceNamespacedSecret({ namespace, name: 'demo-s3', body: secret });
  };

  await setBucket(`${bucket}-missing`);
  const add = apiServerEvent(created, 'add');
  assert.equal((await deliver(validateDeps, add)).status, 202);
  const failed = await eventsOn(created);
  assert.deepEqual(
    failed.map((e) => e.split(':')[0]),
    // The sslMode warning of the chain's start, and the two transitions of the failure.
    ['BucketNotFound/Warning x1', 'DatabaseServerNotVerified/Warning x1', 'Failed/Warning x1'],
    failed.join('\n'),
  );

  // The same failing event again (a redelivery): the status does not change, no Event.
  assert.equal((await deliver(validateDeps, add)).status, 202);
  assert.deepEqual(await eventsOn(created), failed);

  await setBucket(bucket);
  assert.equal((await deliver(validateDeps, add)).status, 200);
  const fixed = await eventsOn(created);
  assert.deepEqual(
    fixed.filter((e) => !failed.includes(e)).map((e) => e.split(':').slice(0, 2).join(':')),
    ['Connected/Normal x1: S3Connected is True'],
    fixed.join('\n'),
  );
  assert.equal((await deliver(validateDeps, add)).status, 200);
  assert.deepEqual(await eventsOn(created), fixed, 'a pass that changes nothing records nothing');
});
