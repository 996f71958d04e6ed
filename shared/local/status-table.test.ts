import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lastError, renderStatusTable } from './status-table.ts';

const at = '2026-01-01T00:00:00Z';
const project = (namespace: string, name: string, status: Record<string, unknown> | undefined) =>
  ({ metadata: { namespace, name }, status }) as Parameters<typeof renderStatusTable>[0][number];

test('one row per project, sorted, with phase, ready components, trace id and the failing condition', () => {
  const table = renderStatusTable([
    project('team-b', 'shop', {
      phase: 'Failed',
      conditions: [
        {
          type: 'Ready',
          status: 'False',
          reason: 'BucketNotFound',
          message: 'x',
          lastTransitionTime: at,
        },
        {
          type: 'S3Connected',
          status: 'False',
          reason: 'BucketNotFound',
          message: 'bucket b does not exist',
          lastTransitionTime: at,
        },
      ],
    }),
    project('team-a', 'demo', {
      phase: 'Running',
      componentsReady: '7/7',
      lastTraceId: 'f'.repeat(32),
    }),
    project('team-a', 'new', undefined),
  ]);
  assert.deepEqual(table.trimEnd().split('\n'), [
    'NAMESPACE   NAME   PHASE     READY   TRACE ID                           LAST ERROR',
    `team-a      demo   Running   7/7     ${'f'.repeat(32)}`,
    'team-a      new    Pending   -       -',
    'team-b      shop   Failed    -       -                                  S3Connected BucketNotFound: bucket b does not exist',
  ]);
});

test('work under way is not an error; Degraded=True is', () => {
  const condition = (type: string, status: string, reason: string) => ({
    type,
    status,
    reason,
    message: 'm',
    lastTransitionTime: at,
  });
  assert.equal(
    lastError({
      status: {
        conditions: [
          condition('Progressing', 'True', 'Reconciling'),
          condition('KongReady', 'False', 'PodsStarting'),
          condition('AuthReady', 'False', 'PodsUnavailable'),
        ],
      },
    } as never),
    'AuthReady PodsUnavailable: m',
  );
  assert.equal(
    lastError({
      status: {
        conditions: [
          condition('Ready', 'False', 'ComponentsNotReady'),
          condition('Degraded', 'False', 'AsExpected'),
        ],
      },
    } as never),
    '',
  );
  assert.equal(
    lastError({
      status: { conditions: [condition('Degraded', 'True', 'ComponentUnavailable')] },
    } as never),
    'Degraded ComponentUnavailable: m',
  );
});

test('no project: says so', () => {
  assert.equal(renderStatusTable([]), 'No SupabaseProjects found.\n');
});
