/**
 * End to end, scenario 5: a Running project is deleted (finalize removes its finalizer) and at
 * once created again with the same name, before the garbage collector has removed the first
 * one's objects. The new project reaches Running with keys of its own (its `<project>-jwt` is
 * a new Secret with a different JWT secret, owned by the new uid), and events of the old
 * project's chain that arrive late are acknowledged as stale (their uid is not the live
 * object's) and change nothing.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { chainEvent } from '../../shared/events/chain.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { PROJECT_RESOURCE } from '../../shared/reconcile/project-store.ts';
import { kube } from '../env/index.ts';
import { projectOnTestServers } from '../fixtures/chain.ts';
import { startRuntimeInFreshNamespace, type TestRuntime } from '../fixtures/local-runtime.ts';
import { createProject } from '../fixtures/project.ts';
import {
  deploymentShapes,
  isRunningAndReady,
  newTraceparent,
  readProject,
  recordPhases,
  sha256,
  waitForChainsToEnd,
  waitForProcessSpans,
  waitForProject,
} from './support.ts';

let namespace: string;
let local: TestRuntime;

before(async () => {
  ({ namespace, local } = await startRuntimeInFreshNamespace('e2e-recreate'));
});

after(async () => {
  await local.stop();
});

/** The JWT Secret's owners and the hash of its `jwt-secret` (the value is never printed). */
async function jwtSecret(): Promise<{ owners: string[]; hash: string }> {
  const secret = await kube().core.readNamespacedSecret({ namespace, name: 'demo-jwt' });
  const value = secret.data?.['jwt-secret'];
  assert.ok(value, 'demo-jwt has a jwt-secret');
  return {
    owners: (secret.metadata?.ownerReferences ?? []).map((o) => o.uid),
    hash: sha256(value),
  };
}

test('delete, then recreate: fresh keys for the new project, old chain events dropped by uid', async () => {
  await projectOnTestServers(namespace, 'e2e_recreate');
  const old = await waitForProject(namespace, 'demo', isRunningAndReady);
  await waitForChainsToEnd(local.lines, namespace, 'demo');
  const oldUid = old.metadata.uid;
  const oldJwt = await jwtSecret();
  assert.deepEqual(oldJwt.owners, [oldUid]);

  const phases = await recordPhases(namespace, 'demo');
  try {
    await kube().customObjects.deleteNamespacedCustomObject({
      ...PROJECT_RESOURCE,
      namespace,
      name: 'demo',
    });
    const deadline = Date.now() + 60_000;
    while ((await readProject(namespace, 'demo')) !== undefined) {
      assert.ok(Date.now() < deadline, 'the project is gone within 60 s (finalize ran)');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    phases.stop();
  }
  assert.equal(phases.phases.at(-1), 'Terminating', phases.phases.join(' → '));
  // finalize's line is printed once its handler has answered, just after the project is gone.
  const finalized = () =>
    local.lines.some((l) => l.includes(`${namespace}/demo `) && l.includes(' finalize '));
  for (let waited = 0; waited < 10_000 && !finalized(); waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(finalized(), local.lines.join('\n'));

  // Recreated at once: the garbage collector may not have removed the old objects yet.
  await createProject(namespace);
  const fresh = await waitForProject(
    namespace,
    'demo',
    (p) => p.metadata.uid !== oldUid && isRunningAndReady(p),
  );
  await waitForChainsToEnd(local.lines, namespace, 'demo');
  const newUid = fresh.metadata.uid;
  assert.notEqual(newUid, oldUid);

  // Fresh keys, owned by the new project only.
  const newJwt = await jwtSecret();
  assert.deepEqual(newJwt.owners, [newUid]);
  assert.notEqual(newJwt.hash, oldJwt.hash, 'the new project has a JWT secret of its own');
  // Every Deployment belongs to the new project alone.
  const deployments = await kube().apps.listNamespacedDeployment({ namespace });
  assert.equal(deployments.items.length, 7);
  for (const d of deployments.items) {
    assert.deepEqual(
      d.metadata?.ownerReferences?.map((o) => o.uid),
      [newUid],
      d.metadata?.name,
    );
  }

  // Late events of the old chain: acknowledged as stale by every function they reach, and
  // nothing is written.
  const settled = (await readProject(namespace, 'demo'))!;
  assert.ok(isRunningAndReady(settled), JSON.stringify(settled.status));
  const shapes = await deploymentShapes(namespace);
  const key = { namespace, name: 'demo' };
  for (const type of [
    CHAIN_EVENT.reconcileRequested,
    CHAIN_EVENT.dependenciesValidated,
    CHAIN_EVENT.databaseInitialized,
    CHAIN_EVENT.secretsReady,
    CHAIN_EVENT.componentsDeployed,
  ]) {
    const { traceparent, traceId } = newTraceparent();
    const late = chainEvent({ type, from: 'test', key, uid: oldUid, generation: 1, traceparent });
    const receivers = local.runtime.broker.routes(late).length;
    assert.ok(receivers > 0, `${type} reaches a function`);
    local.runtime.broker.publish(late);
    const spans = await waitForProcessSpans((id) => local.spans(id), traceId, receivers);
    for (const span of spans) {
      assert.equal(span.attributes['reconciler.outcome'], 'dropped_stale', JSON.stringify(span));
      assert.match(String(span.attributes['reconciler.reason']), /foreign|recreated/);
    }
  }
  const after = (await readProject(namespace, 'demo'))!;
  assert.equal(after.metadata.resourceVersion, settled.metadata.resourceVersion);
  assert.deepEqual(await deploymentShapes(namespace), shapes);
  assert.deepEqual((await jwtSecret()).hash, newJwt.hash);
});
