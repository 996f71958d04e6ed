/**
 * What every phase does around its work (shared/reconcile/phase.ts) against the real API
 * server: which events reach a phase as a target and which are acknowledged and dropped,
 * including deletion as the real API server performs it; and the phase's status writes
 * (a new chain starts the phase over, a late duplicate does not move it back, a permanent
 * failure is recorded).
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { CloudEvent } from 'cloudevents';
import { parseEvent, type Accepts } from '../../shared/events/parse.ts';
import { API_SERVER_EVENT, CHAIN_EVENT, CHAIN_EXTENSION } from '../../shared/events/types.ts';
import { PROJECT_FINALIZER } from '../../shared/reconcile/finalizer.ts';
import {
  failPermanently,
  isPhaseTarget,
  nextPhaseEvent,
  resolvePhaseTarget,
  writePhaseStatus,
  type PhaseTarget,
} from '../../shared/reconcile/phase.ts';
import {
  kubeProjectStore,
  PROJECT_RESOURCE,
  type LiveProject,
  type ProjectStore,
} from '../../shared/reconcile/project-store.ts';
import { PermanentError } from '../../shared/runtime/errors.ts';
import type { Acknowledgement } from '../../shared/runtime/handler.ts';
import { freshNamespace, kube, kubeConnection } from '../env/index.ts';
import {
  apiServerEvent,
  chainEventFor,
  createProject,
  installProjectCrd,
  patchProject,
  readProject,
} from '../fixtures/project.ts';

const accepts: Accepts = {
  resource: { apiVersion: 'supabase.reconciler.dev/v1alpha1', kind: 'SupabaseProject' },
  types: [...Object.values(API_SERVER_EVENT), ...Object.values(CHAIN_EVENT)],
};

function projects(): ProjectStore {
  return kubeProjectStore({ kubeconfigPath: kubeConnection().kubeconfigPath });
}

/** The real store, counting reads: events recognised from themselves must cost no API call. */
function countingReads(inner: ProjectStore) {
  const counts = { reads: 0 };
  const store: ProjectStore = {
    get: (key) => {
      counts.reads++;
      return inner.get(key);
    },
    replaceStatus: (object) => inner.replaceStatus(object),
  };
  return { store, counts };
}

async function resolve(event: CloudEvent<unknown>, store: ProjectStore = projects()) {
  return resolvePhaseTarget(parseEvent(event, accepts), store);
}

/** The live project's status, which must be there. */
async function readStatus(namespace: string): Promise<NonNullable<LiveProject['status']>> {
  const { status } = await readProject(namespace);
  assert.ok(status, 'the project has a status');
  return status;
}

function dropped(result: PhaseTarget | Acknowledgement): Acknowledgement {
  assert.ok(!isPhaseTarget(result), 'the event is dropped');
  return result;
}

function target(result: PhaseTarget | Acknowledgement): PhaseTarget {
  assert.ok(isPhaseTarget(result), `the event is acted on, got ${JSON.stringify(result)}`);
  return result;
}

/** Writes a status as a phase of an earlier chain left it. */
async function setStatus(project: LiveProject, status: NonNullable<LiveProject['status']>) {
  const written = await projects().replaceStatus({ ...project, status });
  assert.ok(written);
  return written;
}

/** A project that carries our finalizer and was then deleted: it stays, Terminating. */
async function deletedWithFinalizer(namespace: string): Promise<{
  before: LiveProject;
  after: LiveProject;
}> {
  await createProject(namespace);
  const withFinalizer = await patchProject(namespace, 'demo', {
    metadata: { finalizers: [PROJECT_FINALIZER] },
  });
  const before = await setStatus(withFinalizer, { observedGeneration: 1, phase: 'Running' });
  await kube().customObjects.deleteNamespacedCustomObject({
    ...PROJECT_RESOURCE,
    namespace,
    name: 'demo',
  });
  return { before, after: await readProject(namespace) };
}

before(async () => {
  await installProjectCrd();
});

describe('resolvePhaseTarget: which events a phase acts on', () => {
  test('an add event of a project never reconciled is acted on, for the live object', async () => {
    const namespace = await freshNamespace('phase');
    const created = await createProject(namespace);
    const resolved = target(await resolve(apiServerEvent(created, 'add')));
    assert.deepEqual(resolved.key, { namespace, name: 'demo' });
    assert.equal(resolved.uid, created.metadata.uid);
    assert.equal(resolved.generation, 1);
    assert.equal(resolved.project.metadata.resourceVersion, created.metadata.resourceVersion);
  });

  test('a spec change is acted on for the generation the API server gave it', async () => {
    const namespace = await freshNamespace('phase');
    const created = await createProject(namespace);
    await setStatus(created, { observedGeneration: 1, phase: 'Running' });
    const changed = await patchProject(namespace, 'demo', { spec: { projectId: 'renamed' } });
    assert.equal(changed.metadata.generation, 2);
    const resolved = target(await resolve(apiServerEvent(changed, 'update')));
    assert.equal(resolved.generation, 2);
    assert.equal(resolved.project.spec.projectId, 'renamed');
  });

  test('the update event of our own status write is dropped without an API call', async () => {
    const namespace = await freshNamespace('phase');
    const written = await setStatus(await createProject(namespace), {
      observedGeneration: 1,
      phase: 'ValidatingDependencies',
    });
    const { store, counts } = countingReads(projects());
    const ack = dropped(await resolve(apiServerEvent(written, 'update'), store));
    assert.equal(ack.outcome, 'dropped_own_write');
    assert.equal(ack.reason, `${namespace}/demo: no new generation`);
    assert.equal(counts.reads, 0);
  });

  test('an add event of an older generation is dropped as superseded', async () => {
    const namespace = await freshNamespace('phase');
    const created = await createProject(namespace);
    await patchProject(namespace, 'demo', { spec: { projectId: 'renamed' } });
    const ack = dropped(await resolve(apiServerEvent(created, 'add')));
    assert.equal(ack.outcome, 'dropped_stale');
    assert.equal(ack.reason, `${namespace}/demo generation 1: superseded`);
  });

  test('events of a project deleted and created again under its name are dropped as foreign', async () => {
    const namespace = await freshNamespace('phase');
    const original = await createProject(namespace);
    await kube().customObjects.deleteNamespacedCustomObject({
      ...PROJECT_RESOURCE,
      namespace,
      name: 'demo',
    });
    await createProject(namespace);
    for (const event of [
      apiServerEvent(original, 'add'),
      chainEventFor(CHAIN_EVENT.dependenciesValidated, original),
    ]) {
      const ack = dropped(await resolve(event));
      assert.equal(ack.outcome, 'dropped_stale');
      assert.equal(ack.reason, `${namespace}/demo generation 1: foreign`);
    }
  });

  test('a chain event of a project that no longer exists is dropped as gone', async () => {
    const namespace = await freshNamespace('phase');
    const created = await createProject(namespace);
    await kube().customObjects.deleteNamespacedCustomObject({
      ...PROJECT_RESOURCE,
      namespace,
      name: 'demo',
    });
    const ack = dropped(await resolve(chainEventFor(CHAIN_EVENT.databaseInitialized, created)));
    assert.equal(ack.outcome, 'dropped_stale');
    assert.equal(ack.reason, `${namespace}/demo generation 1: gone`);
  });

  test('a current chain event is acted on for the generation its chain was started for', async () => {
    const namespace = await freshNamespace('phase');
    const created = await createProject(namespace);
    const resolved = target(await resolve(chainEventFor(CHAIN_EVENT.secretsReady, created)));
    assert.equal(resolved.uid, created.metadata.uid);
    assert.equal(resolved.generation, 1);
    assert.deepEqual(resolved.key, { namespace, name: 'demo' });
  });

  test('a ping names no project and is dropped', async () => {
    const { store, counts } = countingReads(projects());
    const ping = new CloudEvent<unknown>({
      type: 'dev.knative.sources.ping',
      source: '/apis/v1/namespaces/supabase-reconciler/pingsources/resync',
      data: {},
    });
    const ack = dropped(await resolvePhaseTarget(parseEvent(ping, { types: [ping.type] }), store));
    assert.deepEqual(ack, {
      kind: 'acknowledgement',
      outcome: 'dropped_stale',
      reason: 'a ping names no project',
    });
    assert.equal(counts.reads, 0);
  });
});

describe('resolvePhaseTarget: deletion as the real API server performs it', () => {
  test('deleting a project with our finalizer sets deletionTimestamp and bumps the generation', async () => {
    // The premise of the event fixtures apiserver-update-deletion-requested and
    // apiserver-delete-finalizer-removed, checked on the real API server.
    const namespace = await freshNamespace('phase');
    const { before, after } = await deletedWithFinalizer(namespace);
    assert.ok(after.metadata.deletionTimestamp);
    assert.deepEqual(after.metadata.finalizers, [PROJECT_FINALIZER]);
    assert.equal(after.metadata.generation, (before.metadata.generation ?? 0) + 1);
    assert.equal(after.status?.observedGeneration, before.metadata.generation);
  });

  test('the update announcing the deletion is dropped without an API call, though its generation is new', async () => {
    const namespace = await freshNamespace('phase');
    const { after } = await deletedWithFinalizer(namespace);
    const { store, counts } = countingReads(projects());
    const ack = dropped(await resolve(apiServerEvent(after, 'update'), store));
    assert.equal(ack.outcome, 'dropped_stale');
    assert.equal(ack.reason, `${namespace}/demo is being deleted`);
    assert.equal(counts.reads, 0);
  });

  test('a chain event for a project being deleted is dropped: the live deletionTimestamp decides', async () => {
    const namespace = await freshNamespace('phase');
    const { after } = await deletedWithFinalizer(namespace);
    // The chain event names the live generation, so only the deletionTimestamp can stop it.
    const event = chainEventFor(CHAIN_EVENT.dependenciesValidated, after);
    assert.equal(event[CHAIN_EXTENSION.generation], after.metadata.generation);
    const ack = dropped(await resolve(event));
    assert.equal(ack.outcome, 'dropped_stale');
    assert.equal(ack.reason, `${namespace}/demo is being deleted`);
  });

  test('the delete event of a project that never had a finalizer is dropped without an API call', async () => {
    const namespace = await freshNamespace('phase');
    const created = await createProject(namespace);
    await kube().customObjects.deleteNamespacedCustomObject({
      ...PROJECT_RESOURCE,
      namespace,
      name: 'demo',
    });
    // Such an object carries no deletionTimestamp: only the event type says it is gone. And a
    // project of the same name created since must not be reconciled on its behalf.
    assert.equal(created.metadata.deletionTimestamp, undefined);
    await createProject(namespace);
    const { store, counts } = countingReads(projects());
    const ack = dropped(await resolve(apiServerEvent(created, 'delete'), store));
    assert.deepEqual(ack, {
      kind: 'acknowledgement',
      outcome: 'dropped_stale',
      reason: `${namespace}/demo was deleted`,
    });
    assert.equal(counts.reads, 0);
  });
});

describe('writePhaseStatus and failPermanently', () => {
  async function runningProject(namespace: string) {
    const created = await createProject(namespace);
    const running = await setStatus(created, {
      observedGeneration: 1,
      phase: 'Running',
      conditions: [
        {
          type: 'PostgreSQLConnected',
          status: 'True',
          observedGeneration: 1,
          lastTransitionTime: '2026-06-20T09:41:08Z',
          reason: 'Connected',
          message: 'connected',
        },
      ],
    });
    const resolved = target(await resolve(chainEventFor(CHAIN_EVENT.secretsReady, running)));
    return { running, resolved };
  }

  test('a late duplicate of an earlier phase does not move the phase back', async () => {
    const namespace = await freshNamespace('phase');
    const { resolved } = await runningProject(namespace);
    assert.equal(
      await writePhaseStatus(projects(), resolved, {
        phase: 'InitializingDatabase',
        fields: { observedGeneration: 1 },
      }),
      true,
    );
    assert.equal((await readStatus(namespace)).phase, 'Running');
  });

  test('a new chain (a newer observedGeneration) starts the phase over', async () => {
    const namespace = await freshNamespace('phase');
    const { resolved } = await runningProject(namespace);
    await patchProject(namespace, 'demo', { spec: { projectId: 'renamed' } });
    assert.equal(
      await writePhaseStatus(projects(), resolved, {
        phase: 'ValidatingDependencies',
        fields: { observedGeneration: 2 },
      }),
      true,
    );
    const status = await readStatus(namespace);
    assert.equal(status.phase, 'ValidatingDependencies');
    assert.equal(status.observedGeneration, 2);
  });

  test('the first chain of a project without status starts at the proposed phase', async () => {
    const namespace = await freshNamespace('phase');
    const created = await createProject(namespace);
    const resolved = target(await resolve(apiServerEvent(created, 'add')));
    await writePhaseStatus(projects(), resolved, {
      phase: 'ValidatingDependencies',
      fields: { observedGeneration: 1 },
    });
    assert.deepEqual((await readProject(namespace)).status, {
      observedGeneration: 1,
      phase: 'ValidatingDependencies',
    });
  });

  test('conditions merge by type, the message is set, other fields stay, and the time is the given one', async () => {
    const namespace = await freshNamespace('phase');
    const { resolved } = await runningProject(namespace);
    const now = new Date('2026-06-21T07:00:00.250Z');
    await writePhaseStatus(
      projects(),
      resolved,
      {
        message: 'checking',
        conditions: [
          {
            type: 'S3Connected',
            status: 'True',
            observedGeneration: 1,
            reason: 'Connected',
            message: 'bucket reachable',
          },
        ],
      },
      now,
    );
    const status = await readStatus(namespace);
    assert.equal(status.phase, 'Running');
    assert.equal(status.observedGeneration, 1);
    assert.equal(status.message, 'checking');
    assert.deepEqual(
      status.conditions?.map((c) => [c.type, c.status, c.lastTransitionTime]),
      [
        ['PostgreSQLConnected', 'True', '2026-06-20T09:41:08Z'],
        ['S3Connected', 'True', '2026-06-21T07:00:00Z'],
      ],
    );
  });

  test('a change that changes nothing is not written, and counts as success', async () => {
    const namespace = await freshNamespace('phase');
    const { running, resolved } = await runningProject(namespace);
    assert.equal(
      await writePhaseStatus(projects(), resolved, { phase: 'Running', fields: {} }),
      true,
    );
    assert.equal(
      (await readProject(namespace)).metadata.resourceVersion,
      running.metadata.resourceVersion,
    );
  });

  test('a project deleted or recreated since is not written, and the write says so', async () => {
    const namespace = await freshNamespace('phase');
    const { resolved } = await runningProject(namespace);
    await kube().customObjects.deleteNamespacedCustomObject({
      ...PROJECT_RESOURCE,
      namespace,
      name: 'demo',
    });
    assert.equal(await writePhaseStatus(projects(), resolved, { phase: 'Failed' }), false);
    await createProject(namespace);
    assert.equal(await writePhaseStatus(projects(), resolved, { phase: 'Failed' }), false);
    assert.equal((await readProject(namespace)).status, undefined);
  });

  test('a permanent failure: the phase condition, Ready and Progressing say why, the phase is Failed', async () => {
    const namespace = await freshNamespace('phase');
    const { resolved } = await runningProject(namespace);
    const error = new PermanentError('SecretKeyMissing', 'Secret demo-db has no key password');
    const ack = await failPermanently(projects(), resolved, 'PostgreSQLConnected', error, {
      fields: { lastTraceId: '4bf92f3577b34da6a3ce929d0e0e4736' },
      conditions: [
        {
          type: 'PostgreSQLConnected',
          status: 'True',
          observedGeneration: 1,
          reason: 'Connected',
          message: 'overridden by the failure',
        },
        {
          type: 'S3Connected',
          status: 'True',
          observedGeneration: 1,
          reason: 'Connected',
          message: 'bucket reachable',
        },
      ],
    });
    assert.deepEqual(ack, {
      kind: 'acknowledgement',
      outcome: 'failed_permanent',
      reason: `${namespace}/demo: SecretKeyMissing`,
    });
    const status = await readStatus(namespace);
    assert.equal(status.phase, 'Failed');
    assert.equal(status.message, 'Secret demo-db has no key password');
    assert.equal(status.lastTraceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    const summary = status.conditions?.map((c) => ({
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
      observedGeneration: c.observedGeneration,
    }));
    const failed = (type: string, reason: string) => ({
      type,
      status: 'False',
      reason,
      message: 'Secret demo-db has no key password',
      observedGeneration: 1,
    });
    assert.deepEqual(summary, [
      failed('PostgreSQLConnected', 'SecretKeyMissing'),
      {
        type: 'S3Connected',
        status: 'True',
        reason: 'Connected',
        message: 'bucket reachable',
        observedGeneration: 1,
      },
      failed('Ready', 'SecretKeyMissing'),
      failed('Progressing', 'Failed'),
    ]);
  });

  test('a permanent failure without other conditions or fields records only the failure', async () => {
    const namespace = await freshNamespace('phase');
    const created = await createProject(namespace);
    const resolved = target(await resolve(apiServerEvent(created, 'add')));
    await failPermanently(
      projects(),
      resolved,
      'S3Connected',
      new PermanentError('BucketNotFound', 'bucket demo does not exist'),
    );
    const status = await readStatus(namespace);
    assert.deepEqual(Object.keys(status).sort(), ['conditions', 'message', 'phase']);
    assert.deepEqual(
      status.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}`),
      [
        'S3Connected=False/BucketNotFound',
        'Ready=False/BucketNotFound',
        'Progressing=False/Failed',
      ],
    );
  });
});

describe('nextPhaseEvent', () => {
  test('hands the project to the next phase: key, uid, generation, sender and data', async () => {
    const namespace = await freshNamespace('phase');
    const created = await createProject(namespace);
    const resolved = target(await resolve(apiServerEvent(created, 'add')));
    const event = nextPhaseEvent(CHAIN_EVENT.dependenciesValidated, 'validate-deps', resolved, {
      checked: ['postgresql'],
    });
    assert.equal(event.type, CHAIN_EVENT.dependenciesValidated);
    assert.equal(event.source, '/supabase-reconciler/validate-deps');
    assert.equal(event.subject, `namespaces/${namespace}/supabaseprojects/demo`);
    assert.equal(event[CHAIN_EXTENSION.projectUid], created.metadata.uid);
    assert.equal(event[CHAIN_EXTENSION.generation], 1);
    assert.deepEqual(event.data, { checked: ['postgresql'] });
    // The next phase acts on it.
    assert.equal(target(await resolve(event)).uid, created.metadata.uid);
    assert.deepEqual(
      nextPhaseEvent(CHAIN_EVENT.secretsReady, 'secrets', resolved).data,
      {},
      'no data by default',
    );
  });
});
