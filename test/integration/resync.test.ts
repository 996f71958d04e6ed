/**
 * resync against the real API server and a real HTTP sink: one PingSource tick lists every
 * project of every namespace, posts a reconcile request (binary mode, the project's uid and
 * generation, the sink's overrides, the tick's trace) for each project that is not converged
 * and for none that is; a sink that refuses or never answers some requests gets all of them
 * tried, and the tick is answered 503 naming the ones that failed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createResyncHandler, RESYNC_FUNCTION } from '../../functions/resync/handler.ts';
import type { SupabaseProjectStatus } from '../../shared/api/index.ts';
import { sinkEmitter, type EmitEvent } from '../../shared/events/emit.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { PROJECT_FINALIZER } from '../../shared/reconcile/finalizer.ts';
import {
  kubeProjectStore,
  PROJECT_RESOURCE,
  type LiveProject,
} from '../../shared/reconcile/project-store.ts';
import type { StoredCondition } from '../../shared/status/conditions.ts';
import { freshNamespace, kube, kubeConnection } from '../env/index.ts';
import { startEventSink, type EventSink } from '../fixtures/event-sink.ts';
import { eventFixture } from '../fixtures/events.ts';
import { createHarness, type Harness } from '../fixtures/function-harness.ts';
import { createProject, installProjectCrd, patchProject } from '../fixtures/project.ts';
import request from 'supertest';

const store = () => kubeProjectStore({ kubeconfigPath: kubeConnection().kubeconfigPath });
const HOUR = 3600_000;

let sink: EventSink;
let resync: Harness;

before(async () => {
  await installProjectCrd();
  sink = await startEventSink();
  // The emitter needs the harness's tracer, the harness needs the handler.
  const late: { emit?: EmitEvent } = {};
  resync = createHarness(
    createResyncHandler({
      name: RESYNC_FUNCTION,
      projects: store(),
      emit: (event) => late.emit!(event),
      now: () => new Date(),
      policy: { maxAgeSeconds: 10 * 3600, failedRetrySeconds: 3600 },
      concurrency: 4,
    }),
    { name: RESYNC_FUNCTION },
  );
  late.emit = sinkEmitter({
    url: sink.url,
    extensions: { cluster: 'test-cluster' },
    timeoutMs: 1500,
    tracer: resync.telemetry.tracer,
  });
});

after(async () => {
  await resync.telemetry.shutdown();
  await sink.close();
});

/** One PingSource tick, as the Broker delivers it. */
async function tick() {
  const ping = eventFixture('pingsource-tick');
  return request(resync.app).post('/').set(ping.headers).send(ping.body);
}

function condition(
  type: string,
  status: 'True' | 'False',
  generation: number,
  at: Date,
  reason = 'Succeeded',
): StoredCondition {
  return {
    type,
    status,
    observedGeneration: generation,
    lastTransitionTime: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    reason,
    message: `${type} ${status}`,
  };
}

/** A status that is converged for `generation`, finished `age` ms ago. */
function convergedStatus(generation: number, age = 60_000): SupabaseProjectStatus {
  const at = new Date(Date.now() - age);
  return {
    phase: 'Running',
    observedGeneration: generation,
    lastReconcileTime: at.toISOString(),
    conditions: [
      condition('Ready', 'True', generation, at),
      condition('Progressing', 'False', generation, at),
    ],
  };
}

/** Writes `status` through the status subresource, as the functions do. */
async function writeStatus(
  project: LiveProject,
  status: SupabaseProjectStatus,
): Promise<LiveProject> {
  const live = await store().get({
    namespace: project.metadata.namespace,
    name: project.metadata.name,
  });
  assert.ok(live);
  const written = await store().replaceStatus({ ...live, status });
  assert.ok(written);
  return written;
}

const requestsFor = (namespaces: readonly string[]) =>
  sink.received.filter((r) =>
    namespaces.some((ns) => r.event.subject?.startsWith(`namespaces/${ns}/`)),
  );
const nameOf = (subject: string | undefined) => subject?.split('/').at(-1);

test('one tick re-emits exactly the projects that are not converged, in every namespace', async () => {
  const [ns, other] = [await freshNamespace('resync'), await freshNamespace('resync-b')];
  const make = (name: string, namespace = ns) => createProject(namespace, { name });

  // Converged: nothing but the list is spent on them.
  await writeStatus(await make('converged'), convergedStatus(1));
  await writeStatus(await make('converged', other), convergedStatus(1));
  // Failed a minute ago: a permanent failure is not retried on every tick.
  const minuteAgo = new Date(Date.now() - 60_000);
  await writeStatus(await make('failed-recently'), {
    phase: 'Failed',
    observedGeneration: 1,
    conditions: [condition('Progressing', 'False', 1, minuteAgo, 'Failed')],
  });

  // Not converged, each for another reason.
  const never = await make('never'); // its add event was lost
  const neverOther = await make('never', other);
  const newGeneration = await writeStatus(await make('new-generation'), convergedStatus(1));
  const bumped = await patchProject(ns, 'new-generation', { spec: { projectId: 'bumped' } });
  assert.equal(bumped.metadata.generation, 2);
  await writeStatus(await make('too-old'), convergedStatus(1, 11 * HOUR));
  await writeStatus(await make('failed-long-ago'), {
    phase: 'Failed',
    observedGeneration: 1,
    conditions: [condition('Progressing', 'False', 1, new Date(Date.now() - 2 * HOUR), 'Failed')],
  });
  await writeStatus(await make('dead-lettered'), {
    phase: 'InitializingDatabase',
    observedGeneration: 1,
    conditions: [condition('Progressing', 'False', 1, minuteAgo, 'RetriesExhausted')],
  });
  // A chain under way (or cut off without a reply): the request names it.
  const runningTrace = 'ab'.repeat(16);
  await writeStatus(await make('progressing'), {
    phase: 'DeployingComponents',
    observedGeneration: 1,
    lastTraceId: runningTrace,
    conditions: [condition('Progressing', 'True', 1, minuteAgo, 'Reconciling')],
  });
  await make('deleting');
  await patchProject(ns, 'deleting', { metadata: { finalizers: [PROJECT_FINALIZER] } });
  await kube().customObjects.deleteNamespacedCustomObject({
    ...PROJECT_RESOURCE,
    namespace: ns,
    name: 'deleting',
  });

  const before = sink.received.length;
  const answer = await tick();
  assert.equal(answer.status, 204, answer.text);

  const mine = requestsFor([ns, other]);
  assert.deepEqual(
    mine.map((r) => r.event.subject).sort(),
    [
      `namespaces/${ns}/supabaseprojects/dead-lettered`,
      `namespaces/${ns}/supabaseprojects/deleting`,
      `namespaces/${ns}/supabaseprojects/failed-long-ago`,
      `namespaces/${ns}/supabaseprojects/never`,
      `namespaces/${ns}/supabaseprojects/new-generation`,
      `namespaces/${ns}/supabaseprojects/progressing`,
      `namespaces/${ns}/supabaseprojects/too-old`,
      `namespaces/${other}/supabaseprojects/never`,
    ].sort(),
    'exactly the unconverged projects, once each',
  );

  // Each request as the chain expects it: the project's current uid and generation.
  const live = new Map(
    (await store().list()).map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]),
  );
  const traceIds = new Set<string>();
  for (const { headers, event } of mine) {
    const key = `${event.subject?.split('/')[1]}/${nameOf(event.subject)}`;
    const project = live.get(key);
    assert.ok(project, key);
    assert.equal(event.type, CHAIN_EVENT.reconcileRequested);
    assert.equal(event.source, '/supabase-reconciler/resync');
    assert.equal(event.projectuid, project.metadata.uid);
    assert.equal(event.generation, String(project.metadata.generation));
    assert.equal(event.cluster, 'test-cluster', 'K_CE_OVERRIDES extensions are merged');
    // Binary mode, as Knative's own sources send.
    assert.equal(headers['ce-type'], CHAIN_EVENT.reconcileRequested);
    assert.match(String(headers['content-type']), /^application\/json/);
    // The tick's trace continues in each chain; the W3C header carries the same context.
    const traceparent = String(event.traceparent);
    assert.match(traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    assert.equal(headers.traceparent, traceparent);
    traceIds.add(traceparent.split('-')[1]!);
    // Only a request about a chain under way names that chain (validate-deps then ignores it
    // once that chain has ended).
    const expected = event.subject?.endsWith('/progressing') ? runningTrace : undefined;
    assert.equal(event.runningtrace, expected, key);
  }
  assert.equal(traceIds.size, 1, 'every request is linked to the one resync trace');
  assert.equal(
    mine.find((r) => r.event.subject?.endsWith('/new-generation'))?.event.generation,
    '2',
  );
  assert.equal(newGeneration.metadata.uid, live.get(`${ns}/new-generation`)?.metadata.uid);
  assert.equal(never.metadata.uid, live.get(`${ns}/never`)?.metadata.uid);
  assert.notEqual(neverOther.metadata.uid, never.metadata.uid);

  // The counters agree with what the sink received (every namespace of the cluster).
  const total = sink.received.length - before;
  const metrics = await resync.telemetry.renderMetrics();
  const counter = (outcome: string) =>
    Number(
      new RegExp(
        `supabase_reconciler_resync_projects_total\\{[^}]*outcome="${outcome}"[^}]*\\} (\\d+)`,
      ).exec(metrics)?.[1],
    );
  assert.equal(counter('emitted'), total);
  assert.equal(counter('failed'), 0);
  assert.ok(counter('skipped') >= 3, metrics);
  const logged = resync.logs.find((line) => line.msg === 'resync tick');
  assert.equal(logged?.emitted, total);

  // Clean up the deleting project so its namespace can go.
  await patchProject(ns, 'deleting', { metadata: { finalizers: null } });
});

test('a sink that refuses or never answers some requests: every request is tried, the tick answers 503 and the log names the failures', async () => {
  const ns = await freshNamespace('resync-fail');
  for (const name of ['a', 'refused', 'b', 'hangs', 'c']) await createProject(ns, { name });
  sink.answer = ({ event }) => {
    if (event.subject === `namespaces/${ns}/supabaseprojects/refused`) return 500;
    if (event.subject === `namespaces/${ns}/supabaseprojects/hangs`) return 'hang';
    return 202;
  };
  try {
    const started = Date.now();
    const answer = await tick();
    assert.equal(answer.status, 503, answer.text);
    assert.ok(Date.now() - started < 10_000, 'the hanging post is bounded by the timeout');
  } finally {
    sink.answer = () => 202;
  }
  assert.deepEqual(
    requestsFor([ns])
      .map((r) => nameOf(r.event.subject))
      .sort(),
    ['a', 'b', 'c', 'hangs', 'refused'],
    'the failures did not stop the other requests',
  );
  const failure = resync.logs.find(
    (line) =>
      line.level === 'error' &&
      String(line.msg).startsWith('reconcile requests could not be posted'),
  ) as { failed?: { project: string }[] } | undefined;
  assert.ok(failure, JSON.stringify(resync.logs.slice(-3)));
  assert.deepEqual(
    failure.failed
      ?.map((f) => f.project)
      .filter((p) => p.startsWith(`${ns}/`))
      .sort(),
    [`${ns}/hangs`, `${ns}/refused`],
  );

  // The retried tick posts again, and a healthy sink takes them all.
  const again = await tick();
  assert.equal(again.status, 204, again.text);
});

test('a tick that is not a PingSource event is refused as malformed', async () => {
  const ping = eventFixture('pingsource-tick');
  const answer = await request(resync.app)
    .post('/')
    .set({ ...ping.headers, 'ce-type': CHAIN_EVENT.reconcileRequested })
    .send(ping.body);
  assert.equal(answer.status, 400);
  assert.match(answer.text, /dev\.knative\.sources\.ping/);
});
