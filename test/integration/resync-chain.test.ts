/**
 * A project whose add event was lost converges by resync alone: the project is created and
 * no ApiServerSource event is delivered; one PingSource tick makes resync post a reconcile
 * request to a real HTTP sink; that request, delivered to validate-deps as the Broker would,
 * starts the chain, which runs on through init-db, secrets and deploy-components (every
 * Deployment rolls out) against the real API server, PostgreSQL and S3. The chain is part of
 * the resync's trace.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import request from 'supertest';
import {
  createDeployComponentsHandler,
  DEPLOY_COMPONENTS_FUNCTION,
} from '../../functions/deploy-components/handler.ts';
import { createResyncHandler, RESYNC_FUNCTION } from '../../functions/resync/handler.ts';
import { COMPONENT_APPLY_ORDER, COMPONENT_BUILDERS } from '../../shared/components/index.ts';
import { sinkEmitter, type EmitEvent } from '../../shared/events/emit.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { kubeObjectApplier } from '../../shared/k8s/apply.ts';
import { kubeEventRecorder } from '../../shared/k8s/events.ts';
import { PROJECT_FINALIZER } from '../../shared/reconcile/finalizer.ts';
import {
  freshNamespace,
  kubeConnection,
  startOtlpReceiver,
  type OtlpReceiver,
} from '../env/index.ts';
import {
  chainStores,
  deliver,
  phaseHarnesses,
  projectOnTestServers,
  replyOf,
} from '../fixtures/chain.ts';
import { startEventSink, type EventSink } from '../fixtures/event-sink.ts';
import { eventFixture } from '../fixtures/events.ts';
import { createHarness, type Harness } from '../fixtures/function-harness.ts';
import { installProjectCrd, readProject } from '../fixtures/project.ts';

let receiver: OtlpReceiver;
let sink: EventSink;
let resync: Harness;
let validateDeps: Harness;
let initDb: Harness;
let secrets: Harness;
let deploy: Harness;

before(async () => {
  await installProjectCrd();
  receiver = await startOtlpReceiver();
  sink = await startEventSink();
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint };
  Object.assign(process.env, env);
  ({ validateDeps, initDb, secrets } = phaseHarnesses(env));
  const telemetry = validateDeps.telemetry;
  const emit: EmitEvent = sinkEmitter({ url: sink.url, timeoutMs: 2000, tracer: telemetry.tracer });
  resync = createHarness(
    createResyncHandler({
      name: RESYNC_FUNCTION,
      projects: chainStores().projects,
      emit,
      now: () => new Date(),
      policy: { maxAgeSeconds: 36_000, failedRetrySeconds: 3600 },
      concurrency: 4,
    }),
    { env, name: RESYNC_FUNCTION, telemetry },
  );
  deploy = createHarness(
    createDeployComponentsHandler({
      ...chainStores(),
      objects: kubeObjectApplier({ kubeconfigPath: kubeConnection().kubeconfigPath }),
      events: kubeEventRecorder({
        kubeconfigPath: kubeConnection().kubeconfigPath,
        component: DEPLOY_COMPONENTS_FUNCTION,
      }),
      builders: COMPONENT_BUILDERS,
      order: COMPONENT_APPLY_ORDER,
      clock: () => new Date(),
    }),
    { env, name: DEPLOY_COMPONENTS_FUNCTION, telemetry },
  );
});

after(async () => {
  await validateDeps.telemetry.shutdown();
  await receiver.close();
  await sink.close();
});

test('a project whose add event was dropped is reconciled from a resync tick alone', async () => {
  const namespace = await freshNamespace('resync-chain');
  const created = await projectOnTestServers(namespace, 'resync_chain');
  // No add event is delivered: the ApiServerSource adapter was down when it was created.
  assert.equal(created.status, undefined);

  const ping = eventFixture('pingsource-tick');
  const tick = await request(resync.app).post('/').set(ping.headers).send(ping.body);
  assert.equal(tick.status, 204, tick.text);
  const requested = sink.received.filter(
    (r) => r.event.subject === `namespaces/${namespace}/supabaseprojects/demo`,
  );
  assert.equal(requested.length, 1, 'one request for the project');
  const reconcile = requested[0]!.event;
  assert.equal(reconcile.type, CHAIN_EVENT.reconcileRequested);

  // The Broker routes it to validate-deps, which starts the chain; each reply goes on.
  const validated = replyOf(await deliver(validateDeps, reconcile));
  assert.equal(validated.type, CHAIN_EVENT.dependenciesValidated);
  const initialised = replyOf(await deliver(initDb, validated));
  assert.equal(initialised.type, CHAIN_EVENT.databaseInitialized);
  const ready = replyOf(await deliver(secrets, initialised));
  assert.equal(ready.type, CHAIN_EVENT.secretsReady);
  const deployed = replyOf(await deliver(deploy, ready));
  assert.equal(deployed.type, CHAIN_EVENT.componentsDeployed);

  const live = await readProject(namespace);
  const status = live.status;
  assert.ok(status);
  assert.equal(status.observedGeneration, 1, 'the chain recorded the generation');
  const condition = (type: string) => status.conditions?.find((c) => c.type === type);
  for (const type of [
    'PostgreSQLConnected',
    'S3Connected',
    'DatabaseInitialized',
    'SecretsReady',
    'NetworkReady',
  ]) {
    assert.equal(
      condition(type)?.status,
      'True',
      `${type}: ${condition(type)?.message ?? 'absent'}`,
    );
  }
  assert.equal(condition('Progressing')?.status, 'True', 'the rollout is under way');
  assert.ok(live.metadata.finalizers?.includes(PROJECT_FINALIZER));

  // The chain belongs to the resync tick's trace: validate-deps' span is the child of the
  // span that posted the request.
  await validateDeps.telemetry.flush();
  const spans = await receiver.waitForSpans(
    (received) =>
      received.some((s) => s.name === `process ${CHAIN_EVENT.reconcileRequested}`) &&
      received.some((s) => s.name === `send ${CHAIN_EVENT.reconcileRequested}`),
  );
  const [, traceId, sendSpanId] = String(reconcile.traceparent).split('-');
  const send = spans.find((s) => s.spanId === sendSpanId);
  assert.ok(send, 'the send span was exported');
  const processTick = spans.find((s) => s.spanId === send.parentSpanId);
  assert.equal(processTick?.name, 'process dev.knative.sources.ping');
  const started = spans.find(
    (s) => s.name === `process ${CHAIN_EVENT.reconcileRequested}` && s.traceId === traceId,
  );
  assert.ok(started);
  assert.equal(started.parentSpanId, sendSpanId);
  assert.equal(status.lastTraceId, traceId, 'status names the trace to open');
});
