/**
 * End to end, scenario 1: a project created with valid Secrets, reconciled by the local
 * runtime (`npm start`'s: every function, the broker routing by deploy/overlays/knative, the
 * ApiServerSource on watches) against the real API server with controllers and kwok, the
 * real PostgreSQL and S3: each phase runs once, every object exists, the Pods are Ready, the
 * phase is Running, and the reconciliation is one trace whose id is status.lastTraceId.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { COMPONENT_READY_CONDITIONS } from '../../shared/api/conditions.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { FUNCTIONS } from '../../functions/index.ts';
import { runCli } from '../../shared/local/cli.ts';
import { kube, kubeConnection } from '../env/index.ts';
import { projectOnTestServers } from '../fixtures/chain.ts';
import { startRuntimeInFreshNamespace, type TestRuntime } from '../fixtures/local-runtime.ts';
import { readProject, waitForProject } from './support.ts';

let namespace: string;
let local: TestRuntime;

before(async () => {
  ({ namespace, local } = await startRuntimeInFreshNamespace('e2e-create'));
});

after(async () => {
  await local.stop();
});

test('create: each phase once, every object, Pods Ready, Running, one trace', async () => {
  await projectOnTestServers(namespace, 'e2e_create');
  const running = await waitForProject(namespace, 'demo', (p) => p.status?.phase === 'Running');
  const status = running.status!;
  for (const type of [
    'Ready',
    'Available',
    'PostgreSQLConnected',
    'S3Connected',
    'DatabaseInitialized',
    'SecretsReady',
    'NetworkReady',
    ...Object.values(COMPONENT_READY_CONDITIONS),
  ]) {
    const condition = status.conditions?.find((c) => c.type === type);
    assert.equal(condition?.status, 'True', `${type}: ${JSON.stringify(condition)}`);
  }
  assert.equal(status.conditions?.find((c) => c.type === 'Degraded')?.status, 'False');
  assert.equal(status.observedGeneration, 1);
  assert.equal(status.componentsReady, '7/7');

  // Every Deployment rolled out under kwok; the Services and Secrets exist.
  const deployments = await kube().apps.listNamespacedDeployment({ namespace });
  assert.equal(deployments.items.length, 7);
  for (const d of deployments.items) {
    assert.equal(d.status?.readyReplicas, d.spec?.replicas, d.metadata?.name);
  }
  const services = await kube().core.listNamespacedService({ namespace });
  assert.equal(services.items.length, 7);
  const secrets = (await kube().core.listNamespacedSecret({ namespace })).items.map(
    (s) => s.metadata?.name,
  );
  for (const name of ['demo-jwt', 'demo-db-urls', 'demo-dashboard-basic-auth']) {
    assert.ok(secrets.includes(name), `${name} in ${secrets.join(', ')}`);
  }

  // Each phase of the chain ran once for this project, all in the trace of lastTraceId.
  const traceId = status.lastTraceId;
  assert.ok(traceId);
  const chainLines = local.lines.filter((l) => l.includes(`${namespace}/demo `) && l.includes('→'));
  for (const [fn, reply] of [
    ['validate-deps', CHAIN_EVENT.dependenciesValidated],
    ['init-db', CHAIN_EVENT.databaseInitialized],
    ['secrets', CHAIN_EVENT.secretsReady],
    ['deploy-components', CHAIN_EVENT.componentsDeployed],
  ] as const) {
    const ran = chainLines.filter((l) => l.includes(` ${fn} `));
    assert.equal(ran.length, 1, `${fn} once:\n${local.lines.join('\n')}`);
    assert.ok(ran[0]!.includes(reply) && ran[0]!.includes(traceId), ran[0]);
  }
  // health-aggregate wrote Running inside its handler; its span ends when it has answered.
  let spans = await local.spans(traceId);
  for (let waited = 0; waited < 10_000; waited += 100) {
    if (spans.some((s) => s.name === `process ${CHAIN_EVENT.componentsDeployed}`)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
    spans = await local.spans(traceId);
  }
  const names = spans.map((s) => s.name);
  for (const type of [
    'dev.knative.apiserver.resource.add',
    CHAIN_EVENT.dependenciesValidated,
    CHAIN_EVENT.databaseInitialized,
    CHAIN_EVENT.secretsReady,
    CHAIN_EVENT.componentsDeployed,
  ]) {
    assert.ok(names.includes(`process ${type}`), `process ${type} in ${names.join(', ')}`);
  }
  assert.ok(spans.every((s) => s.traceId === traceId));
  // The database work is in the trace: pg is instrumented (an ESM import needs it by hand).
  const queries = spans.filter((s) => s.name.startsWith('pg.query'));
  assert.ok(queries.length > 0, `a pg.query span in ${names.join(', ')}`);
  assert.equal((await readProject(namespace, 'demo'))?.status?.lastTraceId, traceId);

  // What a person sees: `status` lists the project Running, `trace` draws that trace.
  const cli = async (...argv: string[]) => {
    let out = '';
    let err = '';
    const code = await runCli(
      FUNCTIONS,
      [...argv, '--kubeconfig', kubeConnection().kubeconfigPath],
      {
        env: { SUPABASE_RECONCILER_STATE_DIR: local.stateDir },
        out: (text) => (out += text),
        err: (text) => (err += text),
        stopRequested: new Promise(() => undefined),
      },
    );
    return { code, out, err };
  };
  const table = await cli('status');
  assert.equal(table.code, 0, table.err);
  assert.match(table.out, new RegExp(`${namespace}\\s+demo\\s+Running\\s+7/7\\s+${traceId}`));
  const waterfall = await cli('trace', `${namespace}/demo`);
  assert.equal(waterfall.code, 0, waterfall.err);
  assert.match(waterfall.out, new RegExp(`^trace ${traceId} `));
  for (const type of [CHAIN_EVENT.dependenciesValidated, CHAIN_EVENT.componentsDeployed]) {
    assert.match(waterfall.out, new RegExp(`\\|\\s*process ${type.replace(/\./g, '\\.')}`));
  }
  const missing = await cli('trace', `${namespace}/nope`);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /not found/);
});
