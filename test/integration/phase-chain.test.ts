/**
 * The first three phases chained as the Broker chains them: an ApiServerSource add event to
 * validate-deps, each reply event to the next function, over HTTP in binary mode, against the
 * real API server, PostgreSQL, S3 and OTLP receiver. One reconciliation ends with every
 * condition of these phases True and is one trace; the update event of our own status write
 * starts nothing.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CloudEvent, HTTP } from 'cloudevents';
import request from 'supertest';
import { handleInitDb, INIT_DB } from '../../functions/init-db/handler.ts';
import { createSecretsHandler, SECRETS_FUNCTION } from '../../functions/secrets/handler.ts';
import { createValidateDepsHandler } from '../../functions/validate-deps/handler.ts';
import { initialiseDatabase } from '../../shared/db/initialise.ts';
import { probeDatabase } from '../../shared/db/connect.ts';
import { API_SERVER_EVENT, CHAIN_EVENT } from '../../shared/events/types.ts';
import { kubeEventRecorder } from '../../shared/k8s/events.ts';
import { kubeSecretStore } from '../../shared/k8s/secrets.ts';
import { kubeProjectStore } from '../../shared/reconcile/project-store.ts';
import { probeBucket } from '../../shared/s3/probe.ts';
import { DEFAULT_API_KEY_POLICY } from '../../shared/secrets/api-keys.ts';
import { cryptoKeyGenerator } from '../../shared/secrets/generate.ts';
import {
  freshBucket,
  freshDatabase,
  freshNamespace,
  kubeConnection,
  postgresConnection,
  s3Connection,
  startOtlpReceiver,
  type OtlpReceiver,
} from '../env/index.ts';
import { testEgress } from '../fixtures/egress.ts';
import { createHarness, type Harness } from '../fixtures/function-harness.ts';
import {
  apiServerEvent,
  createProject,
  createSecret,
  installProjectCrd,
} from '../fixtures/project.ts';

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
  const stores = {
    projects: kubeProjectStore({ kubeconfigPath: kubeConnection().kubeconfigPath }),
    secrets: kubeSecretStore({ kubeconfigPath: kubeConnection().kubeconfigPath }),
  };
  validateDeps = createHarness(
    createValidateDepsHandler({
      name: 'validate-deps',
      ...stores,
      // The test servers are on loopback: allowed explicitly (fixtures/egress.ts).
      probeDatabase: (target, options) => probeDatabase(target, { ...options, egress: testEgress }),
      probeBucket: (target, options) => probeBucket(target, { ...options, egress: testEgress }),
      events: kubeEventRecorder({
        kubeconfigPath: kubeConnection().kubeconfigPath,
        component: 'validate-deps',
      }),
      now: () => new Date(),
      timeouts: { postgresMs: 5000, s3Ms: 5000 },
    }),
    { env, name: 'validate-deps' },
  );
  initDb = createHarness(
    (event, context) =>
      handleInitDb(
        event,
        {
          ...stores,
          initialise: (target, key) => initialiseDatabase(target, key, { egress: testEgress }),
        },
        context,
      ),
    { env, name: INIT_DB, telemetry: validateDeps.telemetry },
  );
  secrets = createHarness(
    createSecretsHandler({
      ...stores,
      generator: cryptoKeyGenerator,
      clock: () => new Date(),
      policy: DEFAULT_API_KEY_POLICY,
    }),
    { env, name: SECRETS_FUNCTION, telemetry: validateDeps.telemetry },
  );
});

after(async () => {
  await validateDeps.telemetry.shutdown();
  await receiver.close();
});

/** What the Broker does with a reply: deliver it, in binary mode, to the next subscriber. */
async function deliver(harness: Harness, event: CloudEvent<unknown>) {
  const message = HTTP.binary(event);
  return request(harness.app)
    .post('/')
    .set(message.headers as Record<string, string>)
    .send(message.body as string);
}

function replyOf(response: request.Response): CloudEvent<unknown> {
  assert.equal(response.status, 200, response.text);
  const event = HTTP.toEvent({ headers: response.headers, body: response.text });
  assert.ok(event instanceof CloudEvent);
  return event;
}

test('add event -> validate-deps -> init-db -> secrets: every condition True, one trace, and our own writes start nothing', async () => {
  const namespace = await freshNamespace('chain');
  const pgEnv = postgresConnection();
  const s3 = s3Connection();
  await createSecret(namespace, 'demo-db', {
    host: pgEnv.host,
    port: String(pgEnv.port),
    database: (await freshDatabase('chain')).database,
    username: pgEnv.user,
    password: pgEnv.password,
  });
  await createSecret(namespace, 'demo-s3', {
    endpoint: s3.endpoint,
    region: s3.region,
    bucket: await freshBucket('chain'),
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  });
  const created = await createProject(namespace);

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
