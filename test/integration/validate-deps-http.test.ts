/**
 * validate-deps through its HTTP app, with real binary-mode CloudEvents as the Broker sends
 * them: the happy path replies the next chain event in the reconciliation's trace, a
 * malformed event is 400, stale 202, permanent 202, transient 503; and no secret value
 * appears in any log line, exported span, status or Kubernetes Event.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CloudEvent, HTTP } from 'cloudevents';
import pg from 'pg';
import request from 'supertest';
import { supabaseProjectCrd } from '../../shared/api/index.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { createValidateDepsHandler } from '../../functions/validate-deps/handler.ts';
import {
  applyCrd,
  freshNamespace,
  kube,
  postgresConnection,
  s3Connection,
  startOtlpReceiver,
  type OtlpReceiver,
} from '../env/index.ts';
import { freePort } from '../env/ports.ts';
import { createHarness, type Harness } from '../fixtures/function-harness.ts';
import {
  apiServerEvent,
  assertNoValues,
  chainEventFor,
  createProject,
  databaseSecretData,
  putSecret,
  readProject,
  secretValue,
  sharedDatabase,
  storageSecretData,
  testDeps,
} from './validate-deps-support.ts';

let receiver: OtlpReceiver;
let harness: Harness;
/** A login role of its own, so that its password is a value found nowhere else. */
const role = { user: `vd_${secretValue('r').slice(2, 14).replace(/-/g, '_')}`, password: '' };
const wrongPassword = secretValue('wrong-pw');
const wrongSecretKey = secretValue('wrong-s3-secret');
const namespaces: string[] = [];

before(async () => {
  await applyCrd(supabaseProjectCrd());
  receiver = await startOtlpReceiver();
  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_SERVICE_NAME: 'validate-deps',
  };
  // The OTLP exporters read their endpoint from the process environment, as in a pod.
  Object.assign(process.env, env);
  harness = createHarness(createValidateDepsHandler(testDeps().deps), {
    env,
    name: 'validate-deps',
  });
  role.password = secretValue('role-pw');
  const admin = new pg.Client({ ...postgresConnection(), database: await sharedDatabase() });
  await admin.connect();
  try {
    await admin.query(`CREATE ROLE ${role.user} LOGIN PASSWORD '${role.password}'`);
  } finally {
    await admin.end();
  }
});

after(async () => {
  await harness.telemetry.shutdown();
  await receiver.close();
});

/** A project in a fresh namespace whose database Secret uses the test role. */
async function project(
  prefix: string,
  db: Record<string, string> = {},
  s3: Record<string, string> = {},
) {
  const namespace = await freshNamespace(prefix);
  namespaces.push(namespace);
  await putSecret(namespace, 'demo-db', {
    ...(await databaseSecretData()),
    username: role.user,
    password: role.password,
    ...db,
  });
  await putSecret(namespace, 'demo-s3', { ...(await storageSecretData()), ...s3 });
  return createProject(namespace);
}

async function post(event: CloudEvent<unknown>) {
  const message = HTTP.binary(event);
  return request(harness.app)
    .post('/')
    .set(message.headers as Record<string, string>)
    .send(message.body as string);
}

test('happy path: 200 with the dependencies.validated reply, in the trace recorded on the status', async () => {
  const created = await project('vd-http-ok');
  const res = await post(apiServerEvent(created));
  assert.equal(res.status, 200, res.text);
  const reply = HTTP.toEvent({ headers: res.headers, body: res.text }) as CloudEvent<unknown>;
  assert.equal(reply.type, CHAIN_EVENT.dependenciesValidated);
  assert.equal(reply.subject, `namespaces/${created.metadata.namespace}/supabaseprojects/demo`);
  assert.equal(reply.projectuid, created.metadata.uid);
  assert.equal(reply.generation, '1');
  const status = (await readProject(created.metadata.namespace)).status;
  assert.equal(status?.phase, 'InitializingDatabase');
  assert.match(String(reply.traceparent), new RegExp(`^00-${status.lastTraceId}-[0-9a-f]{16}-01$`));

  await harness.telemetry.flush();
  const spans = await receiver.waitForSpans((all) =>
    all.some((s) => s.traceId === status.lastTraceId && s.name.startsWith('process ')),
  );
  const processSpan = spans.find(
    (s) => s.traceId === status.lastTraceId && s.name.startsWith('process '),
  )!;
  assert.equal(processSpan.attributes['reconciler.postgresql.connected'], true);
  assert.equal(processSpan.attributes['reconciler.s3.connected'], true);
});

test('a malformed event is 400 and says why', async () => {
  const noSpec = await request(harness.app)
    .post('/')
    .set({ 'content-type': 'application/json', 'ce-id': '1', 'ce-type': 'x', 'ce-source': '/x' })
    .send('{}');
  assert.equal(noSpec.status, 400);

  const wrongKind = apiServerEvent(await createProject(await freshNamespace('vd-http-400')));
  const res = await post(
    new CloudEvent<unknown>({
      ...wrongKind.toJSON(),
      data: { ...(wrongKind.data as object), kind: 'Deployment', apiVersion: 'apps/v1' },
    }),
  );
  assert.equal(res.status, 400);
  assert.match(
    res.text,
    /apps\/v1 Deployment; this function handles supabase\.reconciler\.dev\/v1alpha1 SupabaseProject/,
  );
});

test('a stale chain event is 202; a permanent failure is 202; a transient one is 503', async () => {
  const stale = await project('vd-http-stale');
  assert.equal((await post(chainEventFor(stale, { uid: 'another-uid' }))).status, 202);

  const wrongPw = await project('vd-http-pw', { password: wrongPassword });
  assert.equal((await post(apiServerEvent(wrongPw))).status, 202);
  const wrongS3 = await project('vd-http-s3', {}, { secretAccessKey: wrongSecretKey });
  assert.equal((await post(apiServerEvent(wrongS3))).status, 202);
  assert.equal(
    (await readProject(wrongS3.metadata.namespace)).status?.conditions?.find(
      (c) => c.type === 'S3Connected',
    )?.reason,
    'S3AccessDenied',
  );

  const down = await project('vd-http-down', { port: String(await freePort()) });
  const res = await post(apiServerEvent(down));
  assert.equal(res.status, 503);
  assert.equal(res.text, 'Service Unavailable', 'no internal message in the answer');
});

test('no secret value in logs, exported spans, status or Kubernetes Events', async () => {
  const s3 = s3Connection();
  const values = [
    role.password,
    postgresConnection().password,
    wrongPassword,
    wrongSecretKey,
    s3.secretAccessKey,
    s3.accessKeyId,
  ];
  assert.ok(harness.logs.length > 10, 'the runs above logged');
  assertNoValues(JSON.stringify(harness.logs), values, 'the logs');
  await harness.telemetry.flush();
  assert.ok(receiver.spans.length > 10, 'spans were exported');
  assertNoValues(JSON.stringify(receiver.spans), values, 'the exported spans');
  for (const namespace of namespaces) {
    const status = (await readProject(namespace)).status;
    const events = await kube().core.listNamespacedEvent({ namespace });
    assertNoValues(
      JSON.stringify({ status, events: events.items }),
      values,
      `the status and Events of ${namespace}`,
    );
  }
});

test("/metrics carries no tenant's address: no S3 endpoint, database host or port as a label", async () => {
  // A project whose probes really dial the tenant's S3 endpoint and database.
  const created = await project('vd-http-metrics');
  assert.equal((await post(apiServerEvent(created))).status, 200);
  const metrics = await harness.telemetry.renderMetrics();
  const s3 = new URL(s3Connection().endpoint);
  // The HTTP client instrumentation did record the S3 request...
  assert.match(metrics, /http_client_request_duration/);
  // ...but not where it went.
  for (const value of [s3.host, `"${s3.port}"`, `"${String(postgresConnection().port)}"`]) {
    assert.ok(!metrics.includes(value), `/metrics shows ${value}`);
  }
  assert.doesNotMatch(metrics, /server_address|server_port|url_full|network_peer/);
});
