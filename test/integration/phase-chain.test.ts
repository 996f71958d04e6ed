/**
 * The first three phases chained as the Broker chains them: an ApiServerSource add event to
 * validate-deps, each reply event to the next function, over HTTP in binary mode, against the
 * real API server, PostgreSQL, S3 and OTLP receiver. One reconciliation ends with every
 * condition of these phases True and is one trace; the update event of our own status write
 * starts nothing.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { API_SERVER_EVENT, CHAIN_EVENT } from '../../shared/events/types.ts';
import { kubeProjectStore } from '../../shared/reconcile/project-store.ts';
import {
  freshNamespace,
  kubeConnection,
  startOtlpReceiver,
  type OtlpReceiver,
} from '../env/index.ts';
import { deliver, phaseHarnesses, projectOnTestServers, replyOf } from '../fixtures/chain.ts';
import type { Harness } from '../fixtures/function-harness.ts';
import { apiServerEvent, installProjectCrd } from '../fixtures/project.ts';

let receiver: OtlpReceiver;
let validateDeps: Harness;
let initDb: Harness;
let secrets: Harness;

before(async () => {
  await installProjectCrd();
  receiver = await startOtlpReceiver();
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint };
  // The OTLP exporters read their endpoint from the process environment, as in a pod.
  Object.assign(process.env, env);
  ({ validateDeps, initDb, secrets } = phaseHarnesses(env));
});

after(async () => {
  await validateDeps.telemetry.shutdown();
  await receiver.close();
});

test('add event -> validate-deps -> init-db -> secrets: every condition True, one trace, and our own writes start nothing', async () => {
  const namespace = await freshNamespace('chain');
  const created = await projectOnTestServers(namespace, 'chain');

  const validated = replyOf(await deliver(validateDeps, apiServerEvent(created, 'add')));
  assert.equal(validated.type, CHAIN_EVENT.dependenciesValidated);
  const initialised = replyOf(await deliver(initDb, validated));
  assert.equal(initialised.type, CHAIN_EVENT.databaseInitialized);
  const ready = replyOf(await deliver(secrets, initialised));
  assert.equal(ready.type, CHAIN_EVENT.secretsReady);
  assert.equal(ready.subject, `namespaces/${namespace}/supabaseprojects/demo`);

  const live = await kubeProjectStore({ kubeconfigPath: kubeConnection().kubeconfigPath }).get({
    namespace,
    name: 'demo',
  });
  assert.ok(live);
  const status = (type: string) => live.status?.conditions?.find((c) => c.type === type);
  for (const type of [
    'PostgreSQLConnected',
    'S3Connected',
    'DatabaseInitialized',
    'SecretsReady',
  ]) {
    assert.equal(status(type)?.status, 'True', `${type}: ${status(type)?.message ?? 'absent'}`);
    assert.equal(status(type)?.observedGeneration, 1);
  }
  const final = live.status;
  assert.ok(final);
  assert.equal(final.phase, 'DeployingComponents');
  assert.equal(final.observedGeneration, 1);
  assert.deepEqual(
    [final.dependencies?.postgresql?.connected, final.dependencies?.s3?.connected],
    [true, true],
  );
  assert.ok(live.metadata.finalizers?.includes('supabase.reconciler.dev/finalizer'));

  // One reconciliation, one trace: each phase's `process` span is the child of the previous.
  await validateDeps.telemetry.flush();
  const names = [
    API_SERVER_EVENT.add,
    CHAIN_EVENT.dependenciesValidated,
    CHAIN_EVENT.databaseInitialized,
  ];
  const spans = await receiver.waitForSpans((received) =>
    names.every((type) => received.some((s) => s.name === `process ${type}`)),
  );
  const [first, second, third] = names.map((type) =>
    spans.find((s) => s.name === `process ${type}`)!,
  );
  assert.equal(second!.traceId, first!.traceId);
  assert.equal(third!.traceId, first!.traceId);
  assert.equal(second!.parentSpanId, first!.spanId);
  assert.equal(third!.parentSpanId, second!.spanId);
  assert.equal(final.lastTraceId, first!.traceId, 'status names the trace to open in Jaeger');

  // The update event of our own last status write: acknowledged, nothing started.
  const own = await deliver(validateDeps, apiServerEvent(live, 'update'));
  assert.equal(own.status, 202);
});
