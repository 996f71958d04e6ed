/**
 * The recording project store (shared/reconcile/transition-events.ts) around the real store,
 * on the real API server: reads and writes of two projects interleaved, a write of an object
 * it did not read, a project that is gone, and an Event the API server refuses.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { CoreV1Event } from '@kubernetes/client-node';
import { kubeEventRecorder } from '../../shared/k8s/events.ts';
import {
  kubeProjectStore,
  PROJECT_RESOURCE,
  type LiveProject,
} from '../../shared/reconcile/project-store.ts';
import { recordingTransitions } from '../../shared/reconcile/transition-events.ts';
import { setConditions } from '../../shared/status/conditions.ts';
import { freshNamespace, kube, kubeConnection } from '../env/index.ts';
import { memoryLogger } from '../fixtures/memory-logger.ts';
import { createProject, installProjectCrd } from '../fixtures/project.ts';

before(async () => {
  await installProjectCrd();
});

const options = () => ({ kubeconfigPath: kubeConnection().kubeconfigPath });

/** The store every function wraps, unwrapped: its writes record nothing. */
const plain = () => kubeProjectStore(options());

function recording() {
  const { logger, lines } = memoryLogger('recording-store-test');
  const store = recordingTransitions(
    plain(),
    kubeEventRecorder({ ...options(), component: 'recording-store-test' }),
    logger,
  );
  return { store, lines };
}

const keyOf = (project: LiveProject) => ({
  namespace: project.metadata.namespace,
  name: project.metadata.name,
});

/** `project` with its Ready condition set so, ready to be written. */
function withReady(
  project: LiveProject,
  status: 'True' | 'False',
  reason: 'Succeeded' | 'Unreachable',
): LiveProject {
  return {
    ...project,
    status: {
      ...project.status,
      conditions: setConditions(
        project.status?.conditions,
        [{ type: 'Ready', status, observedGeneration: 1, reason, message: `ready: ${status}` }],
        new Date(),
      ),
    },
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

test('a project that does not exist reads as undefined, as through the store it wraps', async () => {
  const namespace = await freshNamespace('rec-absent');
  assert.equal(await recording().store.get({ namespace, name: 'absent' }), undefined);
});

test('two projects read before either is written: each write records its own transition', async () => {
  // One process handles events of several projects at once: each write compares with the
  // read of that same object.
  const namespace = await freshNamespace('rec-two');
  const alpha = await createProject(namespace, { name: 'alpha' });
  const beta = await createProject(namespace, { name: 'beta' });
  // Ready as earlier passes left it (written without recording).
  await plain().replaceStatus(withReady(alpha, 'True', 'Succeeded'));
  await plain().replaceStatus(withReady(beta, 'False', 'Unreachable'));

  const { store } = recording();
  const alphaRead = await store.get(keyOf(alpha));
  const betaRead = await store.get(keyOf(beta));
  assert.ok(alphaRead && betaRead);
  await store.replaceStatus(withReady(alphaRead, 'False', 'Unreachable'));
  await store.replaceStatus(withReady(betaRead, 'True', 'Succeeded'));
  assert.deepEqual(await eventsOn(alpha), ['Unreachable/Warning x1: Ready is False: ready: False']);
  assert.deepEqual(await eventsOn(beta), ['Succeeded/Normal x1: Ready is True: ready: True']);
});

test('a write of an object this store did not read records nothing: the state before it is unknown', async () => {
  const created = await createProject(await freshNamespace('rec-unread'));
  const { store } = recording();
  const written = await store.replaceStatus(withReady(created, 'False', 'Unreachable'));
  assert.equal(written?.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'False');
  assert.deepEqual(await eventsOn(created), []);
});

test('a project deleted between the read and the write: the write answers undefined, nothing is recorded', async () => {
  const namespace = await freshNamespace('rec-deleted');
  const created = await createProject(namespace);
  const { store } = recording();
  const read = await store.get(keyOf(created));
  assert.ok(read);
  await kube().customObjects.deleteNamespacedCustomObject({
    ...PROJECT_RESOURCE,
    namespace,
    name: created.metadata.name,
  });
  assert.equal(await store.replaceStatus(withReady(read, 'False', 'Unreachable')), undefined);
  assert.deepEqual(await eventsOn(created), []);
});

test('an Event the API server refuses (its namespace is being deleted) fails nothing: the status is written, a warning names the transition', async () => {
  const namespace = await freshNamespace('rec-refused');
  const created = await createProject(namespace);
  // A finalizer of someone else's holds the project while its namespace terminates (as ours
  // does while finalize works).
  const held = await plain().patchMetadata(keyOf(created), created.metadata.resourceVersion, {
    finalizers: ['example.com/hold'],
  });
  assert.ok(held);
  const { store, lines } = recording();
  const read = await store.get(keyOf(held));
  assert.ok(read);
  await kube().core.deleteNamespace({ name: namespace });

  const written = await store.replaceStatus(withReady(read, 'False', 'Unreachable'));
  assert.equal(written?.status?.conditions?.find((c) => c.type === 'Ready')?.reason, 'Unreachable');
  assert.deepEqual(await eventsOn(created), [], 'the API server refused the Event');
  const warnings = lines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.msg === 'could not record the Event of a condition transition');
  assert.equal(warnings.length, 1, lines.join('\n'));
  const [warning] = warnings;
  assert.ok(warning);
  assert.equal(warning.reason, 'Unreachable');
  assert.match(String(warning.error), /terminat/i);

  // Let the namespace go.
  const last = await plain().get(keyOf(held));
  if (last)
    await plain().patchMetadata(keyOf(held), last.metadata.resourceVersion, { finalizers: [] });
});
