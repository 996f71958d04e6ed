/**
 * The local ApiServerSource against the real API server of the test environment, posting to a
 * real HTTP sink: SupabaseProject add/update/delete with the adapter's exact headers and a
 * body equal to the API server's own encoding; existing objects announced on start; only the
 * labelled Deployments; a watch whose connection is cut (a TCP relay resets it and refuses
 * reconnections) resumes from its resourceVersion and loses nothing; a watch that expired
 * (410 Gone, produced for real by deleting and re-creating a CRD, which gives the resource a
 * new watch cache younger than the source's resourceVersion) re-lists and emits the
 * difference; a resource the API server does not serve fails `ready` saying what to install.
 */
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { API_GROUP_VERSION, PLURAL } from '../../shared/api/group-version.ts';
import { API_SERVER_EVENT } from '../../shared/events/types.ts';
import {
  RECONCILER_RESOURCES,
  startApiServerSource,
  type ApiServerSource,
  type ApiServerSourceOptions,
} from '../../shared/local/api-server-source.ts';
import { goJson } from '../../shared/local/go-encoding.ts';
import { PROJECT_RESOURCE } from '../../shared/reconcile/project-store.ts';
import {
  applyCrd,
  freshNamespace,
  kube,
  kubeConnection,
  uniqueSuffix,
  type CrdManifest,
} from '../env/index.ts';
import { startCuttableProxy, type CuttableProxy } from '../fixtures/cuttable-proxy.ts';
import { startEventSink, type EventSink, type SinkRequest } from '../fixtures/event-sink.ts';
import { eventFixture } from '../fixtures/events.ts';
import { memoryLogger } from '../fixtures/memory-logger.ts';
import { createProject, installProjectCrd, patchProject } from '../fixtures/project.ts';

const SOURCE_NAMESPACE = 'supabase-reconciler';

let sink: EventSink;
let proxy: CuttableProxy;
before(async () => {
  await installProjectCrd();
  sink = await startEventSink();
  proxy = await startCuttableProxy(kubeConnection().server);
});
after(async () => {
  await sink.close();
  await proxy.close();
});

/** Starts a source that the test stops afterwards, with quick retries. */
async function source(
  overrides: Partial<ApiServerSourceOptions> = {},
): Promise<{ source: ApiServerSource; lines: string[] }> {
  const { logger, lines } = memoryLogger('local-sources');
  const started = startApiServerSource({
    kubeconfig: kubeConnection().kubeconfigPath,
    namespace: SOURCE_NAMESPACE,
    resources: RECONCILER_RESOURCES,
    sink: sink.url,
    logger,
    reconnect: { initialBackoffMs: 50, maxBackoffMs: 200 },
    delivery: { attempts: 3, backoffMs: 20 },
    ...overrides,
  });
  await started.ready;
  return { source: started, lines };
}

/** A KubeConfig of the administrator that reaches the API server through the relay. */
function throughProxy(): KubeConfig {
  const { caPem, adminToken } = kubeConnection();
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'relay', server: proxy.url, caData: Buffer.from(caPem).toString('base64') }],
    users: [{ name: 'admin', token: adminToken }],
    contexts: [{ name: 'relay', cluster: 'relay', user: 'admin' }],
    currentContext: 'relay',
  });
  return config;
}

/** The requests about objects of one namespace (other test files use the API server too). */
function inNamespace(namespace: string): SinkRequest[] {
  return sink.received.filter((r) => r.headers['ce-namespace'] === namespace);
}

/** `type name` of each request, e.g. `add demo`. */
function summary(requests: readonly SinkRequest[]): string[] {
  return requests.map(
    (r) => `${String(r.headers['ce-type']).split('.').pop()} ${String(r.headers['ce-name'])}`,
  );
}

async function until<T>(
  what: string,
  find: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await find();
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function findEvent(
  namespace: string,
  type: string,
  name: string,
  after = 0,
): SinkRequest | undefined {
  return inNamespace(namespace)
    .slice(after)
    .find((r) => r.headers['ce-type'] === type && r.headers['ce-name'] === name);
}

/** The API server's own answer to a GET, as text (the administrator, straight to it). */
function rawGet(path: string): Promise<string> {
  const { server, caPem, adminToken } = kubeConnection();
  return new Promise((resolve, reject) => {
    const req = request(
      `${server}${path}`,
      { ca: caPem, headers: { Authorization: `Bearer ${adminToken}`, Accept: 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode === 200) resolve(body);
          else reject(new Error(`GET ${path}: ${res.statusCode} ${body}`));
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const projectPath = (namespace: string, name: string): string =>
  `/apis/${API_GROUP_VERSION}/namespaces/${namespace}/${PLURAL}/${name}`;

test('SupabaseProject add, update and delete arrive as the adapter sends them, the body as the API server encodes it', async () => {
  const namespace = await freshNamespace('local-sources');
  // Created before the source starts: announced as an add on start.
  await createProject(namespace, { name: 'existing' });
  const { source: running } = await source();
  try {
    const announced = await until('the existing project announced', () =>
      findEvent(namespace, API_SERVER_EVENT.add, 'existing'),
    );
    assert.equal(announced.body, (await rawGet(projectPath(namespace, 'existing'))).trimEnd());

    // Characters Go's encoder escapes (<, >, &, U+2028): the body must still equal the GET.
    await createProject(namespace, { annotations: { note: 'a <b> & c\u2028d' } });
    const add = await until('the add event', () =>
      findEvent(namespace, API_SERVER_EVENT.add, 'demo'),
    );
    const afterCreate = (await rawGet(projectPath(namespace, 'demo'))).trimEnd();
    assert.equal(add.body, afterCreate);
    assert.match(add.body, /a \\u003cb\\u003e \\u0026 c\\u2028d/);
    assert.ok(add.body.includes('"managedFields":['));

    // Exactly the adapter's headers (knative-facts.md, last section; the fixture), plus only
    // what any HTTP client sends.
    const fixture = eventFixture('apiserver-add');
    const adapterHeaders = Object.keys(fixture.headers).filter(
      (h) => h !== 'ce-knativearrivaltime' && h !== 'prefer',
    );
    const transport = new Set(['host', 'content-length', 'connection']);
    assert.deepEqual(
      Object.keys(add.headers)
        .filter((h) => !transport.has(h))
        .sort(),
      adapterHeaders.sort(),
    );
    const created = JSON.parse(afterCreate) as { metadata: { uid: string } };
    assert.equal(add.headers['content-type'], 'application/json');
    assert.equal(add.headers['ce-specversion'], '1.0');
    assert.equal(add.headers['ce-source'], kubeConnection().server);
    assert.equal(add.headers['ce-subject'], projectPath(namespace, 'demo'));
    assert.equal(add.headers['ce-apiversion'], API_GROUP_VERSION);
    assert.equal(add.headers['ce-kind'], 'SupabaseProject');
    assert.equal(add.headers['ce-namespace'], namespace);
    assert.equal(add.headers['kn-namespace'], SOURCE_NAMESPACE);
    assert.match(String(add.headers['ce-time']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{1,9}Z$/);
    assert.match(String(add.headers['ce-id']), /^[0-9a-f-]{36}$/);
    add.event.validate();

    const seen = inNamespace(namespace).length;
    await patchProject(namespace, 'demo', { metadata: { labels: { team: 'a' } } });
    const update = await until('the update event', () =>
      findEvent(namespace, API_SERVER_EVENT.update, 'demo', seen),
    );
    const afterPatch = (await rawGet(projectPath(namespace, 'demo'))).trimEnd();
    assert.equal(update.body, afterPatch);
    assert.notEqual(update.headers['ce-id'], add.headers['ce-id']);

    await kube().customObjects.deleteNamespacedCustomObject({
      ...PROJECT_RESOURCE,
      namespace,
      name: 'demo',
    });
    const deleted = await until('the delete event', () =>
      findEvent(namespace, API_SERVER_EVENT.delete, 'demo'),
    );
    // The last state, as the watch's DELETED carries it: only the resourceVersion moved, and
    // no deletionTimestamp (the object never had a finalizer).
    const last = JSON.parse(afterPatch) as { metadata: Record<string, unknown> };
    const gone = JSON.parse(deleted.body) as { metadata: Record<string, unknown> };
    assert.notEqual(gone.metadata.resourceVersion, last.metadata.resourceVersion);
    assert.deepEqual(
      { ...gone, metadata: { ...gone.metadata, resourceVersion: '' } },
      { ...last, metadata: { ...last.metadata, resourceVersion: '' } },
    );
    assert.equal(gone.metadata.uid, created.metadata.uid);
    assert.equal(deleted.body, goJson(gone));

    // Each object's events in the order they happened.
    assert.deepEqual(
      summary(inNamespace(namespace).filter((r) => r.headers['ce-name'] === 'demo')),
      ['add demo', 'update demo', 'delete demo'],
    );
  } finally {
    await running.stop();
  }
  assert.equal(running.counts.failed, 0);
});

function deployment(name: string, labels: Record<string, string>): Record<string, unknown> {
  return {
    metadata: { name, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'main', image: 'registry.example/main:1' }] },
      },
    },
  };
}

test('Deployment events come only for the Deployments labelled as the reconciler’s', async () => {
  const namespace = await freshNamespace('local-sources-deploy');
  const { source: running } = await source();
  try {
    await kube().apps.createNamespacedDeployment({
      namespace,
      body: deployment('unowned', { app: 'unowned' }),
    });
    await kube().apps.createNamespacedDeployment({
      namespace,
      body: deployment('kong', {
        app: 'kong',
        'app.kubernetes.io/managed-by': 'supabase-reconciler',
      }),
    });
    const add = await until('the labelled Deployment added', () =>
      findEvent(namespace, API_SERVER_EVENT.add, 'kong'),
    );
    // The deployment controller's status writes come as updates, after the unowned one's.
    await until('the labelled Deployment updated by its controller', () =>
      findEvent(namespace, API_SERVER_EVENT.update, 'kong'),
    );
    assert.deepEqual(
      inNamespace(namespace).filter((r) => r.headers['ce-name'] === 'unowned'),
      [],
    );
    assert.equal(
      add.headers['ce-subject'],
      `/apis/apps/v1/namespaces/${namespace}/deployments/kong`,
    );
    assert.equal(add.headers['ce-kind'], 'Deployment');
    assert.equal(add.headers['ce-apiversion'], 'apps/v1');
    const object = JSON.parse(add.body) as Record<string, unknown>;
    // The whole object, apiVersion and kind included, keys sorted as Go encodes a map.
    assert.equal(object.apiVersion, 'apps/v1');
    assert.equal(object.kind, 'Deployment');
    assert.ok('managedFields' in (object.metadata as object));
    assert.equal(add.body, goJson(object));
  } finally {
    await running.stop();
  }
});

test('a cut watch resumes from its resourceVersion: what changed meanwhile arrives after reconnection, without a re-list', async () => {
  const namespace = await freshNamespace('local-sources-cut');
  const { source: running, lines } = await source({
    kubeconfig: throughProxy(),
    resources: [RECONCILER_RESOURCES[0] ?? assert.fail()],
    namespaces: [namespace],
  });
  try {
    await createProject(namespace, { name: 'one' });
    await until('one added', () => findEvent(namespace, API_SERVER_EVENT.add, 'one'));

    proxy.cut();
    await until('the watch noticed', () => running.counts.rewatches >= 1, 5000);
    const seen = inNamespace(namespace).length;
    await createProject(namespace, { name: 'two' });
    await patchProject(namespace, 'one', { metadata: { labels: { changed: 'yes' } } });
    await createProject(namespace, { name: 'three' });
    await kube().customObjects.deleteNamespacedCustomObject({
      ...PROJECT_RESOURCE,
      namespace,
      name: 'three',
    });
    // Down for a while: nothing arrives, the source keeps trying.
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.equal(inNamespace(namespace).length, seen, 'nothing arrives while the watch is cut');
    assert.ok(lines.some((l) => l.includes('watch failed; watching again')));

    proxy.restore();
    await until('the changes replayed', () => inNamespace(namespace).length >= seen + 4);
    await running.drained();
    assert.deepEqual(summary(inNamespace(namespace).slice(seen)).sort(), [
      'add three',
      'add two',
      'delete three',
      'update one',
    ]);
    assert.deepEqual(
      summary(inNamespace(namespace).filter((r) => r.headers['ce-name'] === 'three')),
      ['add three', 'delete three'],
    );
    assert.equal(running.counts.relists, 0, 'resumed from the resourceVersion, no re-list');
    const updated = findEvent(namespace, API_SERVER_EVENT.update, 'one');
    assert.equal(updated?.headers['ce-source'], proxy.url);
  } finally {
    proxy.restore();
    await running.stop();
  }
});

function gizmoCrd(group: string): CrdManifest {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `gizmos.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural: 'gizmos', singular: 'gizmo', kind: 'Gizmo', listKind: 'GizmoList' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              },
            },
          },
        },
      ],
    },
  };
}

async function createGizmo(group: string, namespace: string, name: string): Promise<string> {
  // Right after a CRD is (re-)established its storage may answer 404 or 429 for a moment.
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const created = (await kube().customObjects.createNamespacedCustomObject({
        group,
        version: 'v1',
        plural: 'gizmos',
        namespace,
        body: { apiVersion: `${group}/v1`, kind: 'Gizmo', metadata: { name }, spec: { n: 1 } },
      })) as { metadata: { uid: string } };
      return created.metadata.uid;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

test('a watch that expired (410 Gone) re-lists and emits what changed: deletions, a re-creation, a new object', async () => {
  const group = `ls${uniqueSuffix()}.supabase-reconciler.dev`;
  const crd = gizmoCrd(group);
  await applyCrd(crd);
  const namespace = await freshNamespace('local-sources-gone');
  const uidA = await createGizmo(group, namespace, 'a');
  await createGizmo(group, namespace, 'b');
  const { source: running, lines } = await source({
    kubeconfig: throughProxy(),
    resources: [{ apiVersion: `${group}/v1`, kind: 'Gizmo' }],
  });
  try {
    await until('a and b announced', () => inNamespace(namespace).length >= 2);
    assert.deepEqual(summary(inNamespace(namespace)).sort(), ['add a', 'add b']);

    // While the source cannot reach the API server, the CRD is deleted (and with it a and b)
    // and created again: the resource gets a new watch cache, which starts after the
    // source's resourceVersion, so resuming the watch is answered 410 Gone.
    proxy.cut();
    await kube().apiExtensions.deleteCustomResourceDefinition({ name: crd.metadata.name });
    await until(
      'the CRD gone',
      async () => {
        try {
          await kube().apiExtensions.readCustomResourceDefinition({ name: crd.metadata.name });
          return false;
        } catch {
          return true;
        }
      },
      30_000,
    );
    await applyCrd(crd);
    const uidA2 = await createGizmo(group, namespace, 'a');
    await createGizmo(group, namespace, 'c');
    assert.notEqual(uidA2, uidA);
    assert.equal(inNamespace(namespace).length, 2, 'nothing arrived while cut');

    proxy.restore();
    // A reconnect waits up to its backoff (5 s at most), then the watch meets 410 and re-lists;
    // on a loaded machine (the whole suite at once) that has taken more than 20 s.
    await until('the difference emitted', () => inNamespace(namespace).length >= 6, 60_000);
    await running.drained();
    const changes = inNamespace(namespace).slice(2);
    assert.deepEqual(summary(changes).sort(), ['add a', 'add c', 'delete a', 'delete b']);
    const uidOf = (r: SinkRequest): string =>
      (JSON.parse(r.body) as { metadata: { uid: string } }).metadata.uid;
    const forA = changes.filter((r) => r.headers['ce-name'] === 'a');
    assert.deepEqual(summary(forA), ['delete a', 'add a'], 'the old a goes before the new a');
    assert.deepEqual(forA.map(uidOf), [uidA, uidA2]);
    assert.ok(running.counts.relists >= 1);
    assert.ok(lines.some((l) => l.includes('410 Gone')));
  } finally {
    proxy.restore();
    await running.stop();
    await kube()
      .apiExtensions.deleteCustomResourceDefinition({ name: crd.metadata.name })
      .catch(() => undefined);
  }
});

test('a resource the API server does not serve fails `ready`, saying what to install', async () => {
  const started = startApiServerSource({
    kubeconfig: kubeConnection().kubeconfigPath,
    namespace: SOURCE_NAMESPACE,
    resources: [{ apiVersion: 'nothing.supabase-reconciler.dev/v1', kind: 'Nothing' }],
    sink: sink.url,
    logger: memoryLogger('local-sources').logger,
  });
  try {
    await assert.rejects(
      started.ready,
      /cannot watch nothings\.nothing\.supabase-reconciler\.dev\/v1 in all namespaces: the API server does not serve it \(HTTP 404\); install its CustomResourceDefinition/,
    );
  } finally {
    await started.stop();
  }
});
