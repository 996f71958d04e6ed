/**
 * End to end, scenario 8: every chain event delivered twice and out of order. Once the
 * project is Running, the four chain events of its reconciliation (dependencies.validated,
 * database.initialized, secrets.ready, components.deployed, with its uid and generation) are
 * published into the broker again, in reverse order, twice, as Knative's at-least-once
 * delivery may hand them over. Each phase runs again and replies, so every copy drives the
 * rest of the chain once more; the final state is the same, each migration is in the
 * ledger once (applied once: same applied_at), and nothing is written: no status write, no
 * Deployment, Secret, ConfigMap or Service changed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { LEDGER_TABLE, loadMigrations } from '../../shared/db/migrations.ts';
import { chainEvent } from '../../shared/events/chain.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { kube, postgresConnection } from '../env/index.ts';
import { projectOnTestServers } from '../fixtures/chain.ts';
import { startRuntimeInFreshNamespace, type TestRuntime } from '../fixtures/local-runtime.ts';
import {
  deploymentShapes,
  isRunningAndReady,
  newTraceparent,
  readProject,
  waitForChainsToEnd,
  waitForProject,
} from './support.ts';

let namespace: string;
let local: TestRuntime;

before(async () => {
  ({ namespace, local } = await startRuntimeInFreshNamespace('e2e-dup'));
});

after(async () => {
  await local.stop();
});

/** The migration ledger of the project's database: version, name and when it was applied. */
async function ledger(database: string): Promise<{ version: string; applied_at: Date }[]> {
  const client = new pg.Client({ ...postgresConnection(), database });
  await client.connect();
  try {
    const { rows } = await client.query<{ version: string; applied_at: Date }>(
      `SELECT version, applied_at FROM ${LEDGER_TABLE} ORDER BY version, applied_at`,
    );
    return rows;
  } finally {
    await client.end();
  }
}

/** resourceVersion of every object of the kinds the phases write, by kind/name. */
async function objectVersions(): Promise<Record<string, string>> {
  const versions: Record<string, string> = {};
  const add = (
    kind: string,
    items: { metadata?: { name?: string; resourceVersion?: string } }[],
  ) => {
    for (const item of items)
      versions[`${kind}/${item.metadata?.name}`] = item.metadata?.resourceVersion ?? '';
  };
  add('Secret', (await kube().core.listNamespacedSecret({ namespace })).items);
  add('ConfigMap', (await kube().core.listNamespacedConfigMap({ namespace })).items);
  add('Service', (await kube().core.listNamespacedService({ namespace })).items);
  add('Deployment', (await kube().apps.listNamespacedDeployment({ namespace })).items);
  return versions;
}

test('chain events twice and in reverse order: same state, migrations once, nothing written', async () => {
  await projectOnTestServers(namespace, 'e2e_dup');
  const running = await waitForProject(namespace, 'demo', isRunningAndReady);
  await waitForChainsToEnd(local.lines, namespace, 'demo');
  const dbSecret = await kube().core.readNamespacedSecret({ namespace, name: 'demo-db' });
  const database = Buffer.from(dbSecret.data!.database!, 'base64').toString();

  const before = (await readProject(namespace, 'demo'))!;
  assert.equal(before.metadata.uid, running.metadata.uid);
  const ledgerBefore = await ledger(database);
  assert.equal(ledgerBefore.length, (await loadMigrations()).length);
  const objectsBefore = await objectVersions();
  const shapesBefore = await deploymentShapes(namespace);

  const key = { namespace, name: 'demo' };
  const replies = [
    [CHAIN_EVENT.dependenciesValidated, 'validate-deps'],
    [CHAIN_EVENT.databaseInitialized, 'init-db'],
    [CHAIN_EVENT.secretsReady, 'secrets'],
    [CHAIN_EVENT.componentsDeployed, 'deploy-components'],
  ] as const;
  // Each copy's trace, and how many phases it runs: its own receiver and every one after it.
  const copies: { traceId: string; phases: number }[] = [];
  for (let copy = 0; copy < 2; copy++) {
    for (const [index, [type, from]] of [...replies.entries()].reverse()) {
      const { traceparent, traceId } = newTraceparent();
      copies.push({ traceId, phases: replies.length - index });
      local.runtime.broker.publish(
        chainEvent({ type, from, key, uid: before.metadata.uid, generation: 1, traceparent }),
      );
    }
  }
  // Each copy runs the phases after it, to health-aggregate's handling of components.deployed.
  const reachedEnd = async (traceId: string) =>
    (await local.spans(traceId)).some(
      (s) => s.name === `process ${CHAIN_EVENT.componentsDeployed}`,
    );
  const deadline = Date.now() + 60_000;
  for (const { traceId } of copies) {
    while (!(await reachedEnd(traceId))) {
      assert.ok(
        Date.now() < deadline,
        `trace ${traceId} reached health-aggregate:\n${local.lines.join('\n')}`,
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  // Every phase processed each copy (none was dropped: they are the live project's events).
  for (const { traceId, phases } of copies) {
    const spans = (await local.spans(traceId)).filter((s) => s.name.startsWith('process '));
    assert.equal(spans.length, phases, JSON.stringify(spans));
    for (const span of spans) {
      assert.equal(span.attributes['reconciler.outcome'], 'processed', JSON.stringify(span));
    }
  }

  const after = (await readProject(namespace, 'demo'))!;
  assert.deepEqual(after.status, before.status);
  assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion, 'no status write');
  assert.deepEqual(await ledger(database), ledgerBefore, 'each migration applied once');
  assert.deepEqual(await deploymentShapes(namespace), shapesBefore);
  assert.deepEqual(await objectVersions(), objectsBefore);
});
