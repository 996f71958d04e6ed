/**
 * The status write path against the real API server: concurrent writers lose nothing, a
 * write that changes nothing is never sent, and lost races end in ConflictError (409).
 */
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { before, describe, test } from 'node:test';
import { PatchStrategy, setHeaderOptions, Watch } from '@kubernetes/client-node';
import { kubeCustomObjectStore, type CustomObjectStore } from '../../shared/k8s/custom-objects.ts';
import type { KubeObject, ObjectKey } from '../../shared/k8s/objects.ts';
import { ConflictError } from '../../shared/runtime/errors.ts';
import { setCondition, type StoredCondition } from '../../shared/status/conditions.ts';
import { updateStatus } from '../../shared/status/write.ts';
import { applyCrd, freshNamespace, kube, kubeConnection } from '../env/index.ts';
import { widgetCrd, widgetRef } from '../fixtures/widget-crd.ts';
import { createProject, installProjectCrd } from '../fixtures/project.ts';
import { kubeProjectStore } from '../../shared/reconcile/project-store.ts';

interface WidgetStatus {
  phase?: string;
  observedGeneration?: number;
  conditions?: StoredCondition[];
}
type Widget = KubeObject<{ size: number }, WidgetStatus>;

function store(): CustomObjectStore<Widget> {
  return kubeCustomObjectStore<Widget>(widgetRef, 'Widget', {
    kubeconfigPath: kubeConnection().kubeconfigPath,
  });
}

/** Wraps a store to count writes, and writes whose status equals the one just read. */
function counting<T extends KubeObject>(inner: CustomObjectStore<T>) {
  const counts = { writes: 0, writesWithoutChange: 0 };
  let lastRead: T | undefined;
  const wrapped: CustomObjectStore<T> = {
    async get(key) {
      lastRead = await inner.get(key);
      return lastRead;
    },
    replaceStatus(object) {
      counts.writes++;
      if (isDeepStrictEqual(object.status ?? {}, lastRead?.status ?? {}))
        counts.writesWithoutChange++;
      return inner.replaceStatus(object);
    },
  };
  return { store: wrapped, counts };
}

async function createWidget(namespace: string, name: string): Promise<Widget> {
  return (await kube().customObjects.createNamespacedCustomObject({
    ...widgetRef,
    namespace,
    body: {
      apiVersion: 'smoke.supabase-reconciler.dev/v1',
      kind: 'Widget',
      metadata: { name },
      spec: { size: 1 },
    },
  })) as Widget;
}

/** A writer's round: its condition True on even rounds, False on odd ones, "round N". */
function setRound<S extends { conditions?: StoredCondition[] }>(type: string, round: number) {
  // The spread keeps every other status field; its type is S's by construction.
  return (status: S | undefined): S =>
    ({
      ...status,
      conditions: setCondition(
        status?.conditions,
        {
          type,
          status: round % 2 === 0 ? 'True' : 'False',
          observedGeneration: 1,
          reason: round % 2 === 0 ? 'Succeeded' : 'InProgress',
          message: `round ${round}`,
        },
        new Date(),
      ),
    }) as S;
}

describe('updateStatus on the real API server', () => {
  before(async () => {
    await applyCrd(widgetCrd);
  });

  test('6 concurrent writers x 15 rounds: every condition ends correct, none lost, no empty write', async (t) => {
    const namespace = await freshNamespace('status');
    const created = await createWidget(namespace, 'w');
    const key: ObjectKey = { namespace, name: 'w' };
    const writers = ['W0', 'W1', 'W2', 'W3', 'W4', 'W5'];
    const rounds = 15;

    // Every status the API server stored, in order, as a watcher sees it.
    const seen: WidgetStatus[] = [];
    let lastSeenVersion = created.metadata.resourceVersion;
    const controller = await new Watch(kube().kubeConfig).watch(
      `/apis/${widgetRef.group}/${widgetRef.version}/namespaces/${namespace}/${widgetRef.plural}`,
      { resourceVersion: created.metadata.resourceVersion },
      (phase, object: Widget) => {
        if (phase === 'MODIFIED') {
          seen.push(object.status ?? {});
          lastSeenVersion = object.metadata.resourceVersion;
        }
      },
      () => undefined,
    );
    t.after(() => {
      controller.abort();
    });

    const results = await Promise.all(
      writers.map(async (type) => {
        const { store: writerStore, counts } = counting(store());
        let written = 0;
        let retries = 0;
        for (let round = 1; round <= rounds; round++) {
          // Generous attempts: this test is about losing nothing under contention, not about
          // how soon a starved writer gives up (that is the last test of this file).
          const result = await updateStatus(writerStore, key, setRound(type, round), {
            uid: created.metadata.uid,
            maxAttempts: 100,
          });
          assert.equal(result.outcome, 'written');
          written++;
          retries += result.attempts - 1;
          // The same write again changes nothing, so it must send nothing.
          const again = await updateStatus(writerStore, key, setRound(type, round));
          assert.equal(again.outcome, 'unchanged');
        }
        return { written, retries, counts };
      }),
    );

    const final = await store().get(key);
    assert.ok(final);
    for (const type of writers) {
      const condition: StoredCondition | undefined = final.status?.conditions?.find(
        (c) => c.type === type,
      );
      assert.ok(condition, `${type} is present`);
      assert.equal(condition.message, `round ${rounds}`, `${type} ends with its last write`);
      assert.equal(condition.status, rounds % 2 === 0 ? 'True' : 'False');
    }
    for (const { counts } of results) assert.equal(counts.writesWithoutChange, 0);
    assert.ok(
      results.some((r) => r.retries > 0),
      'the writers really raced: at least one write lost a race (409) and was recomputed',
    );

    // Wait until the watch has delivered the last write, then check the whole history.
    const deadline = Date.now() + 10_000;
    while (lastSeenVersion !== final.metadata.resourceVersion && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const totalWritten = results.reduce((sum, r) => sum + r.written, 0);
    assert.equal(seen.length, totalWritten, 'one stored change per successful write, no more');
    const lastRound = new Map<string, number>();
    for (const status of seen) {
      for (const type of lastRound.keys()) {
        assert.ok(
          status.conditions?.some((c) => c.type === type),
          `${type} never disappears once written`,
        );
      }
      for (const condition of status.conditions ?? []) {
        const round = Number(condition.message.replace('round ', ''));
        assert.ok(
          round >= (lastRound.get(condition.type) ?? 0),
          `${condition.type} never goes back`,
        );
        lastRound.set(condition.type, round);
      }
    }
    assert.equal(final.metadata.generation, 1, 'status writes never bump the generation');
  });

  test('a write that changes nothing sends nothing and keeps the resourceVersion', async () => {
    const namespace = await freshNamespace('status');
    await createWidget(namespace, 'w');
    const key = { namespace, name: 'w' };
    const first = await updateStatus(store(), key, setRound('Ready', 2));
    assert.equal(first.outcome, 'written');
    const { store: countingStore, counts } = counting(store());
    const second = await updateStatus(countingStore, key, setRound('Ready', 2));
    assert.equal(counts.writes, 0);
    assert.ok(second.outcome === 'unchanged');
    assert.equal(second.object.metadata.resourceVersion, first.object.metadata.resourceVersion);
  });

  test('a deleted object is gone, a recreated one is foreign: nothing is written', async () => {
    const namespace = await freshNamespace('status');
    const original = await createWidget(namespace, 'w');
    const key = { namespace, name: 'w' };
    await kube().customObjects.deleteNamespacedCustomObject({ ...widgetRef, ...key });
    assert.equal((await updateStatus(store(), key, setRound('Ready', 1))).outcome, 'gone');
    await createWidget(namespace, 'w');
    const result = await updateStatus(store(), key, setRound('Ready', 1), {
      uid: original.metadata.uid,
    });
    assert.equal(result.outcome, 'foreign');
    assert.equal((await store().get(key))?.status, undefined);
  });

  test('a writer that loses every race gives up with ConflictError after maxAttempts', async () => {
    const namespace = await freshNamespace('status');
    await createWidget(namespace, 'w');
    const key = { namespace, name: 'w' };
    const inner = store();
    let rivalWrites = 0;
    // A real rival: between our read and our write, another client changes the object.
    const racing: CustomObjectStore<Widget> = {
      async get(k) {
        const object = await inner.get(k);
        await kube().customObjects.patchNamespacedCustomObjectStatus(
          { ...widgetRef, ...k, body: { status: { phase: `rival-${++rivalWrites}` } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        return object;
      },
      replaceStatus: (object) => inner.replaceStatus(object),
    };
    await assert.rejects(
      updateStatus(racing, key, setRound('Ready', 1), { maxAttempts: 3, backoffMs: 1 }),
      (error: unknown) =>
        error instanceof ConflictError && error.message.includes('the object has been modified'),
    );
    assert.equal(rivalWrites, 3);
  });
});

describe('updateStatus on SupabaseProject (the real CRD)', () => {
  before(async () => {
    await installProjectCrd();
  });

  test('six phase functions writing their own conditions at once: all present, none lost, no empty write', async () => {
    const namespace = await freshNamespace('status');
    const project = await createProject(namespace);
    const key = { namespace, name: 'demo' };
    const types = [
      'PostgreSQLConnected',
      'S3Connected',
      'DatabaseInitialized',
      'SecretsReady',
      'NetworkReady',
      'KongReady',
    ] as const;
    const rounds = 8;
    const results = await Promise.all(
      types.map(async (type) => {
        const { store, counts } = counting(
          kubeProjectStore({ kubeconfigPath: kubeConnection().kubeconfigPath }),
        );
        for (let round = 1; round <= rounds; round++) {
          const result = await updateStatus(store, key, setRound(type, round), {
            uid: project.metadata.uid,
            maxAttempts: 100,
          });
          assert.equal(result.outcome, 'written');
        }
        return counts.writesWithoutChange;
      }),
    );
    assert.deepEqual(results, [0, 0, 0, 0, 0, 0]);
    const final = await kubeProjectStore({ kubeconfigPath: kubeConnection().kubeconfigPath }).get(
      key,
    );
    for (const type of types) {
      const c = final?.status?.conditions?.find((x) => x.type === type);
      assert.equal(c?.message, `round ${rounds}`, `${type} holds its last write`);
    }
    assert.equal(final?.metadata.generation, 1);
  });
});
