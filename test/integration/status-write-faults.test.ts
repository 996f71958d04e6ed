/**
 * The status write path (shared/status/write.ts) when things go wrong, against the real API
 * server: only a lost race (409) is retried; an error that retrying cannot fix ends the write
 * at once; an object deleted between the read and the write is gone, not written; the
 * mutation works on a copy and is recomputed from what the last read returned.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { kubeCustomObjectStore, type CustomObjectStore } from '../../shared/k8s/custom-objects.ts';
import type { KubeObject, ObjectKey } from '../../shared/k8s/objects.ts';
import { ConflictError, PermanentError } from '../../shared/runtime/errors.ts';
import { updateStatus } from '../../shared/status/write.ts';
import { applyCrd, freshNamespace, kube, kubeConnection } from '../env/index.ts';
import { widgetCrd, widgetRef } from '../fixtures/widget-crd.ts';

interface WidgetStatus {
  phase?: string;
  observedGeneration?: number;
}
type Widget = KubeObject<{ size: number }, WidgetStatus>;

function widgets(): CustomObjectStore<Widget> {
  return kubeCustomObjectStore<Widget>(widgetRef, 'Widget', {
    kubeconfigPath: kubeConnection().kubeconfigPath,
  });
}

/** The real store, counting reads and writes, with something done right after each read. */
function observed(afterRead: (key: ObjectKey) => Promise<void> = () => Promise.resolve()) {
  const inner = widgets();
  const counts = { reads: 0, writes: 0 };
  const store: CustomObjectStore<Widget> = {
    async get(key) {
      counts.reads++;
      const object = await inner.get(key);
      await afterRead(key);
      return object;
    },
    async replaceStatus(object) {
      counts.writes++;
      return inner.replaceStatus(object);
    },
  };
  return { store, counts };
}

/**
 * The waits between attempts, recorded as updateStatus asks for them (and then made, for
 * real, so the rival writers interleave as they would).
 */
function recordingSleep(): { sleep: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    sleep: (ms) => {
      waits.push(ms);
      return new Promise((resolve) => setTimeout(resolve, ms));
    },
  };
}

/** Each wait is exactly its expected length (to rounding). */
function assertWaits(waits: readonly number[], expected: readonly number[]): void {
  assert.equal(waits.length, expected.length, `waits ${waits.join(', ')}`);
  waits.forEach((wait, i) => {
    assert.ok(
      Math.abs(wait - expected[i]!) < 1e-6,
      `wait ${i + 1}: ${wait} ms, expected ${expected[i]!} ms`,
    );
  });
}

async function createWidget(namespace: string): Promise<{ key: ObjectKey; widget: Widget }> {
  const widget = (await kube().customObjects.createNamespacedCustomObject({
    ...widgetRef,
    namespace,
    body: {
      apiVersion: 'smoke.supabase-reconciler.dev/v1',
      kind: 'Widget',
      metadata: { name: 'w' },
      spec: { size: 1 },
    },
  })) as Widget;
  return { key: { namespace, name: 'w' }, widget };
}

/** Another client writes the status between our read and our write. */
function rivalPhase(key: ObjectKey, phase: string) {
  return kube().customObjects.patchNamespacedCustomObjectStatus(
    { ...widgetRef, ...key, body: { status: { phase } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

before(async () => {
  await applyCrd(widgetCrd);
});

describe('updateStatus when the write fails', () => {
  test('a status the API server refuses (422) fails at once: no second attempt', async () => {
    const namespace = await freshNamespace('status-faults');
    const { key } = await createWidget(namespace);
    const { store, counts } = observed();
    await assert.rejects(
      updateStatus(
        store,
        key,
        // observedGeneration must be an integer (the CRD's schema).
        () => ({ observedGeneration: 'one' as unknown as number }),
        { maxAttempts: 5, backoffMs: 1 },
      ),
      (error: unknown) => {
        assert.ok(error instanceof PermanentError, `expected PermanentError, got ${String(error)}`);
        assert.equal(error.reason, 'Invalid');
        return true;
      },
    );
    assert.deepEqual(counts, { reads: 1, writes: 1 });
  });

  test('an object deleted between the read and the write is gone: nothing is written', async () => {
    const namespace = await freshNamespace('status-faults');
    const { key } = await createWidget(namespace);
    const { store, counts } = observed(async (k) => {
      await kube().customObjects.deleteNamespacedCustomObject({ ...widgetRef, ...k });
    });
    const result = await updateStatus(store, key, () => ({ phase: 'Ready' }));
    assert.deepEqual(result, { outcome: 'gone', attempts: 1 });
    assert.deepEqual(counts, { reads: 1, writes: 1 });
    assert.equal(await widgets().get(key), undefined);
  });

  test('a lost race is retried from a fresh read, keeping what the rival wrote', async () => {
    const namespace = await freshNamespace('status-faults');
    const { key } = await createWidget(namespace);
    let rivals = 0;
    const { store, counts } = observed(async (k) => {
      if (rivals++ === 0) await rivalPhase(k, 'rival');
    });
    const seen: (string | undefined)[] = [];
    const result = await updateStatus(
      store,
      key,
      (status) => {
        seen.push(status?.phase);
        return { ...status, observedGeneration: 1 };
      },
      { backoffMs: 1 },
    );
    assert.equal(result.outcome, 'written');
    assert.equal(result.attempts, 2);
    assert.deepEqual(seen, [undefined, 'rival'], 'recomputed from the second read');
    assert.deepEqual(counts, { reads: 2, writes: 2 });
    assert.deepEqual((await widgets().get(key))?.status, {
      phase: 'rival',
      observedGeneration: 1,
    });
  });

  test('by default a writer that loses every race gives up after 10 attempts, waiting 20 ms doubling up to 1 s', async (t) => {
    const namespace = await freshNamespace('status-faults');
    const { key } = await createWidget(namespace);
    let rivals = 0;
    const { store, counts } = observed(async (k) => {
      await rivalPhase(k, `rival-${++rivals}`);
    });
    // The jitter at (nearly) its top, so each wait is (nearly) its whole bound.
    t.mock.method(Math, 'random', () => 0.999);
    const recorder = recordingSleep();
    await assert.rejects(
      updateStatus(store, key, (status) => ({ ...status, observedGeneration: 7 }), {
        sleep: recorder.sleep,
      }),
      ConflictError,
    );
    assert.deepEqual(counts, { reads: 10, writes: 10 });
    assertWaits(
      recorder.waits,
      [20, 40, 80, 160, 320, 640, 1000, 1000, 1000].map((bound) => bound * 0.999),
    );
  });

  test('the waits follow the given base and bound', async (t) => {
    const namespace = await freshNamespace('status-faults');
    const { key } = await createWidget(namespace);
    let rivals = 0;
    const { store, counts } = observed(async (k) => {
      await rivalPhase(k, `rival-${++rivals}`);
    });
    t.mock.method(Math, 'random', () => 0.999);
    const recorder = recordingSleep();
    await assert.rejects(
      updateStatus(store, key, (status) => ({ ...status, observedGeneration: 7 }), {
        maxAttempts: 4,
        backoffMs: 40,
        maxBackoffMs: 100,
        sleep: recorder.sleep,
      }),
      ConflictError,
    );
    assert.deepEqual(counts, { reads: 4, writes: 4 });
    assertWaits(
      recorder.waits,
      [80, 100, 100].map((bound) => bound * 0.999),
    );
  });

  test('the waits are jittered below their bound', async (t) => {
    const namespace = await freshNamespace('status-faults');
    const { key } = await createWidget(namespace);
    let rivals = 0;
    const { store } = observed(async (k) => {
      await rivalPhase(k, `rival-${++rivals}`);
    });
    t.mock.method(Math, 'random', () => 0.25);
    const recorder = recordingSleep();
    await assert.rejects(
      updateStatus(store, key, (status) => ({ ...status, observedGeneration: 7 }), {
        maxAttempts: 3,
        backoffMs: 200,
        maxBackoffMs: 1000,
        sleep: recorder.sleep,
      }),
      ConflictError,
    );
    assertWaits(recorder.waits, [100, 200]);
  });
});

describe('updateStatus and the mutation', () => {
  test('an absent status and an empty one are the same: nothing is written', async () => {
    const namespace = await freshNamespace('status-faults');
    const { key, widget } = await createWidget(namespace);
    assert.equal(widget.status, undefined);
    const { store, counts } = observed();
    const result = await updateStatus(store, key, () => ({}));
    assert.equal(result.outcome, 'unchanged');
    assert.equal(result.attempts, 1);
    assert.equal(counts.writes, 0);
  });

  test('a mutation that edits the status it is given still writes: it was given a copy', async () => {
    const namespace = await freshNamespace('status-faults');
    const { key } = await createWidget(namespace);
    await rivalPhase(key, 'Pending');
    const result = await updateStatus(widgets(), key, (status) => {
      assert.ok(status);
      status.phase = 'Ready';
      return status;
    });
    assert.equal(result.outcome, 'written');
    assert.equal((await widgets().get(key))?.status?.phase, 'Ready');
  });

  test('the mutation sees the live object, and the write returns the stored one', async () => {
    const namespace = await freshNamespace('status-faults');
    const { key, widget } = await createWidget(namespace);
    const result = await updateStatus(
      widgets(),
      key,
      (status, object) => ({ ...status, observedGeneration: object.metadata.generation ?? 0 }),
      { uid: widget.metadata.uid },
    );
    assert.ok(result.outcome === 'written');
    assert.equal(result.attempts, 1);
    assert.deepEqual(result.object.status, { observedGeneration: 1 });
    assert.notEqual(result.object.metadata.resourceVersion, widget.metadata.resourceVersion);
    const unchanged = await updateStatus(widgets(), key, (status) => ({ ...status }));
    assert.ok(unchanged.outcome === 'unchanged');
    assert.equal(unchanged.object.metadata.resourceVersion, result.object.metadata.resourceVersion);
  });
});
