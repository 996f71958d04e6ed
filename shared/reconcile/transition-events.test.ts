import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredCondition } from '../status/conditions.ts';
import { transitionEvents } from './transition-events.ts';

const at = '2026-01-01T00:00:00Z';
const condition = (
  type: string,
  status: StoredCondition['status'],
  reason: StoredCondition['reason'],
): StoredCondition => ({
  type,
  status,
  reason,
  message: `${type} says ${reason}`,
  lastTransitionTime: at,
});

test('no Event when no condition changed status (a no-op pass, or only the message moved)', () => {
  const before = [
    condition('Ready', 'True', 'Succeeded'),
    condition('Degraded', 'False', 'Succeeded'),
  ];
  const after = [
    { ...condition('Ready', 'True', 'Succeeded'), message: 'another wording' },
    condition('Degraded', 'False', 'Succeeded'),
  ];
  assert.deepEqual(transitionEvents(before, after), []);
});

test('one Event per condition whose status changed, Warning when it turned unhealthy', () => {
  const before = [
    condition('Ready', 'True', 'Succeeded'),
    condition('Degraded', 'False', 'Succeeded'),
  ];
  const after = [
    condition('Ready', 'False', 'Unreachable'),
    condition('Degraded', 'True', 'Unreachable'),
  ];
  assert.deepEqual(transitionEvents(before, after), [
    { type: 'Warning', reason: 'Unreachable', message: 'Ready is False: Ready says Unreachable' },
    {
      type: 'Warning',
      reason: 'Unreachable',
      message: 'Degraded is True: Degraded says Unreachable',
    },
  ]);
  assert.deepEqual(transitionEvents(after, before), [
    { type: 'Normal', reason: 'Succeeded', message: 'Ready is True: Ready says Succeeded' },
    { type: 'Normal', reason: 'Succeeded', message: 'Degraded is False: Degraded says Succeeded' },
  ]);
});

test('a condition appearing healthy says nothing; one appearing unhealthy is a Warning', () => {
  assert.deepEqual(
    transitionEvents(undefined, [condition('SecretsReady', 'True', 'KeysReady')]),
    [],
  );
  assert.deepEqual(transitionEvents([], [condition('Degraded', 'False', 'Succeeded')]), []);
  assert.deepEqual(transitionEvents([], [condition('S3Connected', 'False', 'BucketNotFound')]), [
    {
      type: 'Warning',
      reason: 'BucketNotFound',
      message: 'S3Connected is False: S3Connected says BucketNotFound',
    },
  ]);
});

test('work under way is never a Warning', () => {
  assert.deepEqual(transitionEvents([], [condition('Ready', 'False', 'Reconciling')]), []);
  assert.deepEqual(
    transitionEvents(
      [condition('Ready', 'True', 'Succeeded')],
      [condition('Ready', 'False', 'Terminating')],
    ),
    [{ type: 'Normal', reason: 'Terminating', message: 'Ready is False: Ready says Terminating' }],
  );
  assert.deepEqual(
    transitionEvents(
      [condition('Ready', 'True', 'Succeeded')],
      [condition('Ready', 'False', 'InProgress')],
    ),
    [{ type: 'Normal', reason: 'InProgress', message: 'Ready is False: Ready says InProgress' }],
  );
});
