import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SupabaseProjectStatus } from '../../shared/api/index.ts';
import type { ReceivedEvent } from '../../shared/events/index.ts';
import type { LiveProject, PhaseTarget } from '../../shared/reconcile/index.ts';
import { PermanentError, RateLimitedError, TransientError } from '../../shared/runtime/errors.ts';
import type { CheckResult } from './checks.ts';
import {
  chainStart,
  clearedSecretFailures,
  dependencyCondition,
  dependencyRecord,
  ownsPhase,
  startsChain,
} from './status.ts';

const key = { namespace: 'team-a', name: 'demo' };
const t0 = new Date('2026-11-22T10:00:00.400Z');
const t1 = new Date('2026-11-22T10:05:00.000Z');

function target(
  status: SupabaseProjectStatus | undefined,
  annotations?: Record<string, string>,
  generation = 2,
): PhaseTarget {
  const project = {
    apiVersion: 'supabase.reconciler.dev/v1alpha1',
    kind: 'SupabaseProject',
    metadata: {
      ...key,
      uid: 'u1',
      resourceVersion: '1',
      generation,
      ...(annotations ? { annotations } : {}),
    },
    spec: {} as LiveProject['spec'],
    ...(status ? { status } : {}),
  } as LiveProject;
  return { key, uid: 'u1', generation, project };
}

const resource = { kind: 'resource' } as ReceivedEvent;
const requestEvent = { kind: 'chain' } as ReceivedEvent;
const progressing = (status: 'True' | 'False', observedGeneration = 2) => ({
  type: 'Progressing',
  status,
  observedGeneration,
  lastTransitionTime: '2026-11-22T09:00:00Z',
  reason: 'R',
  message: 'm',
});

describe('startsChain', () => {
  const cases: [string, ReceivedEvent, PhaseTarget, boolean][] = [
    ['never reconciled', resource, target(undefined), true],
    ['a new generation', resource, target({ observedGeneration: 1 }), true],
    ['a repeat of the same generation', resource, target({ observedGeneration: 2 }), false],
    [
      'an unhandled reconcile request',
      resource,
      target({ observedGeneration: 2 }, { 'supabase.reconciler.dev/requestedAt': 'x' }),
      true,
    ],
    [
      'a handled reconcile request',
      resource,
      target(
        { observedGeneration: 2, lastHandledReconcileAt: 'x' },
        { 'supabase.reconciler.dev/requestedAt': 'x' },
      ),
      false,
    ],
    [
      'a reconcile request event while the chain runs',
      requestEvent,
      target({ observedGeneration: 2, conditions: [progressing('True')] }),
      false,
    ],
    [
      'a reconcile request event after the chain stopped',
      requestEvent,
      target({ observedGeneration: 2, conditions: [progressing('False')] }),
      true,
    ],
    [
      'a reconcile request made before the last reconciliation ended (resync listed it running)',
      { kind: 'chain', time: '2026-11-22T09:00:00.500Z' } as ReceivedEvent,
      target({
        observedGeneration: 2,
        conditions: [progressing('False')],
        lastReconcileTime: '2026-11-22T09:00:01Z',
      }),
      false,
    ],
    [
      'a reconcile request made after the last reconciliation ended (due by age, or failed)',
      { kind: 'chain', time: '2026-11-22T09:00:01.500Z' } as ReceivedEvent,
      target({
        observedGeneration: 2,
        conditions: [progressing('False')],
        lastReconcileTime: '2026-11-22T09:00:01Z',
      }),
      true,
    ],
    [
      'a reconcile request in the second the last reconciliation ended (whole seconds: restart)',
      { kind: 'chain', time: '2026-11-22T09:00:01.000Z' } as ReceivedEvent,
      target({
        observedGeneration: 2,
        conditions: [progressing('False')],
        lastReconcileTime: '2026-11-22T09:00:01Z',
      }),
      true,
    ],
    [
      'a request about a chain under way, that chain ended since (failed: no lastReconcileTime)',
      { kind: 'chain', runningTrace: 'a'.repeat(32) } as ReceivedEvent,
      target({
        observedGeneration: 2,
        conditions: [progressing('False')],
        lastTraceId: 'a'.repeat(32),
      }),
      false,
    ],
    [
      'a request about a chain under way, another chain ended since',
      { kind: 'chain', runningTrace: 'a'.repeat(32) } as ReceivedEvent,
      target({
        observedGeneration: 2,
        conditions: [progressing('False')],
        lastTraceId: 'b'.repeat(32),
      }),
      true,
    ],
    [
      'a reconcile request without a time',
      requestEvent,
      target({
        observedGeneration: 2,
        conditions: [progressing('False')],
        lastReconcileTime: '2026-11-22T09:00:01Z',
      }),
      true,
    ],
  ];
  for (const [name, event, t, expected] of cases) {
    test(`${name}: ${expected}`, () => {
      assert.equal(startsChain(event, t), expected);
    });
  }
});

describe('chainStart', () => {
  test('records generation, trace, handled requests; Updating after Running', () => {
    const change = chainStart(
      target({ phase: 'Running' }, { 'supabase.reconciler.dev/requestedAt': 'r1' }),
      'a'.repeat(32),
    );
    assert.equal(change.phase, 'Updating');
    assert.deepEqual(change.fields, {
      observedGeneration: 2,
      lastTraceId: 'a'.repeat(32),
      lastHandledReconcileAt: 'r1',
    });
    assert.deepEqual(
      change.conditions?.map((c) => [c.type, c.status, c.reason]),
      [
        ['Progressing', 'True', 'Reconciling'],
        ['Ready', 'False', 'Reconciling'],
      ],
    );
  });

  test('a first chain is ValidatingDependencies; no trace id when the span has none', () => {
    const change = chainStart(target(undefined), undefined);
    assert.equal(change.phase, 'ValidatingDependencies');
    assert.deepEqual(change.fields, { observedGeneration: 2 });
  });
});

describe('dependencyRecord', () => {
  const ok: CheckResult = { ok: true, reached: 'x', latencyMs: 12 };
  const down: CheckResult = { ok: false, error: new TransientError('refused') };
  const previous = { connected: true, latencyMs: 3, lastConnectedTime: '2026-11-22T09:00:00Z' };

  test('a new chain records latency and time', () => {
    assert.deepEqual(dependencyRecord(previous, ok, t0, true), {
      connected: true,
      latencyMs: 12,
      lastConnectedTime: '2026-11-22T10:00:00Z',
    });
  });

  test('a repeat within the chain keeps them: no churn', () => {
    assert.deepEqual(dependencyRecord(previous, ok, t1, false), previous);
  });

  test('a repeat that reconnects after a failure records them', () => {
    const failed = dependencyRecord(previous, down, t0, false);
    assert.deepEqual(failed, {
      connected: false,
      error: 'refused',
      lastConnectedTime: '2026-11-22T09:00:00Z',
    });
    assert.deepEqual(dependencyRecord(failed, ok, t1, false), {
      connected: true,
      latencyMs: 12,
      lastConnectedTime: '2026-11-22T10:05:00Z',
    });
  });
});

test('dependencyCondition: reason from the error kind', () => {
  const reasons = [
    { ok: true, reached: 'db', latencyMs: 1 },
    { ok: false, error: new PermanentError('BucketNotFound', 'gone') },
    { ok: false, error: new RateLimitedError('slow') },
    { ok: false, error: new TransientError('down') },
  ].map((r) => dependencyCondition('S3Connected', r as CheckResult, 3));
  assert.deepEqual(
    reasons.map((c) => [c.status, c.reason, c.message, c.observedGeneration]),
    [
      ['True', 'Connected', 'connected to db', 3],
      ['False', 'BucketNotFound', 'gone', 3],
      ['False', 'RateLimited', 'slow', 3],
      ['False', 'Unreachable', 'down', 3],
    ],
  );
});

describe('ownsPhase', () => {
  const failedBy = (type: string, reason = 'X') => ({
    phase: 'Failed' as const,
    conditions: [{ ...progressing('False'), type, reason }],
  });
  const cases: [SupabaseProjectStatus | undefined, boolean][] = [
    [undefined, true],
    [{ phase: 'ValidatingDependencies' }, true],
    [{ phase: 'Updating' }, true],
    [{ phase: 'DeployingSecrets' }, false],
    [{ phase: 'Running' }, false],
    [failedBy('S3Connected'), true],
    [failedBy('DatabaseInitialized'), false],
    [failedBy('StudioReady', 'SecretNotFound'), true],
    [failedBy('StudioReady', 'CrashLoop'), false],
    [failedBy('AuthReady', 'SecretKeyMissing'), true],
    [failedBy('AuthReady', 'PodsUnavailable'), false],
  ];
  for (const [status, expected] of cases) {
    test(`${JSON.stringify(status)}: ${expected}`, () => {
      assert.equal(ownsPhase(status), expected);
    });
  }
});

test('clearedSecretFailures resets only a Secret failure of StudioReady or AuthReady', () => {
  const failed = (type: string, reason: string) => ({
    conditions: [{ ...progressing('False'), type, reason }],
  });
  const studio = clearedSecretFailures(failed('StudioReady', 'SecretKeyMissing'), 2);
  assert.deepEqual(
    studio.map((c) => [c.type, c.status, c.reason]),
    [['StudioReady', 'Unknown', 'Pending']],
  );
  const auth = clearedSecretFailures(failed('AuthReady', 'SmtpSenderInvalid'), 2);
  assert.deepEqual(
    auth.map((c) => [c.type, c.status, c.message]),
    [['AuthReady', 'Unknown', 'the SMTP Secret is usable now; Auth is not deployed yet']],
  );
  assert.deepEqual(clearedSecretFailures(failed('StudioReady', 'CrashLoop'), 2), []);
  assert.deepEqual(clearedSecretFailures(failed('AuthReady', 'PodsUnavailable'), 2), []);
  assert.deepEqual(clearedSecretFailures(undefined, 2), []);
});
