import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMPONENTS } from './components.ts';
import { COMPONENT_READY_CONDITIONS, CONDITION_TYPES, isConditionType } from './conditions.ts';
import { isPhase, PHASES } from './phases.ts';

test('the condition types of docs/architecture.md, one <Component>Ready per component', () => {
  assert.equal(CONDITION_TYPES.length, 9 + COMPONENTS.length);
  assert.equal(new Set(CONDITION_TYPES).size, CONDITION_TYPES.length);
  for (const component of COMPONENTS) {
    assert.ok(isConditionType(COMPONENT_READY_CONDITIONS[component]));
  }
  assert.ok(isConditionType('DatabaseInitialized'));
  assert.ok(!isConditionType('Configured'));
});

test('the phases of docs/architecture.md', () => {
  assert.equal(PHASES.length, 9);
  assert.ok(isPhase('ValidatingDependencies'));
  assert.ok(!isPhase('DeployingNetwork'), 'the reference operator phase we do not use');
});
