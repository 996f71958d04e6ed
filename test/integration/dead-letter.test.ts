/**
 * The dead-letter sink against the real API server: a dead letter of a chain event or of an
 * ApiServerSource event appears on its project (Progressing=False, RetriesExhausted, the
 * function that gave up, the generation and the last answer; Ready and the phase untouched),
 * and resync then finds the project unconverged. Stale dead letters (recreated, superseded,
 * gone) write nothing; malformed and foreign ones, even a request that is no CloudEvent, are
 * answered 2xx and counted; only an API server that cannot be reached makes it answer 5xx.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CloudEvent, HTTP } from 'cloudevents';
import request from 'supertest';
import { parse, stringify } from 'yaml';
import {
  createDeadLetterHandler,
  DEAD_LETTER_FUNCTION,
} from '../../functions/dead-letter/handler.ts';
import { resyncDecision } from '../../functions/resync/convergence.ts';
import type { SupabaseProjectStatus } from '../../shared/api/index.ts';
import {
  kubeProjectStore,
  type LiveProject,
  type ProjectStore,
} from '../../shared/reconcile/project-store.ts';
import { freshNamespace, kubeConnection } from '../env/index.ts';
import { eventFixture } from '../fixtures/events.ts';
import { createHarness, type Harness } from '../fixtures/function-harness.ts';
import {
  apiServerEvent,
  createProject,
  installProjectCrd,
  patchProject,
  readProject,
} from '../fixtures/project.ts';

const store = () => kubeProjectStore({ kubeconfigPath: kubeConnection().kubeconfigPath });
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const at = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

let sinkApp: Harness;

function deadLetterApp(projects: ProjectStore): Harness {
  return createHarness(createDeadLetterHandler({ projects, now: () => new Date() }), {
    name: DEAD_LETTER_FUNCTION,
    acknowledgeMalformed: true,
  });
}

before(async () => {
  await installProjectCrd();
  sinkApp = deadLetterApp(store());
});

after(async () => {
  await sinkApp.telemetry.shutdown();
});

/** The chain dead-letter fixture, about `project` (or with other headers). */
function chainDeadLetter(project: LiveProject, headers: Record<string, string | undefined> = {}) {
  const fixture = eventFixture('dead-letter-chain');
  const merged: Record<string, string> = {};
  const all: Record<string, string | undefined> = {
    ...fixture.headers,
    'ce-subject': `namespaces/${project.metadata.namespace}/supabaseprojects/${project.metadata.name}`,
    'ce-projectuid': project.metadata.uid,
    'ce-generation': String(project.metadata.generation ?? 1),
    ...headers,
  };
  for (const [name, value] of Object.entries(all)) if (value !== undefined) merged[name] = value;
  return { headers: merged, body: fixture.body };
}

async function post(message: { headers: Record<string, string>; body: string }, app = sinkApp) {
  return request(app.app).post('/').set(message.headers).send(message.body);
}

/** A project in the middle of a chain: InitializingDatabase, Progressing, Ready False. */
async function projectMidChain(namespace: string, name = 'demo'): Promise<LiveProject> {
  const created = await createProject(namespace, { name });
  const now = at(new Date());
  const status: SupabaseProjectStatus = {
    phase: 'InitializingDatabase',
    observedGeneration: 1,
    conditions: [
      {
        type: 'Progressing',
        status: 'True',
        observedGeneration: 1,
        lastTransitionTime: now,
        reason: 'Reconciling',
        message: 'reconciling generation 1',
      },
      {
        type: 'Ready',
        status: 'False',
        observedGeneration: 1,
        lastTransitionTime: now,
        reason: 'Reconciling',
        message: 'reconciling generation 1',
      },
    ],
  };
  const written = await store().replaceStatus({ ...created, status });
  assert.ok(written);
  return written;
}

const conditionOf = (project: LiveProject, type: string) =>
  project.status?.conditions?.find((c) => c.type === type);

function counter(metrics: string, outcome: string, fn: string): number {
  const line = metrics
    .split('\n')
    .find(
      (l) =>
        l.startsWith('supabase_reconciler_dead_letters_total{') &&
        l.includes(`outcome="${outcome}"`) &&
        l.includes(`function="${fn}"`),
    );
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('a dead letter about a project', () => {
  test('of a chain event: the project says which function gave up, on which generation, and its last answer', async () => {
    const namespace = await freshNamespace('dead-letter');
    const project = await projectMidChain(namespace);
    const before = await sinkApp.telemetry.renderMetrics();

    const answer = await post(chainDeadLetter(project));
    assert.equal(answer.status, 204, answer.text);

    const live = await readProject(namespace);
    const progressing = conditionOf(live, 'Progressing');
    const message =
      "init-db gave up on generation 1 after the broker's retries: last answer 503: Service Unavailable";
    assert.deepEqual(
      {
        status: progressing?.status,
        reason: progressing?.reason,
        observedGeneration: progressing?.observedGeneration,
        message: progressing?.message,
      },
      { status: 'False', reason: 'RetriesExhausted', observedGeneration: 1, message },
    );
    assert.equal(live.status?.message, message);
    // Ready and the phase are left as they were: pods may still serve.
    assert.equal(live.status.phase, 'InitializingDatabase');
    assert.deepEqual(conditionOf(live, 'Ready'), conditionOf(project, 'Ready'));
    // resync picks it up on its next tick.
    assert.deepEqual(
      resyncDecision(live, new Date(), { maxAgeSeconds: 36_000, failedRetrySeconds: 3600 }),
      { emit: true, reason: 'PhaseNotFinished' },
    );
    const metrics = await sinkApp.telemetry.renderMetrics();
    assert.equal(
      counter(metrics, 'recorded', 'init-db'),
      counter(before, 'recorded', 'init-db') + 1,
    );

    // The same dead letter again (the broker delivers at least once): nothing is written.
    const again = await post(chainDeadLetter(project));
    assert.equal(again.status, 204);
    assert.equal(
      (await readProject(namespace)).metadata.resourceVersion,
      live.metadata.resourceVersion,
    );
  });

  test('the answer is untrusted text: control characters escaped, length bounded', async () => {
    const namespace = await freshNamespace('dead-letter-text');
    const project = await projectMidChain(namespace);
    const hostile = `boom\n\u001b[2J${'x'.repeat(2000)}`;
    const answer = await post(
      chainDeadLetter(project, {
        'ce-knativeerrordata': b64(hostile).slice(0, 1024),
        'ce-knativeerrorcode': '500',
        'ce-knativeerrordest': 'http://secrets.supabase-reconciler.svc.cluster.local',
      }),
    );
    assert.equal(answer.status, 204, answer.text);
    const message = conditionOf(await readProject(namespace), 'Progressing')?.message ?? '';
    assert.match(
      message,
      /^secrets gave up on generation 1 after the broker's retries: last answer 500: boom\\n\\u001b\[2Jx+… \(cut\)$/,
    );
    assert.ok(message.length < 500, `${message.length} characters`);
  });

  test('of an ApiServerSource event: the project is the event data; a destination naming no function falls back to the type', async () => {
    const namespace = await freshNamespace('dead-letter-api');
    const created = await createProject(namespace);
    const original = apiServerEvent(created, 'add');
    const letter = new CloudEvent<unknown>({
      ...original.toJSON(),
      knativearrivaltime: '2026-06-20T09:41:07.6Z',
      knativeerrordest: 'http://10.96.44.12:80/',
      knativeerrorcode: 502,
      knativeerrordata: '',
    });
    // Structured mode this time (delivery.format: json).
    const message = HTTP.structured(letter);
    const answer = await post({
      headers: message.headers as Record<string, string>,
      body: message.body as string,
    });
    assert.equal(answer.status, 204, answer.text);
    const live = await readProject(namespace);
    assert.equal(
      conditionOf(live, 'Progressing')?.message,
      "validate-deps gave up on generation 1 after the broker's retries: last answer 502",
    );
    assert.equal(live.status?.phase, undefined, 'no phase is invented');
  });
});

describe('a stale dead letter writes nothing', () => {
  test('recreated (uid differs), superseded (newer generation), or gone', async () => {
    const namespace = await freshNamespace('dead-letter-stale');
    const project = await projectMidChain(namespace);
    const before = await sinkApp.telemetry.renderMetrics();

    const recreated = await post(chainDeadLetter(project, { 'ce-projectuid': 'another-uid' }));
    assert.equal(recreated.status, 202);

    const bumped = await patchProject(namespace, 'demo', { spec: { projectId: 'other' } });
    assert.equal(bumped.metadata.generation, 2);
    const superseded = await post(chainDeadLetter(project, { 'ce-generation': '1' }));
    assert.equal(superseded.status, 202);
    assert.equal(
      (await readProject(namespace)).metadata.resourceVersion,
      bumped.metadata.resourceVersion,
      'nothing was written',
    );

    const gone = await post(
      chainDeadLetter(project, {
        'ce-subject': `namespaces/${namespace}/supabaseprojects/never-existed`,
      }),
    );
    assert.equal(gone.status, 202);
    const metrics = await sinkApp.telemetry.renderMetrics();
    assert.equal(counter(metrics, 'stale', 'init-db'), counter(before, 'stale', 'init-db') + 3);
  });
});

describe('malformed and foreign dead letters are answered 2xx and counted', () => {
  test('missing or invalid extensions, an unreadable subject, a foreign object, a ping, no CloudEvent at all', async () => {
    const namespace = await freshNamespace('dead-letter-bad');
    const project = await projectMidChain(namespace);
    const before = await sinkApp.telemetry.renderMetrics();
    const malformed = [
      chainDeadLetter(project, { 'ce-knativeerrordest': undefined }),
      chainDeadLetter(project, { 'ce-knativeerrorcode': 'teapot' }),
      chainDeadLetter(project, { 'ce-knativeerrordata': '***not base64***' }),
      chainDeadLetter(project, { 'ce-subject': 'namespaces/../supabaseprojects/x' }),
      chainDeadLetter(project, { 'ce-generation': 'zero' }),
    ];
    for (const message of malformed) {
      const answer = await post(message);
      assert.equal(answer.status, 202, JSON.stringify(message.headers));
    }
    // A Deployment's ApiServerSource event, and a resync tick: no project to write to.
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { namespace, name: 'demo-auth', uid: 'd1', resourceVersion: '5', generation: 1 },
    };
    const foreign = [
      chainDeadLetter(project, {
        'ce-type': 'dev.knative.apiserver.resource.update',
        'ce-subject': `/apis/apps/v1/namespaces/${namespace}/deployments/demo-auth`,
        'ce-knativeerrordest': 'http://health-aggregate.supabase-reconciler.svc.cluster.local',
      }),
      chainDeadLetter(project, { 'ce-type': 'dev.knative.sources.ping', 'ce-subject': undefined }),
    ];
    foreign[0] = { headers: foreign[0]!.headers, body: JSON.stringify(deployment) };
    for (const message of foreign) {
      const answer = await post(message);
      assert.equal(answer.status, 202, JSON.stringify(message.headers));
    }
    // What the runtime cannot read at all is acknowledged too: a dead letter refused is lost.
    const notAnEvent = await request(sinkApp.app)
      .post('/')
      .set('content-type', 'text/plain')
      .send('hello');
    assert.equal(notAnEvent.status, 202);
    const tooManyAttributes = chainDeadLetter(project);
    for (let i = 0; i < 70; i++) tooManyAttributes.headers[`ce-x${i}`] = 'y';
    assert.equal((await post(tooManyAttributes)).status, 202);

    // Nothing reached the project.
    assert.equal(
      (await readProject(namespace)).metadata.resourceVersion,
      project.metadata.resourceVersion,
    );
    const metrics = await sinkApp.telemetry.renderMetrics();
    const malformedNow =
      counter(metrics, 'malformed', 'unknown') + counter(metrics, 'malformed', 'init-db');
    const malformedBefore =
      counter(before, 'malformed', 'unknown') + counter(before, 'malformed', 'init-db');
    assert.equal(malformedNow - malformedBefore, malformed.length);
    assert.equal(
      counter(metrics, 'foreign', 'health-aggregate') -
        counter(before, 'foreign', 'health-aggregate'),
      1,
    );
    const unreadable =
      /supabase_reconciler_events_total\{[^}]*type="unknown"[^}]*outcome="malformed"[^}]*\} (\d+)/.exec(
        metrics,
      );
    assert.ok(Number(unreadable?.[1]) >= 2, 'unreadable requests are counted as malformed events');
    const warned = sinkApp.logs.filter((l) => l.msg === 'dead letter not recorded on any project');
    assert.ok(warned.length >= malformed.length + foreign.length);
    assert.ok(warned.every((l) => l.level === 'warn'));
  });
});

describe('only a transient failure of the status write is answered 5xx', () => {
  test('an API server that cannot be reached: 503, so the broker delivers the dead letter again', async () => {
    const namespace = await freshNamespace('dead-letter-down');
    const project = await projectMidChain(namespace);
    // A kubeconfig naming a port nothing listens on: the connection is refused for real.
    const free = createServer().listen(0, '127.0.0.1');
    await once(free, 'listening');
    const { port } = free.address() as AddressInfo;
    free.close();
    const config = parse(await readFile(kubeConnection().kubeconfigPath, 'utf8')) as {
      clusters: { cluster: { server: string } }[];
    };
    for (const { cluster } of config.clusters) cluster.server = `https://127.0.0.1:${port}`;
    const path = join(await mkdtemp(join(tmpdir(), 'dead-letter-')), 'kubeconfig');
    await writeFile(path, stringify(config));
    const unreachable = deadLetterApp(kubeProjectStore({ kubeconfigPath: path }));
    try {
      const answer = await post(chainDeadLetter(project), unreachable);
      assert.equal(answer.status, 503, answer.text);
    } finally {
      await unreachable.telemetry.shutdown();
    }
    // The broker's next delivery, to a sink that reaches the API server, records it.
    assert.equal((await post(chainDeadLetter(project))).status, 204);
    assert.equal(
      conditionOf(await readProject(namespace), 'Progressing')?.reason,
      'RetriesExhausted',
    );
  });
});
