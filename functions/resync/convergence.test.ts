import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SupabaseProjectStatus } from '../../shared/api/index.ts';
import { PROJECT_FINALIZER } from '../../shared/reconcile/finalizer.ts';
import type { LiveProject } from '../../shared/reconcile/project-store.ts';
import type { StoredCondition } from '../../shared/status/conditions.ts';
import { resyncDecision, type ResyncPolicy } from './convergence.ts';

const now = new Date('2026-11-22T12:00:00Z');
const policy: ResyncPolicy = { maxAgeSeconds: 36_000, failedRetrySeconds: 3600 };
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000).toISOString();

function condition(
  type: string,
  status: 'True' | 'False' | 'Unknown',
  observedGeneration = 4,
  lastTransitionTime = ago(60),
): StoredCondition {
  return { type, status, observedGeneration, lastTransitionTime, reason: 'Any', message: '' };
}

/** A converged project at generation 4; each test changes one thing. */
function converged(): SupabaseProjectStatus {
  return {
    phase: 'Running',
    observedGeneration: 4,
    lastReconcileTime: ago(600),
    conditions: [condition('Ready', 'True'), condition('Progressing', 'False')],
  };
}

function project(
  status: SupabaseProjectStatus | undefined,
  metadata: { [K in keyof LiveProject['metadata']]?: LiveProject['metadata'][K] | undefined } = {},
): LiveProject {
  // `undefined` removes a field of the default metadata.
  const base = {
    namespace: 'team-a',
    name: 'demo',
    uid: 'u1',
    resourceVersion: '7',
    generation: 4,
    finalizers: [PROJECT_FINALIZER],
    ...metadata,
  };
  return {
    apiVersion: 'supabase.reconciler.dev/v1alpha1',
    kind: 'SupabaseProject',
    metadata: Object.fromEntries(Object.entries(base).filter(([, v]) => v !== undefined)),
    spec: {} as LiveProject['spec'],
    ...(status ? { status } : {}),
  } as unknown as LiveProject;
}

const decide = (p: LiveProject) => resyncDecision(p, now, policy);
/** A copy of `value` without `field`. */
function without<T extends object>(value: T, field: keyof T): T {
  return Object.fromEntries(Object.entries(value).filter(([key]) => key !== field)) as T;
}
const replace = (conditions: StoredCondition[], next: StoredCondition) => [
  ...conditions.filter((c) => c.type !== next.type),
  next,
];

describe('resyncDecision', () => {
  test('a converged project gets no request', () => {
    assert.deepEqual(decide(project(converged())), { emit: false, reason: 'Converged' });
  });

  test('a project no chain ever started for (its add event was lost) gets one', () => {
    assert.deepEqual(decide(project(undefined)), { emit: true, reason: 'NeverReconciled' });
    assert.deepEqual(decide(project({})), { emit: true, reason: 'NeverReconciled' });
  });

  test('a generation not observed yet (its update event was lost) gets one', () => {
    const status = { ...converged(), observedGeneration: 3 };
    assert.deepEqual(decide(project(status)), { emit: true, reason: 'NewGeneration' });
    // An object without metadata.generation is at generation 1.
    assert.deepEqual(decide(project(converged(), { generation: undefined })), {
      emit: true,
      reason: 'NewGeneration',
    });
  });

  test('a chain still Progressing (or cut off without reporting) gets one', () => {
    const status = converged();
    const conditions = replace(status.conditions ?? [], condition('Progressing', 'True'));
    assert.deepEqual(decide(project({ ...status, conditions })), {
      emit: true,
      reason: 'Progressing',
    });
    // Progressing True of an older generation still means a chain runs.
    const older = replace(status.conditions ?? [], condition('Progressing', 'True', 3));
    assert.equal(decide(project({ ...status, conditions: older })).emit, true);
  });

  test('Progressing absent or Unknown does not count as running', () => {
    const status = converged();
    const without = (status.conditions ?? []).filter((c) => c.type !== 'Progressing');
    assert.deepEqual(decide(project({ ...status, conditions: without })), {
      emit: false,
      reason: 'Converged',
    });
    const unknown = replace(status.conditions ?? [], condition('Progressing', 'Unknown'));
    assert.equal(decide(project({ ...status, conditions: unknown })).emit, false);
  });

  test('every phase but Running and Failed is a chain that stopped before the end', () => {
    for (const phase of [
      'Pending',
      'ValidatingDependencies',
      'InitializingDatabase',
      'DeployingSecrets',
      'DeployingComponents',
      'Updating',
      'Terminating',
    ] as const) {
      assert.deepEqual(
        decide(project({ ...converged(), phase })),
        { emit: true, reason: 'PhaseNotFinished' },
        phase,
      );
    }
    assert.deepEqual(decide(project(without(converged(), 'phase'))), {
      emit: true,
      reason: 'PhaseNotFinished',
    });
  });

  test('Running without Ready True for this generation gets one', () => {
    const status = converged();
    for (const ready of [
      condition('Ready', 'False'),
      condition('Ready', 'Unknown'),
      condition('Ready', 'True', 3),
      condition('Ready', 'True', 5),
    ]) {
      const conditions = replace(status.conditions ?? [], ready);
      assert.deepEqual(
        decide(project({ ...status, conditions })),
        { emit: true, reason: 'NotReady' },
        JSON.stringify(ready),
      );
    }
    const noReady = (status.conditions ?? []).filter((c) => c.type !== 'Ready');
    assert.deepEqual(decide(project({ ...status, conditions: noReady })), {
      emit: true,
      reason: 'NotReady',
    });
    const noGeneration = without(condition('Ready', 'True'), 'observedGeneration');
    const conditions = replace(status.conditions ?? [], noGeneration);
    assert.equal(decide(project({ ...status, conditions })).emit, true);
  });

  test('a last reconciliation older than the maximum age (or unknown) gets one', () => {
    const at = (lastReconcileTime: string | undefined) => {
      const rest = without(converged(), 'lastReconcileTime');
      return decide(
        project(lastReconcileTime === undefined ? rest : { ...rest, lastReconcileTime }),
      );
    };
    assert.deepEqual(at(ago(36_000)), { emit: true, reason: 'ReconcileDue' });
    assert.deepEqual(at(ago(35_999)), { emit: false, reason: 'Converged' });
    assert.deepEqual(at(undefined), { emit: true, reason: 'ReconcileDue' });
    assert.deepEqual(at('not a time'), { emit: true, reason: 'ReconcileDue' });
    // A clock ahead of ours is not a reason to reconcile.
    assert.deepEqual(at(ago(-120)), { emit: false, reason: 'Converged' });
  });

  test('a Failed project is retried only once its failure is older than the retry age', () => {
    const failed = (transitionSecondsAgo: number | undefined): LiveProject => {
      const progressing =
        transitionSecondsAgo === undefined
          ? []
          : [condition('Progressing', 'False', 4, ago(transitionSecondsAgo))];
      return project({
        phase: 'Failed',
        observedGeneration: 4,
        conditions: [condition('Ready', 'False'), ...progressing],
      });
    };
    assert.deepEqual(decide(failed(3599)), { emit: false, reason: 'FailedRecently' });
    assert.deepEqual(decide(failed(3600)), { emit: true, reason: 'FailedRetryDue' });
    assert.deepEqual(decide(failed(undefined)), { emit: true, reason: 'FailedRetryDue' });
  });

  test('a Failed project of an older generation is a new generation, retried at once', () => {
    const status: SupabaseProjectStatus = {
      phase: 'Failed',
      observedGeneration: 3,
      conditions: [condition('Progressing', 'False', 3, ago(10))],
    };
    assert.deepEqual(decide(project(status)), { emit: true, reason: 'NewGeneration' });
  });

  test('a project being deleted gets one while our finalizer is on, so finalize retries', () => {
    const deleting = { deletionTimestamp: ago(30) };
    assert.deepEqual(decide(project(converged(), deleting)), { emit: true, reason: 'Deleting' });
    assert.deepEqual(decide(project(converged(), { ...deleting, finalizers: ['other/x'] })), {
      emit: false,
      reason: 'DeletingWithoutFinalizer',
    });
    assert.deepEqual(decide(project(undefined, { ...deleting, finalizers: undefined })), {
      emit: false,
      reason: 'DeletingWithoutFinalizer',
    });
  });
});
