import assert from 'node:assert/strict';
import { test } from 'node:test';
import { messageApplies, nextPhase } from './phase.ts';

const cases = [
  // current, proposed, newChain, expected
  [undefined, 'ValidatingDependencies', false, 'ValidatingDependencies'],
  ['InitializingDatabase', 'DeployingSecrets', false, 'DeployingSecrets'],
  ['DeployingComponents', 'DeployingSecrets', false, 'DeployingComponents'], // late duplicate
  ['Running', 'InitializingDatabase', false, 'Running'], // late duplicate
  ['Running', 'Updating', true, 'Updating'], // a new generation starts over
  ['Updating', 'DeployingSecrets', false, 'Updating'],
  ['Updating', 'Running', false, 'Running'],
  ['DeployingSecrets', 'Failed', false, 'Failed'],
  ['Failed', 'DeployingSecrets', false, 'DeployingSecrets'],
  ['Terminating', 'DeployingSecrets', false, 'Terminating'],
  ['Pending', 'ValidatingDependencies', false, 'ValidatingDependencies'],
  ['Running', 'Pending', false, 'Running'], // late duplicate of the very first phase
  ['Running', 'Running', false, 'Running'],
  ['DeployingComponents', 'Running', false, 'Running'],
  ['Running', 'Updating', false, 'Updating'], // Updating is not a step of the chain
  ['Updating', 'Failed', false, 'Failed'],
  ['Updating', 'Updating', false, 'Updating'],
  ['Updating', 'Terminating', false, 'Terminating'],
  ['Running', 'Terminating', false, 'Terminating'],
  ['Failed', 'Running', false, 'Running'],
  ['Terminating', 'Running', false, 'Terminating'],
  ['DeployingSecrets', 'InitializingDatabase', true, 'InitializingDatabase'], // new chain
] as const;

for (const [current, proposed, newChain, expected] of cases) {
  test(`phase ${String(current)} + ${proposed}${newChain ? ' (new chain)' : ''} -> ${expected}`, () => {
    assert.equal(nextPhase(current, proposed, newChain), expected);
  });
}

test('a phase message is written with its phase, not under a phase that was held', () => {
  assert.equal(messageApplies(undefined, undefined), true);
  assert.equal(messageApplies('DeployingSecrets', 'DeployingSecrets'), true);
  assert.equal(messageApplies('DeployingSecrets', 'Updating'), true);
  // A late copy of init-db's or secrets' event under Running, and anything while deleting.
  assert.equal(messageApplies('DeployingSecrets', 'Running'), false);
  assert.equal(messageApplies('DeployingComponents', 'Running'), false);
  assert.equal(messageApplies('DeployingSecrets', 'Terminating'), false);
});
