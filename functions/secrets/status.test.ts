import assert from 'node:assert/strict';
import { test } from 'node:test';
import { phaseMessage, secretsReadyMessage, showRequest } from './status.ts';

const generatedDashboard = { source: { name: 'demo-dashboard-basic-auth', generated: true } };

test('a rotation request is quoted, escaped and cut in status', () => {
  assert.equal(showRequest('2026-06-01'), '"2026-06-01"');
  assert.equal(showRequest('a\nb'), '"a\\nb"');
  assert.equal(showRequest('x'.repeat(100)), `"${'x'.repeat(64)}…"`);
});

test('the messages depend only on state, so a repeat run computes the same status', () => {
  const jwt = { name: 'demo-jwt', managed: true, rotatedFor: 'r1' };
  assert.equal(
    secretsReadyMessage(jwt, generatedDashboard, 'r1'),
    secretsReadyMessage({ ...jwt }, { ...generatedDashboard }, 'r1'),
  );
  assert.match(secretsReadyMessage(jwt, generatedDashboard, 'r1'), /rotation request "r1"/);
  assert.doesNotMatch(secretsReadyMessage(jwt, generatedDashboard, undefined), /rotation/);
  assert.equal(phaseMessage(jwt, undefined), 'Secrets ready; deploying components');
  assert.match(phaseMessage(jwt, 'r1'), /rotated for request "r1"/);
});

test('a provided Secret: a pending rotation request is reported as ignored', () => {
  const jwt = { name: 'demo-jwt', managed: false, rotatedFor: undefined };
  assert.match(secretsReadyMessage(jwt, generatedDashboard, 'r2'), /"r2" ignored/);
  assert.doesNotMatch(phaseMessage(jwt, 'r2'), /rotated/);
});
