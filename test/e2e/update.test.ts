/**
 * End to end, scenario 2: a Running project's spec is updated (one component's image, another's
 * replicas, a third's extraEnv) under the local runtime. Only the Deployments whose pod
 * template changed roll (a new template); the scaled one moves its generation without a new
 * template; the others are not touched at all. The phase goes through Updating and back to
 * Running, with observedGeneration and Ready following the new generation, in one new trace.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { componentResourceName } from '../../shared/api/resource-names.ts';
import { COMPONENTS } from '../../shared/api/components.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { projectOnTestServers } from '../fixtures/chain.ts';
import { startRuntimeInFreshNamespace, type TestRuntime } from '../fixtures/local-runtime.ts';
import { patchProject } from '../fixtures/project.ts';
import {
  chainTraces,
  deploymentShapes,
  isRunningAndReady,
  readProject,
  recordPhases,
  waitForChainsToEnd,
  waitForProject,
} from './support.ts';

let namespace: string;
let local: TestRuntime;

before(async () => {
  ({ namespace, local } = await startRuntimeInFreshNamespace('e2e-update'));
});

after(async () => {
  await local.stop();
});

test('update: only the changed Deployments roll; Updating, then Running for generation 2', async () => {
  await projectOnTestServers(namespace, 'e2e_update');
  const first = await waitForProject(namespace, 'demo', isRunningAndReady);
  assert.equal(first.metadata.generation, 1);
  const before = await deploymentShapes(namespace);
  assert.equal(before.size, COMPONENTS.length);

  const phases = await recordPhases(namespace, 'demo');
  try {
    await patchProject(namespace, 'demo', {
      spec: {
        auth: { image: 'supabase/gotrue:v2.180.0' },
        kong: { replicas: 2 },
        postgrest: { extraEnv: [{ name: 'PGRST_DB_MAX_ROWS', value: '500' }] },
      },
    });
    await waitForProject(
      namespace,
      'demo',
      (p) => p.metadata.generation === 2 && isRunningAndReady(p),
    );
    // A status write landing between the spec change and the chain's first write carries the
    // new generation unobserved, so the update may start a second (idempotent) chain: let
    // every chain finish before judging the final state.
    await waitForChainsToEnd(local.lines, namespace, 'demo');
    const updated = (await readProject(namespace, 'demo'))!;
    assert.ok(isRunningAndReady(updated), JSON.stringify(updated.status));
    const status = updated.status!;
    assert.equal(status.observedGeneration, 2);
    assert.equal(status.componentsReady, '7/7');
    for (const type of ['Ready', 'Available', 'NetworkReady', 'AuthReady', 'KongReady']) {
      const condition = status.conditions?.find((c) => c.type === type);
      assert.equal(condition?.status, 'True', `${type}: ${JSON.stringify(condition)}`);
      assert.equal(condition.observedGeneration, 2, `${type}: ${JSON.stringify(condition)}`);
    }
    assert.equal(status.conditions?.find((c) => c.type === 'Progressing')?.status, 'False');
    // Running → Updating → ... → Running: never back through the first reconciliation's phases.
    assert.equal(phases.phases[0], 'Running', phases.phases.join(' → '));
    assert.ok(phases.phases.includes('Updating'), phases.phases.join(' → '));
    assert.equal(phases.phases.at(-1), 'Running', phases.phases.join(' → '));
    for (const phase of ['ValidatingDependencies', 'InitializingDatabase', 'Failed'] as const) {
      assert.ok(!phases.phases.includes(phase), phases.phases.join(' → '));
    }

    // Only what changed moved.
    const after = await deploymentShapes(namespace);
    const rolled = ['auth', 'postgrest'].map((c) => componentResourceName('demo', c as 'auth'));
    const scaled = componentResourceName('demo', 'kong');
    for (const [name, was] of before) {
      const now = after.get(name)!;
      if (rolled.includes(name)) {
        assert.notEqual(now.templateHash, was.templateHash, `${name} has a new pod template`);
        assert.ok(now.generation > was.generation, `${name} generation moved`);
      } else if (name === scaled) {
        assert.equal(now.templateHash, was.templateHash, `${name} scaled without a rollout`);
        assert.equal(now.replicas, 2);
        assert.equal(now.generation, was.generation + 1, `${name} generation moved once`);
      } else {
        assert.deepEqual(now, was, `${name} untouched (same generation and resourceVersion)`);
      }
    }
    const auth = status.components?.auth;
    assert.equal(auth?.image, 'supabase/gotrue:v2.180.0', JSON.stringify(status.components));
    assert.equal(status.components?.kong?.replicas, 2, JSON.stringify(status.components));

    // The update is its own reconciliation: a new trace, recorded in status, through every
    // phase up to health-aggregate.
    const traces = chainTraces(local.lines, namespace, 'demo');
    assert.equal(traces[0], first.status?.lastTraceId);
    const updateTrace = status.lastTraceId!;
    assert.ok(traces.slice(1).includes(updateTrace), `${updateTrace} in ${traces.join(', ')}`);
    const spans = (await local.spans(updateTrace)).map((s) => s.name);
    for (const type of [
      CHAIN_EVENT.dependenciesValidated,
      CHAIN_EVENT.databaseInitialized,
      CHAIN_EVENT.secretsReady,
      CHAIN_EVENT.componentsDeployed,
    ]) {
      assert.ok(spans.includes(`process ${type}`), `process ${type} in ${spans.join(', ')}`);
    }
  } finally {
    phases.stop();
  }
});
