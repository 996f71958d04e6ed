/**
 * End to end, scenario 3: a project whose storage Secret does not exist fails with a message
 * that names the Secret and says how to fix it; the Secret is then created, with no change to
 * the project, and resync brings the project to Running.
 *
 * Nothing announces the Secret (no watch on Secrets starts a chain): resync retries a project
 * Failed for its current generation once its failure is RESYNC_FAILED_RETRY_SECONDS old. The
 * test runs with that setting at its minimum, 60 s, and resync ticking every 2 s, and so
 * waits about a minute. The minimum is not lowered for the test: below a minute, a permanent
 * failure would be retried on every tick of a fast PingSource, and the setting's bounds are
 * the product's, not the suite's. The wait fits the 2-minute test timeout (about 75 s in
 * all on the 2-core machine).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { REASON } from '../../shared/api/reasons.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import {
  freshBucket,
  freshDatabase,
  freshNamespace,
  postgresConnection,
  s3Connection,
} from '../env/index.ts';
import { startTestRuntime, type TestRuntime } from '../fixtures/local-runtime.ts';
import { createProject, createSecret, installProjectCrd } from '../fixtures/project.ts';
import {
  chainTraces,
  isRunningAndReady,
  readProject,
  waitForChainsToEnd,
  waitForProject,
} from './support.ts';

const FAILED_RETRY_SECONDS = 60;
const RESYNC_INTERVAL_MS = 2000;

let namespace: string;
let local: TestRuntime;

before(async () => {
  await installProjectCrd();
  namespace = await freshNamespace('e2e-secret');
  local = await startTestRuntime(
    [namespace],
    { RESYNC_FAILED_RETRY_SECONDS: String(FAILED_RETRY_SECONDS) },
    RESYNC_INTERVAL_MS,
  );
});

after(async () => {
  await local.stop();
});

test('storage Secret missing: Failed naming it; created: Running through resync, spec unchanged', async () => {
  const pg = postgresConnection();
  await createSecret(namespace, 'demo-db', {
    host: pg.host,
    port: String(pg.port),
    database: (await freshDatabase('e2e_secret')).database,
    username: pg.user,
    password: pg.password,
  });
  await createProject(namespace);

  const failed = await waitForProject(namespace, 'demo', (p) => p.status?.phase === 'Failed');
  const condition = (type: string) => failed.status?.conditions?.find((c) => c.type === type);
  const s3 = condition('S3Connected');
  assert.equal(s3?.status, 'False', JSON.stringify(s3));
  assert.equal(s3.reason, REASON.SecretNotFound);
  assert.match(s3.message, /"demo-s3"/);
  assert.match(s3.message, /does not exist in namespace/);
  assert.match(s3.message, /create it with the keys .*accessKeyId/);
  assert.equal(condition('Ready')?.status, 'False');
  assert.equal(condition('Ready')?.reason, REASON.SecretNotFound);
  assert.equal(condition('Progressing')?.status, 'False');
  assert.match(failed.status?.message ?? '', /"demo-s3"/);
  assert.equal(failed.status?.observedGeneration, 1);
  // The database was fine: only the storage check failed.
  assert.equal(condition('PostgreSQLConnected')?.status, 'True');

  // While the failure is recent, resync's ticks leave the project alone: no churn.
  await new Promise((resolve) => setTimeout(resolve, 3 * RESYNC_INTERVAL_MS));
  const stillFailed = await readProject(namespace, 'demo');
  assert.equal(stillFailed?.metadata.resourceVersion, failed.metadata.resourceVersion);
  assert.equal(chainTraces(local.lines, namespace, 'demo').length, 0, local.lines.join('\n'));

  const s3Env = s3Connection();
  await createSecret(namespace, 'demo-s3', {
    endpoint: s3Env.endpoint,
    region: s3Env.region,
    bucket: await freshBucket('e2e-secret'),
    accessKeyId: s3Env.accessKeyId,
    secretAccessKey: s3Env.secretAccessKey,
  });

  const failedAt = Date.parse(condition('Progressing')!.lastTransitionTime);
  const running = await waitForProject(namespace, 'demo', isRunningAndReady, 100_000);
  // No spec change: the same generation, reconciled again once the failure was old enough.
  const status = running.status!;
  assert.equal(running.metadata.generation, 1);
  assert.equal(status.observedGeneration, 1);
  assert.equal(status.componentsReady, '7/7', JSON.stringify(status, null, 1));
  const recovered = status.conditions?.find((c) => c.type === 'S3Connected');
  assert.equal(recovered?.status, 'True', JSON.stringify(recovered));
  const retriedAt = Date.parse(
    status.conditions!.find((c) => c.type === 'Ready')!.lastTransitionTime,
  );
  assert.ok(
    retriedAt - failedAt >= FAILED_RETRY_SECONDS * 1000,
    `recovered ${retriedAt - failedAt} ms after the failure, not before the retry age`,
  );

  // The recovering chain started from resync's reconcile request, in one trace. While a chain
  // runs (Progressing True) every 2 s tick requests again, as it would for a chain cut off
  // without a reply, and validate-deps repeats the chain's (idempotent) phases: let them end.
  await waitForChainsToEnd(local.lines, namespace, 'demo');
  const settled = (await readProject(namespace, 'demo'))!;
  assert.ok(isRunningAndReady(settled), JSON.stringify(settled.status));
  assert.equal(settled.metadata.generation, 1);
  const traces = chainTraces(local.lines, namespace, 'demo');
  assert.ok(traces.includes(settled.status!.lastTraceId!), local.lines.join('\n'));
  const spans = (await local.spans(settled.status!.lastTraceId!)).map((s) => s.name);
  for (const type of [
    CHAIN_EVENT.reconcileRequested,
    CHAIN_EVENT.dependenciesValidated,
    CHAIN_EVENT.databaseInitialized,
    CHAIN_EVENT.secretsReady,
    CHAIN_EVENT.componentsDeployed,
  ]) {
    assert.ok(spans.includes(`process ${type}`), `process ${type} in ${spans.join(', ')}`);
  }
});
