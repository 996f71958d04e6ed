/**
 * The chain up to deploy-components as the Broker runs it: an ApiServerSource add event to
 * validate-deps, each reply to the next function (init-db, secrets, deploy-components), over
 * HTTP in binary mode, against the real API server with its controllers and kwok Nodes,
 * PostgreSQL, S3 and the OTLP receiver. Every Deployment rolls out to Ready Pods, and the
 * reconciliation is one trace.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CloudEvent, HTTP } from 'cloudevents';
import request from 'supertest';
import {
  createDeployComponentsHandler,
  DEPLOY_COMPONENTS_FUNCTION,
} from '../../functions/deploy-components/handler.ts';
import { handleInitDb, INIT_DB } from '../../functions/init-db/handler.ts';
import { createSecretsHandler, SECRETS_FUNCTION } from '../../functions/secrets/handler.ts';
import { createValidateDepsHandler } from '../../functions/validate-deps/handler.ts';
import { initialiseDatabase } from '../../shared/db/initialise.ts';
import { probeDatabase } from '../../shared/db/connect.ts';
import { COMPONENTS } from '../../shared/api/components.ts';
import { componentResourceName } from '../../shared/api/resource-names.ts';
import { COMPONENT_APPLY_ORDER, COMPONENT_BUILDERS } from '../../shared/components/index.ts';
import { API_SERVER_EVENT, CHAIN_EVENT } from '../../shared/events/types.ts';
import { kubeObjectApplier } from '../../shared/k8s/apply.ts';
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
  waitForRollout,
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
let deploy: Harness;

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
  deploy = createHarness(
    createDeployComponentsHandler({
      ...stores,
      objects: kubeObjectApplier({ kubeconfigPath: kubeConnection().kubeconfigPath }),
      events: kubeEventRecorder({
        kubeconfigPath: kubeConnection().kubeconfigPath,
        component: DEPLOY_COMPONENTS_FUNCTION,
      }),
      builders: COMPONENT_BUILDERS,
      order: COMPONENT_APPLY_ORDER,
      clock: () => new Date(),
    }),
    { env, name: DEPLOY_COMPONENTS_FUNCTION, telemetry: validateDeps.telemetry },
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

test('add event -> validate-deps -> init-db -> secrets -> deploy-components: every Deployment rolls out to Ready Pods, one trace', async () => {
  const namespace = await freshNamespace('deploy-chain');
  const pgEnv = postgresConnection();
  const s3 = s3Connection();
  await createSecret(namespace, 'demo-db', {
    host: pgEnv.host,
    port: String(pgEnv.port),
    database: (await freshDatabase('deploy_chain')).database,
    username: pgEnv.user,
    password: pgEnv.password,
  });
  await createSecret(namespace, 'demo-s3', {
    endpoint: s3.endpoint,
    region: s3.region,
    bucket: await freshBucket('deploy-chain'),
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  });
  const created = await createProject(namespace);

  const validated = replyOf(await deliver(validateDeps, apiServerEvent(created, 'add')));
  const initialised = replyOf(await deliver(initDb, validated));
  const ready = replyOf(await deliver(secrets, initialised));
  assert.equal(ready.type, CHAIN_EVENT.secretsReady);
  const deployed = replyOf(await deliver(deploy, ready));
  assert.equal(deployed.type, CHAIN_EVENT.componentsDeployed);
  assert.equal(deployed.subject, `namespaces/${namespace}/supabaseprojects/demo`);

  for (const component of COMPONENTS) {
    const rolled = await waitForRollout(namespace, componentResourceName('demo', component));
    assert.equal(rolled.status?.readyReplicas, rolled.spec?.replicas ?? 1, component);
  }

  const live = await kubeProjectStore({ kubeconfigPath: kubeConnection().kubeconfigPath }).get({
    namespace,
    name: 'demo',
  });
  assert.ok(live);
  const status = (type: string) => live.status?.conditions?.find((c) => c.type === type);
  for (const type of ['SecretsReady', 'NetworkReady', 'Progressing']) {
    assert.equal(status(type)?.status, 'True', `${type}: ${status(type)?.message ?? 'absent'}`);
  }
  assert.equal(live.status?.phase, 'DeployingComponents');

  await validateDeps.telemetry.flush();
  const names = [
    API_SERVER_EVENT.add,
    CHAIN_EVENT.dependenciesValidated,
    CHAIN_EVENT.databaseInitialized,
    CHAIN_EVENT.secretsReady,
  ];
  const spans = await receiver.waitForSpans((received) =>
    names.every((type) =>
      received.some((s) => s.name === `process ${type}` && s.traceId === live.status?.lastTraceId),
    ),
  );
  const chain = names.map((type) =>
    spans.find((s) => s.name === `process ${type}` && s.traceId === live.status?.lastTraceId)!,
  );
  for (let i = 1; i < chain.length; i++) {
    assert.equal(chain[i]!.traceId, chain[0]!.traceId, 'one trace');
    assert.equal(chain[i]!.parentSpanId, chain[i - 1]!.spanId, `${names[i]!} follows its sender`);
  }
});
