import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextPhase } from './phase.ts';

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
] as const;

for (const [current, proposed, newChain, expected] of cases) {
  test(`phase ${String(current)} + ${proposed}${newChain ? ' (new chain)' : ''} -> ${expected}`, () => {
    assert.equal(nextPhase(current, proposed, newChain), expected);
  });
}
