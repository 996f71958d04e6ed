import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  findCondition,
  isConditionTrue,
  setCondition,
  setConditions,
  toKubeTime,
} from './conditions.ts';

const t0 = new Date('2026-06-20T09:41:07.512Z');
const t1 = new Date('2026-06-20T09:45:00.000Z');
const ready = {
  type: 'Ready',
  status: 'False',
  observedGeneration: 1,
  reason: 'InProgress',
  message: 'starting',
} as const;

test('times are stored with whole seconds, as the API server stores metav1.Time', () => {
  assert.equal(toKubeTime(t0), '2026-06-20T09:41:07Z');
});

test('a new condition is added with the transition time', () => {
  assert.deepEqual(setCondition(undefined, ready, t0), [
    { ...ready, lastTransitionTime: '2026-06-20T09:41:07Z' },
  ]);
});

test('lastTransitionTime stays when only reason, message or generation change', () => {
  const first = setCondition([], ready, t0);
  const second = setCondition(
    first,
    { ...ready, observedGeneration: 2, reason: 'Failed', message: 'x' },
    t1,
  );
  const [condition] = second;
  assert.ok(condition);
  assert.equal(condition.lastTransitionTime, '2026-06-20T09:41:07Z');
  assert.equal(condition.observedGeneration, 2);
  assert.equal(condition.message, 'x');
});

test('lastTransitionTime moves when status changes', () => {
  const first = setCondition([], ready, t0);
  const second = setCondition(
    first,
    { ...ready, status: 'True', reason: 'Succeeded', message: 'ok' },
    t1,
  );
  assert.equal(second[0]?.lastTransitionTime, '2026-06-20T09:45:00Z');
});

test('other types are left exactly as they were, in their order', () => {
  const others = setConditions(
    [],
    [
      { type: 'A', status: 'True', observedGeneration: 1, reason: 'Succeeded', message: 'a' },
      { type: 'B', status: 'False', observedGeneration: 1, reason: 'Succeeded', message: 'b' },
    ],
    t0,
  );
  const merged = setCondition(
    others,
    { type: 'A', status: 'False', observedGeneration: 2, reason: 'Failed', message: 'a2' },
    t1,
  );
  assert.deepEqual(
    merged.map((c) => c.type),
    ['A', 'B'],
  );
  assert.deepEqual(merged[1], others[1]);
  assert.equal(others[0]!.status, 'True', 'the input list is not modified');
});

test('isConditionTrue honours the generation', () => {
  const list = setCondition([], { ...ready, status: 'True', observedGeneration: 3 }, t0);
  assert.equal(isConditionTrue(list, 'Ready'), true);
  assert.equal(isConditionTrue(list, 'Ready', 3), true);
  assert.equal(isConditionTrue(list, 'Ready', 4), false);
  assert.equal(isConditionTrue(list, 'Missing'), false);
  assert.equal(findCondition(list, 'Missing'), undefined);
});
