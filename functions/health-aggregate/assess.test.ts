import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DeploymentState } from '../../shared/k8s/deployments.ts';
import type { StoredCondition } from '../../shared/status/conditions.ts';
import { assessComponent, wasReady } from './assess.ts';

/** A rolled-out Deployment of Auth with one replica; fields overridden per case. */
function auth(overrides: Partial<DeploymentState> = {}): DeploymentState {
  return {
    name: 'demo-auth',
    namespace: 'team-a',
    generation: 2,
    ownerUids: ['u1'],
    desiredReplicas: 1,
    images: { auth: 'supabase/gotrue:v2.177.0' },
    observedGeneration: 2,
    replicas: 1,
    updatedReplicas: 1,
    readyReplicas: 1,
    availableReplicas: 1,
    conditions: [
      { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'ok' },
      { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: 'ok' },
    ],
    ...overrides,
  };
}

const previous = (status: 'True' | 'False', reason: string): StoredCondition => ({
  type: 'AuthReady',
  status,
  observedGeneration: 2,
  lastTransitionTime: '2026-11-22T09:00:00Z',
  reason,
  message: 'm',
});

const unavailable = [
  {
    type: 'Available',
    status: 'False',
    reason: 'MinimumReplicasUnavailable',
    message: 'Deployment does not have minimum availability.',
  },
  { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: 'done' },
];

describe('assessComponent', () => {
  test('a rolled-out Deployment is ready, with its image and every count', () => {
    const health = assessComponent('auth', 'demo', auth(), undefined);
    assert.equal(health.ready, true);
    assert.equal(health.degraded, false);
    assert.equal(health.reason, 'ComponentReady');
    assert.deepEqual(health.status, {
      enabled: true,
      image: 'supabase/gotrue:v2.177.0',
      replicas: 1,
      updatedReplicas: 1,
      readyReplicas: 1,
      availableReplicas: 1,
      ready: true,
    });
  });

  test('a ready component says how many Pods of which Deployment are ready', () => {
    const health = assessComponent(
      'auth',
      'demo',
      auth({
        desiredReplicas: 2,
        replicas: 2,
        updatedReplicas: 2,
        readyReplicas: 2,
        availableReplicas: 2,
      }),
      undefined,
    );
    assert.equal(health.message, '2/2 Pods of Deployment demo-auth ready and up to date');
    assert.equal(
      health.status.message,
      undefined,
      'a ready component has no message in status.components',
    );
  });

  test('replicas 0 is ready: what the spec asks for holds', () => {
    const zero = auth({
      desiredReplicas: 0,
      replicas: 0,
      updatedReplicas: 0,
      readyReplicas: 0,
      availableReplicas: 0,
    });
    const health = assessComponent('auth', 'demo', zero, undefined);
    assert.equal(health.ready, true);
    assert.match(health.message, /scaled to 0/);
  });

  const cases: [
    string,
    DeploymentState | undefined,
    StoredCondition | undefined,
    string,
    boolean,
  ][] = [
    ['no Deployment yet', undefined, undefined, 'DeploymentMissing', false],
    [
      'no Deployment yet, after a rollout',
      undefined,
      previous('False', 'RollingOut'),
      'DeploymentMissing',
      false,
    ],
    [
      'the Deployment of a ready component is gone',
      undefined,
      previous('True', 'ComponentReady'),
      'DeploymentLost',
      true,
    ],
    [
      'the controller has not seen the new spec',
      auth({ observedGeneration: 1 }),
      previous('True', 'ComponentReady'),
      'RollingOut',
      false,
    ],
    [
      'a new template is not on every Pod',
      auth({ updatedReplicas: 0 }),
      previous('True', 'ComponentReady'),
      'RollingOut',
      false,
    ],
    [
      'an old Pod is left',
      auth({ replicas: 2 }),
      previous('True', 'ComponentReady'),
      'RollingOut',
      false,
    ],
    [
      'first start, not ready yet',
      auth({ readyReplicas: 0, availableReplicas: 0 }),
      undefined,
      'PodsStarting',
      false,
    ],
    [
      'first start after a rollout',
      auth({ readyReplicas: 0, availableReplicas: 0 }),
      previous('False', 'RollingOut'),
      'PodsStarting',
      false,
    ],
    [
      'was ready, Pods unready',
      auth({ readyReplicas: 0, availableReplicas: 0, conditions: unavailable }),
      previous('True', 'ComponentReady'),
      'PodsUnavailable',
      true,
    ],
    [
      'still unready since',
      auth({ readyReplicas: 0, availableReplicas: 0 }),
      previous('False', 'PodsUnavailable'),
      'PodsUnavailable',
      true,
    ],
    [
      'ready but not yet available (minReadySeconds)',
      auth({ availableReplicas: 0 }),
      previous('True', 'ComponentReady'),
      'PodsUnavailable',
      true,
    ],
    [
      'the rollout exceeded its deadline',
      auth({
        updatedReplicas: 1,
        replicas: 2,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "demo-auth-5c9" has timed out progressing.',
          },
        ],
      }),
      undefined,
      'ProgressDeadlineExceeded',
      true,
    ],
  ];
  for (const [what, deployment, before, reason, degraded] of cases) {
    test(`${what}: ${reason}${degraded ? ', degraded' : ''}`, () => {
      const health = assessComponent('auth', 'demo', deployment, before);
      assert.equal(health.ready, false);
      assert.equal(health.reason, reason);
      assert.equal(health.degraded, degraded);
      assert.match(health.message, /demo-auth/);
      assert.equal(health.status.ready, false);
      assert.equal(health.status.message, health.message);
    });
  }

  test('no Deployment: status.components lists the component as enabled, not ready, and says why', () => {
    assert.deepEqual(assessComponent('auth', 'demo', undefined, undefined).status, {
      enabled: true,
      ready: false,
      message: 'Deployment demo-auth does not exist yet',
    });
    assert.deepEqual(
      assessComponent('auth', 'demo', undefined, previous('True', 'ComponentReady')).status,
      {
        enabled: true,
        ready: false,
        message: 'Deployment demo-auth was deleted; the next reconciliation applies it again',
      },
    );
  });

  test('a rollout that left old Pods says how many', () => {
    const health = assessComponent(
      'auth',
      'demo',
      auth({
        desiredReplicas: 2,
        replicas: 5,
        updatedReplicas: 2,
        readyReplicas: 2,
        availableReplicas: 2,
      }),
      previous('True', 'ComponentReady'),
    );
    assert.equal(
      health.message,
      'Deployment demo-auth is rolling out: 2/2 ready, 2/2 updated, 2/2 available, 3 old Pod(s) left',
    );
  });

  test('a ReplicaSet the controller could not create (Progressing=False, not the deadline) is rolling out, not degraded', () => {
    // The deployment controller's condition when creating the new ReplicaSet fails (quota,
    // an admission webhook): Progressing=False with reason ReplicaSetCreateError.
    const health = assessComponent(
      'auth',
      'demo',
      auth({
        generation: 3,
        observedGeneration: 3,
        updatedReplicas: 0,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ReplicaSetCreateError',
            message: 'Failed to create new replica set "demo-auth-7d4": exceeded quota',
          },
        ],
      }),
      previous('True', 'ComponentReady'),
    );
    assert.equal(health.reason, 'RollingOut');
    assert.equal(health.degraded, false);
    assert.match(
      health.message,
      /Progressing=False \(ReplicaSetCreateError\): Failed to create new replica set "demo-auth-7d4": exceeded quota$/,
    );
  });

  test('a Deployment condition without reason or message is quoted by type and status', () => {
    const health = assessComponent(
      'auth',
      'demo',
      auth({
        readyReplicas: 0,
        availableReplicas: 0,
        conditions: [{ type: 'Available', status: 'False' }],
      }),
      undefined,
    );
    assert.equal(
      health.message,
      'Pods of Deployment demo-auth are starting: 0/1 ready, 1/1 updated, 0/1 available; Available=False',
    );
  });

  test("an unready component says why, from the Deployment's own conditions and counts", () => {
    const health = assessComponent(
      'auth',
      'demo',
      auth({ readyReplicas: 0, availableReplicas: 0, conditions: unavailable }),
      previous('True', 'ComponentReady'),
    );
    assert.equal(
      health.message,
      'Pods of Deployment demo-auth are not ready: 0/1 ready, 1/1 updated, 0/1 available; Available=False (MinimumReplicasUnavailable): Deployment does not have minimum availability.',
    );
  });

  test("a deadline names the controller's message", () => {
    const health = assessComponent(
      'auth',
      'demo',
      auth({
        readyReplicas: 0,
        availableReplicas: 0,
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'ProgressDeadlineExceeded',
            message: 'ReplicaSet "demo-auth-5c9" has timed out progressing.',
          },
        ],
      }),
      undefined,
    );
    assert.match(health.message, /spec\.progressDeadlineSeconds/);
    assert.match(
      health.message,
      /Progressing=False \(ProgressDeadlineExceeded\): ReplicaSet "demo-auth-5c9" has timed out progressing\./,
    );
  });

  test('a ReplicaFailure (quota, admission) is quoted', () => {
    const health = assessComponent(
      'auth',
      'demo',
      auth({
        updatedReplicas: 0,
        replicas: 0,
        readyReplicas: 0,
        availableReplicas: 0,
        conditions: [
          {
            type: 'ReplicaFailure',
            status: 'True',
            reason: 'FailedCreate',
            message: 'exceeded quota',
          },
        ],
      }),
      undefined,
    );
    assert.match(health.message, /ReplicaFailure=True \(FailedCreate\): exceeded quota/);
  });
});

describe('wasReady', () => {
  test('True, and False for a reason that means it stopped being ready', () => {
    assert.equal(wasReady(undefined), false);
    assert.equal(wasReady(previous('True', 'ComponentReady')), true);
    assert.equal(wasReady(previous('False', 'PodsUnavailable')), true);
    assert.equal(wasReady(previous('False', 'DeploymentLost')), true);
    assert.equal(wasReady(previous('False', 'PodsStarting')), false);
    assert.equal(wasReady(previous('False', 'ProgressDeadlineExceeded')), false);
    assert.equal(wasReady(previous('False', 'FieldManagerConflict')), false);
  });
});
