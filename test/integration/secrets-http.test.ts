/**
 * The secrets function as the broker sees it: a real binary-mode CloudEvent over HTTP in,
 * a `secrets.ready` reply out; malformed events refused with 400 and stale ones
 * acknowledged with 202. And no secret value in any log line, span, status or Event.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { HTTP, type CloudEvent } from 'cloudevents';
import request from 'supertest';
import { supabaseProjectCrd } from '../../shared/api/index.ts';
import { chainEvent } from '../../shared/events/chain.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { ROTATE_JWT_SECRET_ANNOTATION } from '../../shared/secrets/names.ts';
import { createSecretsHandler } from '../../functions/secrets/handler.ts';
import type { LiveProject } from '../../shared/reconcile/project-store.ts';
import { applyCrd, freshNamespace, startOtlpReceiver, type OtlpReceiver } from '../env/index.ts';
import { createHarness, type Harness } from '../fixtures/function-harness.ts';
import {
  adminSecretStore,
  assertNoValues,
  createProject,
  patchProject,
  secretValues,
  statusAndEvents,
  testDeps,
  type TestDeps,
} from './secrets-support.ts';

let receiver: OtlpReceiver;
let harness: Harness;
let deps: TestDeps;

before(async () => {
  await applyCrd(supabaseProjectCrd());
  receiver = await startOtlpReceiver();
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_SERVICE_NAME: 'secrets' };
  // The OTLP exporters read their endpoint from the process environment, as in a pod.
  Object.assign(process.env, env);
  deps = testDeps();
  harness = createHarness(createSecretsHandler(deps.deps), { env, name: 'secrets' });
});

after(async () => {
  await harness.telemetry.shutdown();
  await receiver.close();
});

function initialized(project: LiveProject, uid = project.metadata.uid) {
  return chainEvent({
    type: CHAIN_EVENT.databaseInitialized,
    from: 'init-db',
    key: { namespace: project.metadata.namespace, name: project.metadata.name },
    uid,
    generation: project.metadata.generation ?? 1,
    traceparent: `00-${'c'.repeat(32)}-${'d'.repeat(16)}-01`,
  });
}

async function post(event: CloudEvent<unknown>, change: Record<string, string | undefined> = {}) {
  const message = HTTP.binary(event);
  // Header values may be numbers (ce-generation); an undefined in `change` removes a header.
  const headers = Object.fromEntries(
    Object.entries({ ...message.headers, ...change }).flatMap(([name, value]) =>
      value === undefined ? [] : [[name, String(value)]],
    ),
  );
  return request(harness.app)
    .post('/')
    .set(headers)
    .send(message.body as string);
}

test('happy path: a binary-mode event gets a binary-mode secrets.ready reply; values stay in Secrets', async () => {
  const namespace = await freshNamespace('secrets-http');
  const project = await createProject(namespace);
  const sent = initialized(project);
  const res = await post(sent);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers['ce-type'], CHAIN_EVENT.secretsReady);
  assert.equal(res.headers['ce-subject'], `namespaces/${namespace}/supabaseprojects/demo`);
  assert.equal(res.headers['ce-projectuid'], project.metadata.uid);
  assert.equal(res.headers['ce-generation'], '1');
  assert.equal(res.headers['ce-source'], '/supabase-reconciler/secrets');
  const reply = HTTP.toEvent({ headers: res.headers, body: res.text }) as CloudEvent<unknown>;
  reply.validate();
  assert.ok(await adminSecretStore().get({ namespace, name: 'demo-jwt' }));

  // A repeat is answered the same and writes nothing; a rotation request writes once.
  const writesBefore = { ...deps.counts };
  assert.equal((await post(initialized(project))).status, 200);
  assert.deepEqual(deps.counts, writesBefore);
  await patchProject(namespace, 'demo', {
    metadata: { annotations: { [ROTATE_JWT_SECRET_ANNOTATION]: 'http-rotation' } },
  });
  const rotation = initialized(project);
  assert.equal((await post(rotation)).status, 200);

  await harness.telemetry.flush();
  const spans = await receiver.waitForSpans((all) =>
    [sent.id, rotation.id].every((id) =>
      all.some((s) => s.attributes['cloudevents.event_id'] === id),
    ),
  );
  const values = [...new Set([...deps.generated, ...(await secretValues(namespace))])];
  assertNoValues(JSON.stringify(harness.logs), values, 'log lines');
  assertNoValues(JSON.stringify(spans), values, 'spans (names, attributes, events)');
  assertNoValues(await statusAndEvents(namespace), values, 'status or Events');
  assert.ok(
    harness.logs.some((l) => l.msg === 'Secret replaced'),
    'the rotation was logged (names only)',
  );
});

test('malformed events are refused with 400 and change nothing', async () => {
  const namespace = await freshNamespace('secrets-http-bad');
  const project = await createProject(namespace);
  const event = initialized(project);
  const cases: [string, () => Promise<request.Response>, RegExp][] = [
    ['no projectuid', () => post(event, { 'ce-projectuid': undefined }), /projectuid/],
    [
      'a type this function does not handle',
      () => post(event.cloneWith({ type: CHAIN_EVENT.secretsReady })),
      /is not handled here/,
    ],
    [
      'not a CloudEvent at all',
      () => request(harness.app).post('/').set('content-type', 'application/json').send('{}'),
      /./,
    ],
  ];
  for (const [name, send, message] of cases) {
    const res = await send();
    assert.equal(res.status, 400, name);
    assert.match(res.text, message, name);
  }
  assert.equal(await adminSecretStore().get({ namespace, name: 'demo-jwt' }), undefined);
});

test('a foreign event (another uid) is acknowledged with 202 and no reply', async () => {
  const namespace = await freshNamespace('secrets-http-stale');
  const project = await createProject(namespace);
  const res = await post(initialized(project, '11111111-2222-4333-8444-555555555555'));
  assert.equal(res.status, 202);
  assert.equal(res.headers['ce-type'], undefined);
  assert.equal(await adminSecretStore().get({ namespace, name: 'demo-jwt' }), undefined);
});
