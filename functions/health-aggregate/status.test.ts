import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { COMPONENTS, type ComponentName } from '../../shared/api/components.ts';
import { COMPONENT_READY_CONDITIONS } from '../../shared/api/conditions.ts';
import { componentResourceName } from '../../shared/api/resource-names.ts';
import type { SupabaseProjectSpec, SupabaseProjectStatus } from '../../shared/api/types.ts';
import { COMPONENT_IDENTITIES } from '../../shared/components/component.ts';
import type { DeploymentState } from '../../shared/k8s/deployments.ts';
import type { LiveProject } from '../../shared/reconcile/project-store.ts';
import type { StoredCondition } from '../../shared/status/conditions.ts';
import { chainMark, healthStatus, type HealthInput } from './status.ts';

const t0 = new Date('2026-11-22T10:00:00.000Z');
const t1 = new Date('2026-11-22T10:05:00.000Z');

function condition(
  type: string,
  status: 'True' | 'False',
  reason: string,
  observedGeneration = 2,
): StoredCondition {
  return {
    type,
    status,
    observedGeneration,
    lastTransitionTime: '2026-11-22T09:00:00Z',
    reason,
    message: 'm',
  };
}

/** The status deploy-components leaves for generation 2 of a first reconciliation. */
const APPLIED: SupabaseProjectStatus = {
  phase: 'DeployingComponents',
  observedGeneration: 2,
  lastTraceId: '0123456789abcdef0123456789abcdef',
  conditions: [
    condition('NetworkReady', 'True', 'ServicesReady'),
    condition('Progressing', 'True', 'ComponentsApplied'),
    condition('Ready', 'False', 'Reconciling'),
  ],
};

function project(
  status: SupabaseProjectStatus | undefined,
  spec: Partial<SupabaseProjectSpec> = {},
  metadata: Partial<LiveProject['metadata']> = {},
): LiveProject {
  return {
    apiVersion: 'supabase.reconciler.dev/v1alpha1',
    kind: 'SupabaseProject',
    metadata: {
      namespace: 'team-a',
      name: 'demo',
      uid: 'u1',
      resourceVersion: '7',
      generation: 2,
      ...metadata,
    },
    spec: { projectId: 'demo', ...spec } as SupabaseProjectSpec,
    ...(status ? { status } : {}),
  };
}

function deployment(
  component: ComponentName,
  overrides: Partial<DeploymentState> = {},
): DeploymentState {
  return {
    name: componentResourceName('demo', component),
    namespace: 'team-a',
    generation: 1,
    ownerUids: ['u1'],
    desiredReplicas: 1,
    images: { [COMPONENT_IDENTITIES[component].container]: `image/${component}:1` },
    observedGeneration: 1,
    replicas: 1,
    updatedReplicas: 1,
    readyReplicas: 1,
    availableReplicas: 1,
    conditions: [],
    ...overrides,
  };
}

const unready: Partial<DeploymentState> = { readyReplicas: 0, availableReplicas: 0 };

function allDeployments(
  overrides: Partial<Record<ComponentName, Partial<DeploymentState>>> = {},
  components: readonly ComponentName[] = COMPONENTS,
): DeploymentState[] {
  return components.map((c) => deployment(c, overrides[c]));
}

/** Runs healthStatus with the mark taken from the same project (no race). */
function compute(p: LiveProject, deployments: DeploymentState[], extra: Partial<HealthInput> = {}) {
  return healthStatus({ project: p, deployments, listedAfter: chainMark(p), now: t0, ...extra });
}

const find = (status: SupabaseProjectStatus, type: string) =>
  status.conditions?.find((c) => c.type === type);

describe('healthStatus', () => {
  test('every component rolled out after deploy-components applied generation 2: Ready, Running, Progressing finished', () => {
    const status = compute(project(APPLIED), allDeployments());
    assert.equal(status.phase, 'Running');
    assert.equal(find(status, 'Ready')?.status, 'True');
    assert.equal(find(status, 'Ready')?.reason, 'ComponentsReady');
    assert.equal(find(status, 'Ready')?.lastTransitionTime, '2026-11-22T10:00:00Z');
    assert.deepEqual(
      [find(status, 'Progressing')?.status, find(status, 'Progressing')?.reason],
      ['False', 'Succeeded'],
    );
    assert.match(find(status, 'Progressing')?.message ?? '', /generation 2 finished/);
    assert.equal(find(status, 'Available')?.status, 'True');
    assert.equal(find(status, 'Degraded')?.status, 'False');
    // What a user reads on the project (kubectl get / describe).
    assert.equal(status.message, 'Running: all 7 enabled components are ready for generation 2');
    assert.equal(
      find(status, 'Ready')?.message,
      'all 7 enabled components are ready for generation 2',
    );
    assert.equal(
      find(status, 'Available')?.message,
      '1/1 Kong Pods available; the API is at http://demo-kong.team-a.svc:8000',
    );
    assert.equal(find(status, 'Degraded')?.message, 'no component is degraded');
    for (const c of COMPONENTS) {
      const ready = find(status, COMPONENT_READY_CONDITIONS[c]);
      assert.equal(ready?.status, 'True', c);
      assert.equal(ready.observedGeneration, 2, c);
      assert.deepEqual(status.components?.[c], {
        enabled: true,
        image: `image/${c}:1`,
        replicas: 1,
        updatedReplicas: 1,
        readyReplicas: 1,
        availableReplicas: 1,
        ready: true,
      });
    }
    assert.equal(status.componentsReady, '7/7');
    assert.deepEqual(status.endpoints, {
      api: 'http://demo-kong.team-a.svc:8000',
      auth: 'http://demo-kong.team-a.svc:8000/auth/v1',
      rest: 'http://demo-kong.team-a.svc:8000/rest/v1',
      realtime: 'http://demo-kong.team-a.svc:8000/realtime/v1',
      storage: 'http://demo-kong.team-a.svc:8000/storage/v1',
      studio: 'http://demo-kong.team-a.svc:8000/',
    });
    // Fields other phases own are kept.
    assert.equal(status.lastTraceId, APPLIED.lastTraceId);
    assert.equal(status.observedGeneration, 2);
    assert.equal(status.lastReconcileTime, undefined);
  });

  test('computing again from its own result, at another time, gives the same status (nothing to write)', () => {
    const deployments = allDeployments({ auth: unready });
    const first = compute(project(APPLIED), deployments);
    const again = healthStatus({
      project: project(first),
      deployments,
      listedAfter: chainMark(project(first)),
      now: t1,
    });
    assert.deepEqual(again, first);
    const ready = compute(project(APPLIED), allDeployments());
    assert.deepEqual(compute(project(ready), allDeployments(), { now: t1 }), ready);
  });

  test('lastReconcileTime only when given (chain events)', () => {
    const status = compute(project(APPLIED), allDeployments(), {
      reconcileTime: '2026-11-22T10:00:00Z',
    });
    assert.equal(status.lastReconcileTime, '2026-11-22T10:00:00Z');
    const kept = compute(project(status), allDeployments());
    assert.equal(kept.lastReconcileTime, '2026-11-22T10:00:00Z');
  });

  test('lastReconcileTime once per chain: a copy of components.deployed after the end moves nothing', () => {
    const ended = compute(project(APPLIED), allDeployments(), {
      reconcileTime: '2026-11-22T10:00:00Z',
    });
    assert.equal(find(ended, 'Progressing')?.status, 'False');
    const copy = compute(project(ended), allDeployments(), {
      now: t1,
      reconcileTime: '2026-11-22T10:05:00Z',
    });
    assert.deepEqual(copy, ended);
    // Finished by a Deployment event first: its components.deployed still records the end.
    const byDeployment = compute(project(APPLIED), allDeployments());
    assert.equal(find(byDeployment, 'Progressing')?.status, 'False');
    const recorded = compute(project(byDeployment), allDeployments(), {
      now: t1,
      reconcileTime: '2026-11-22T10:05:00Z',
    });
    assert.equal(recorded.lastReconcileTime, '2026-11-22T10:05:00Z');
    const older = compute(
      project({ ...byDeployment, lastReconcileTime: '2026-11-22T09:59:59Z' }),
      allDeployments(),
      { now: t1, reconcileTime: '2026-11-22T10:05:00Z' },
    );
    assert.equal(older.lastReconcileTime, '2026-11-22T10:05:00Z');
  });

  test('while Pods start: Ready=False naming them, Progressing left as deploy-components set it, phase kept', () => {
    const status = compute(project(APPLIED), allDeployments({ auth: unready, kong: unready }));
    assert.equal(status.phase, 'DeployingComponents');
    assert.equal(find(status, 'Ready')?.status, 'False');
    assert.equal(find(status, 'Ready')?.reason, 'ComponentsNotReady');
    assert.equal(
      find(status, 'Ready')?.message,
      'waiting for 2 of 7 components: ' +
        'Kong: Pods of Deployment demo-kong are starting: 0/1 ready, 1/1 updated, 0/1 available; ' +
        'Auth (GoTrue): Pods of Deployment demo-auth are starting: 0/1 ready, 1/1 updated, 0/1 available',
    );
    assert.deepEqual(find(status, 'Progressing'), APPLIED.conditions?.[1]);
    assert.equal(find(status, 'Degraded')?.status, 'False');
    assert.equal(find(status, 'Available')?.status, 'False');
    // Why the API does not answer: Kong's own state, not another component's.
    assert.equal(
      find(status, 'Available')?.message,
      'no Kong Pod is available: Pods of Deployment demo-kong are starting: 0/1 ready, 1/1 updated, 0/1 available',
    );
    assert.equal(find(status, 'KongReady')?.reason, 'PodsStarting');
    assert.equal(status.componentsReady, '5/7');
    assert.equal(status.message, 'waiting for kong, auth');
  });

  test('Updating becomes Running when every component is ready', () => {
    const status = compute(project({ ...APPLIED, phase: 'Updating' }), allDeployments());
    assert.equal(status.phase, 'Running');
  });

  test('a component that was ready is not: its condition, Degraded and Ready say which and why; recovery clears them', () => {
    const running = compute(project(APPLIED), allDeployments());
    const broken = allDeployments({
      auth: {
        ...unready,
        conditions: [
          {
            type: 'Available',
            status: 'False',
            reason: 'MinimumReplicasUnavailable',
            message: 'Deployment does not have minimum availability.',
          },
        ],
      },
    });
    const degraded = compute(project(running), broken, { now: t1 });
    assert.equal(find(degraded, 'AuthReady')?.status, 'False');
    assert.equal(find(degraded, 'AuthReady')?.reason, 'PodsUnavailable');
    assert.equal(find(degraded, 'AuthReady')?.lastTransitionTime, '2026-11-22T10:05:00Z');
    const degradedCondition = find(degraded, 'Degraded');
    assert.equal(degradedCondition?.status, 'True');
    assert.equal(degradedCondition.reason, 'ComponentUnavailable');
    assert.match(
      degradedCondition.message,
      /^Auth \(GoTrue\): Pods of Deployment demo-auth are not ready: 0\/1 ready.*MinimumReplicasUnavailable/,
    );
    assert.equal(find(degraded, 'Ready')?.status, 'False');
    assert.equal(find(degraded, 'Ready')?.reason, 'ComponentsDegraded');
    assert.equal(degraded.message, `Degraded: ${degradedCondition.message}`);
    assert.equal(degraded.phase, 'Running');
    assert.deepEqual(find(degraded, 'Progressing'), find(running, 'Progressing'));
    assert.equal(find(degraded, 'KongReady')?.lastTransitionTime, '2026-11-22T10:00:00Z');
    // Still degraded on the next event while it stays so (the condition remembers).
    assert.deepEqual(compute(project(degraded), broken, { now: t1 }), degraded);

    const recovered = compute(project(degraded), allDeployments(), { now: t1 });
    assert.equal(find(recovered, 'AuthReady')?.status, 'True');
    assert.equal(find(recovered, 'Degraded')?.status, 'False');
    assert.equal(find(recovered, 'Ready')?.status, 'True');
    assert.equal(recovered.phase, 'Running');
  });

  test('a rollout past its deadline: Degraded and Progressing say ProgressDeadlineExceeded', () => {
    const stuck = allDeployments({
      storageApi: {
        ...unready,
        updatedReplicas: 1,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "demo-storage-api-1" has timed out progressing.',
          },
        ],
      },
    });
    const status = compute(project(APPLIED), stuck);
    assert.equal(find(status, 'StorageAPIReady')?.reason, 'ProgressDeadlineExceeded');
    assert.equal(find(status, 'Degraded')?.status, 'True');
    assert.equal(find(status, 'Degraded')?.reason, 'ProgressDeadlineExceeded');
    assert.match(
      find(status, 'Degraded')?.message ?? '',
      /^Storage API: .*has timed out progressing/,
    );
    assert.equal(find(status, 'Progressing')?.status, 'False');
    assert.equal(find(status, 'Progressing')?.reason, 'ProgressDeadlineExceeded');
    assert.equal(find(status, 'Ready')?.reason, 'ComponentsDegraded');
    assert.equal(status.phase, 'DeployingComponents');
  });

  test('a chain for a newer generation runs: components and <Component>Ready only, Ready, Progressing and phase left alone', () => {
    const running = compute(project(APPLIED), allDeployments());
    const newChain: SupabaseProjectStatus = {
      ...running,
      phase: 'Updating',
      observedGeneration: 3,
      conditions: (running.conditions ?? []).map((c) =>
        c.type === 'Progressing' ? condition('Progressing', 'True', 'Reconciling', 3) : c,
      ),
    };
    const p = project(newChain, {}, { generation: 3 });
    const status = compute(p, allDeployments({ auth: { ...unready, replicas: 2 } }), { now: t1 });
    assert.equal(status.phase, 'Updating');
    assert.deepEqual(find(status, 'Ready'), find(newChain, 'Ready'));
    assert.deepEqual(find(status, 'Progressing'), find(newChain, 'Progressing'));
    assert.equal(find(status, 'AuthReady')?.reason, 'RollingOut');
    assert.equal(find(status, 'AuthReady')?.observedGeneration, 2, 'the generation applied');
    assert.equal(status.components?.auth?.ready, false);
    assert.equal(status.message, newChain.message);
  });

  test('NetworkReady of an older generation: nothing about the chain is decided', () => {
    const p = project(APPLIED, {}, { generation: 3 });
    const status = compute(p, allDeployments());
    assert.equal(status.phase, 'DeployingComponents');
    assert.deepEqual(find(status, 'Ready'), find(APPLIED, 'Ready'));
  });

  test('the chain moved between the list and the write: the list decides nothing about it', () => {
    // Listed while a chain for generation 2 ran again (NetworkReady already True for it, from
    // the run before); written after deploy-components applied it.
    const before = project({
      ...APPLIED,
      conditions: [
        condition('NetworkReady', 'True', 'ServicesReady'),
        condition('Progressing', 'True', 'Reconciling'),
      ],
    });
    const status = healthStatus({
      project: project(APPLIED),
      deployments: allDeployments(),
      listedAfter: chainMark(before),
      now: t0,
    });
    assert.equal(status.phase, 'DeployingComponents');
    assert.equal(find(status, 'Ready')?.status, 'False');
    assert.equal(find(status, 'KongReady')?.status, 'True');
  });

  test('deploy-components applied the generation between the list and the write: the list decides nothing about the chain', () => {
    // Listed before the chain of generation 2 started (Progressing still as generation 1 left
    // it, NetworkReady of generation 1); the chain ran to deploy-components before the write.
    const before = project({
      phase: 'Running',
      observedGeneration: 1,
      conditions: [
        condition('NetworkReady', 'True', 'ServicesReady', 1),
        condition('Progressing', 'False', 'Succeeded', 1),
      ],
    });
    const status = healthStatus({
      project: project(APPLIED),
      deployments: allDeployments(),
      listedAfter: chainMark(before),
      now: t0,
    });
    assert.equal(status.phase, 'DeployingComponents');
    assert.deepEqual(find(status, 'Ready'), find(APPLIED, 'Ready'));
    assert.deepEqual(find(status, 'Progressing'), find(APPLIED, 'Progressing'));
  });

  test('a chain running again for the current generation: Ready, Progressing and the phase wait for deploy-components', () => {
    // A reconcile request (resync, a corrected Secret) for the generation already applied:
    // validate-deps set Progressing=True Reconciling; NetworkReady is still True for it.
    const rerun: SupabaseProjectStatus = {
      phase: 'ValidatingDependencies',
      observedGeneration: 2,
      conditions: [
        condition('NetworkReady', 'True', 'ServicesReady'),
        condition('Progressing', 'True', 'Reconciling'),
        condition('Ready', 'False', 'Reconciling'),
      ],
    };
    const status = compute(project(rerun), allDeployments());
    assert.equal(status.phase, 'ValidatingDependencies');
    assert.deepEqual(find(status, 'Ready'), find(rerun, 'Ready'));
    assert.deepEqual(find(status, 'Progressing'), find(rerun, 'Progressing'));
    assert.equal(find(status, 'KongReady')?.status, 'True');
    assert.equal(status.message, undefined);
  });

  test('a project no phase has written a status for: components assessed, nothing about the chain', () => {
    const p = project(undefined);
    assert.deepEqual(chainMark(p), {
      generation: 2,
      networkGeneration: undefined,
      chainRunning: false,
    });
    const status = compute(p, []);
    assert.equal(status.phase, undefined);
    assert.equal(find(status, 'Ready'), undefined);
    assert.equal(find(status, 'AuthReady')?.reason, 'DeploymentMissing');
    assert.equal(find(status, 'AuthReady')?.observedGeneration, 2);
    assert.equal(status.componentsReady, '0/7');
    assert.equal(
      find(status, 'Available')?.message,
      'no Kong Pod is available: Deployment demo-kong does not exist yet',
    );
  });

  test('Kong available before deploy-components recorded a run: Available=True, no API address announced', () => {
    // The Deployments are applied but NetworkReady (deploy-components' record of its run) is
    // not written yet: no endpoints are known, so none is named.
    const applying: SupabaseProjectStatus = {
      phase: 'DeployingComponents',
      observedGeneration: 2,
      conditions: [condition('Progressing', 'True', 'Reconciling')],
    };
    const status = compute(project(applying), allDeployments());
    assert.equal(status.endpoints, undefined);
    assert.equal(find(status, 'Available')?.status, 'True');
    assert.equal(find(status, 'Available')?.message, '1/1 Kong Pods available');
    assert.equal(status.phase, 'DeployingComponents');
  });

  test('two degraded components, one past its deadline: Degraded says ProgressDeadlineExceeded and names both', () => {
    const running = compute(project(APPLIED), allDeployments());
    const broken = allDeployments({
      auth: unready,
      storageApi: {
        ...unready,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "demo-storage-api-1" has timed out progressing.',
          },
        ],
      },
    });
    const status = compute(project(running), broken, { now: t1 });
    const degraded = find(status, 'Degraded');
    assert.equal(degraded?.reason, 'ProgressDeadlineExceeded');
    assert.equal(
      degraded.message,
      'Auth (GoTrue): Pods of Deployment demo-auth are not ready: 0/1 ready, 1/1 updated, 0/1 available; ' +
        'Storage API: the rollout of Deployment demo-storage-api made no progress within spec.progressDeadlineSeconds: ' +
        '0/1 ready, 1/1 updated, 0/1 available; Progressing=False (ProgressDeadlineExceeded): ReplicaSet "demo-storage-api-1" has timed out progressing.',
    );
    assert.equal(find(status, 'Progressing')?.reason, 'ProgressDeadlineExceeded');
    assert.match(find(status, 'Progressing')?.message ?? '', /^Storage API: /);
  });

  test('a Failed phase of an older generation: the <Component>Ready conditions report the Deployments again', () => {
    // Generation 1 failed permanently (an applier's conflict on Kong); the user changed the
    // spec (generation 2) and its chain has not got far yet.
    const failedBefore: SupabaseProjectStatus = {
      phase: 'Failed',
      observedGeneration: 1,
      conditions: [
        condition('NetworkReady', 'True', 'ServicesReady', 1),
        condition('Progressing', 'False', 'FieldManagerConflict', 1),
        condition('KongReady', 'False', 'FieldManagerConflict', 1),
      ],
    };
    const status = compute(project(failedBefore), allDeployments());
    assert.equal(status.phase, 'Failed');
    assert.equal(find(status, 'KongReady')?.status, 'True');
    assert.equal(find(status, 'KongReady')?.observedGeneration, 1, 'the generation applied');
    assert.equal(find(status, 'AuthReady')?.status, 'True');
  });

  test('a Failed phase of the current generation is kept, with the <Component>Ready the failure wrote', () => {
    const failed: SupabaseProjectStatus = {
      ...APPLIED,
      phase: 'Failed',
      conditions: [
        ...(APPLIED.conditions ?? []),
        condition('KongReady', 'False', 'FieldManagerConflict'),
      ],
    };
    const status = compute(project(failed), allDeployments());
    assert.equal(status.phase, 'Failed');
    assert.deepEqual(find(status, 'KongReady'), find(failed, 'KongReady'));
    assert.deepEqual(find(status, 'Ready'), find(failed, 'Ready'));
    assert.equal(find(status, 'AuthReady'), undefined);
    assert.equal(status.componentsReady, '7/7');
    assert.equal(find(status, 'Available')?.status, 'True');
  });

  test('a project being deleted is left exactly as it is', () => {
    const p = project(APPLIED, {}, { deletionTimestamp: '2026-11-22T09:59:00Z' });
    assert.deepEqual(compute(p, allDeployments()), APPLIED);
  });

  test('Studio disabled: no StudioReady, components.studio disabled, no Studio endpoint, 6/6', () => {
    const withStudio = compute(project(APPLIED), allDeployments());
    const spec = { studio: { enabled: false } } as Partial<SupabaseProjectSpec>;
    const status = compute(
      project(withStudio, spec),
      allDeployments(
        {},
        COMPONENTS.filter((c) => c !== 'studio'),
      ),
    );
    assert.equal(find(status, 'StudioReady'), undefined);
    assert.deepEqual(status.components?.studio, { enabled: false });
    assert.equal(status.endpoints?.studio, undefined);
    assert.equal(status.componentsReady, '6/6');
    assert.equal(find(status, 'Ready')?.status, 'True');
  });

  test('the public URL: studio.publicUrl, else the Ingress host', () => {
    const pub = compute(
      project(APPLIED, {
        studio: { publicUrl: 'https://supabase.example.com/' },
      }),
      allDeployments(),
    );
    assert.ok(pub.endpoints);
    assert.equal(pub.endpoints.api, 'https://supabase.example.com');
    assert.equal(pub.endpoints.rest, 'https://supabase.example.com/rest/v1');
    const ingress = compute(
      project(APPLIED, {
        ingress: { enabled: true, host: 'api.example.com' },
      }),
      allDeployments(),
    );
    assert.equal(ingress.endpoints?.storage, 'https://api.example.com/storage/v1');
  });

  test('a Deployment owned by another object of the same name counts as missing', () => {
    const status = compute(project(APPLIED), allDeployments({ meta: { ownerUids: ['other'] } }));
    assert.equal(find(status, 'MetaReady')?.reason, 'DeploymentMissing');
    assert.equal(find(status, 'Ready')?.status, 'False');
  });

  test('Kong scaled to 0: ready as asked, but the API is not Available', () => {
    const zero = {
      desiredReplicas: 0,
      replicas: 0,
      updatedReplicas: 0,
      readyReplicas: 0,
      availableReplicas: 0,
    };
    const status = compute(project(APPLIED), allDeployments({ kong: zero }));
    assert.equal(find(status, 'KongReady')?.status, 'True');
    assert.equal(find(status, 'Available')?.status, 'False');
    assert.equal(
      find(status, 'Available')?.message,
      'Kong is scaled to 0 replicas (spec.kong.replicas): nothing answers the API',
    );
  });

  test('NetworkReady False for the current generation: Ready=False says so', () => {
    const status = compute(
      project({
        ...APPLIED,
        conditions: [
          {
            ...condition('NetworkReady', 'False', 'ServicePortsMissing'),
            message: 'Services without ports',
          },
          condition('Progressing', 'True', 'ComponentsApplied'),
        ],
      }),
      allDeployments(),
    );
    assert.equal(find(status, 'Ready')?.reason, 'NetworkNotReady');
    assert.match(find(status, 'Ready')?.message ?? '', /Services without ports/);
    assert.equal(status.phase, 'DeployingComponents');
  });
});
