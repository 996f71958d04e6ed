/**
 * deploy/ against the real API server: each overlay (knative, standalone), alone and with the
 * observability component, rendered by kustomize (`kubectl kustomize`, kubectl v1.36.3 built
 * by scripts/envtest-assets.sh) and dry-run on the test kube-apiserver with the Knative Serving
 * and Eventing CRDs installed (knative.dev/serving and eventing v0.48.2, Knative 1.21.2):
 *
 * - `kubectl apply --server-side --dry-run=server` of every object (what `kubectl apply -k`
 *   sends, with server-side apply), and `kubectl apply --dry-run=server --validate=strict`
 *   (client-side apply: strict decoding refuses unknown fields, which a server-side apply of a
 *   preserve-unknown-fields schema keeps quiet about). The SupabaseProject CRD is part of every
 *   overlay, so it is dry-run with them.
 * - what the CRDs do not check, because Knative's admission webhooks do and a test API server
 *   runs none (reference/envtest-notes.md): the Broker's and Triggers' delivery (backoffPolicy,
 *   ISO-8601 durations; parsed by shared/local/triggers.ts, as the local runtime does), the
 *   PingSource's cron schedule, every reference to another object (sinks, subscribers, the
 *   dead-letter sink, ServiceAccounts), and the routing: every event type reaches the functions
 *   that handle it through the rendered Triggers, decided by the local broker's router
 *   (routing-support.ts, shared with local-broker-routes.test.ts).
 * - the processes: one Knative Service per function of functions/index.ts, running that
 *   function with its own ServiceAccount, probes on paths the runtime serves, a request timeout
 *   longer than the Broker's per-attempt timeout and the probes', and only settings its
 *   function reads (a misspelt variable would be ignored silently).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import request from 'supertest';
import { FUNCTIONS } from '../../functions/index.ts';
import { API_GROUP_VERSION, KIND } from '../../shared/api/group-version.ts';
import type { BuildableProject } from '../../shared/components/types.ts';
import { COMPONENT_APPLY_ORDER } from '../../shared/components/index.ts';
import { componentLabels } from '../../shared/components/component.ts';
import { LOCAL_DEFAULTS } from '../../shared/config/local.ts';
import { RECONCILER_RESOURCES } from '../../shared/local/api-server-source.ts';
import { ManifestError, parseManifests, type Topology } from '../../shared/local/triggers.ts';
import { kubectl, KubectlError, installKnativeCrds } from '../env/deploy-tools.ts';
import { freshNamespace, kube } from '../env/index.ts';
import { createHarness, type Harness } from '../fixtures/function-harness.ts';
import {
  cronProblem,
  everyMinutesPeriodMs,
  EXAMPLE_INSTALL,
  objectsOf,
  OVERLAYS,
  parseObjects,
  render,
  renderExampleInstall,
  toYaml,
  variablesOfFunction,
  variablesOfLocalRuntime,
  type RenderedObject,
  type Rendering,
} from './deploy-support.ts';
import {
  assertEveryEventReachesItsHandlers,
  assertForeignEventsRouteNowhere,
  assertRecordedEventsRouted,
  assertTriggersNameFunctions,
} from './routing-support.ts';

/** The namespace of every overlay (deploy/base/kustomization.yaml). */
const NAMESPACE = 'supabase-reconciler';
const KNATIVE_SERVICE = 'serving.knative.dev/v1';
const BROKER_REF = { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' };

/** Reads a nested field of a rendered object (the tests then assert its shape). */
function at(object: unknown, ...path: (string | number)[]): unknown {
  let value = object;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

function text(object: unknown, ...path: (string | number)[]): string {
  const value = at(object, ...path);
  assert.equal(typeof value, 'string', `${path.join('.')} is a string`);
  return value as string;
}

interface Container {
  readonly name: string;
  readonly image: string;
  readonly args?: string[];
  readonly env?: { name: string; value?: string }[];
  readonly envFrom?: { configMapRef?: { name: string } }[];
  readonly resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  readonly readinessProbe?: Probe;
  readonly livenessProbe?: Probe;
  readonly startupProbe?: Probe;
}

interface Probe {
  readonly httpGet?: { path: string; port?: number };
  readonly exec?: { command: string[] };
  readonly timeoutSeconds?: number;
}

function containersOf(object: RenderedObject): Container[] {
  const containers = at(object, 'spec', 'template', 'spec', 'containers');
  assert.ok(Array.isArray(containers), `${object.metadata.name} has containers`);
  return containers as Container[];
}

/** Kubernetes memory quantities of the kinds the manifests use (Mi, Gi), in bytes. */
function bytes(quantity: string | undefined): number {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity ?? '');
  assert.ok(match, `memory quantity "${quantity ?? ''}" in Mi or Gi`);
  return Number(match[1]) * (match[2] === 'Gi' ? 1 << 30 : 1 << 20);
}

/** Every `ref` of a Destination or a binding subject in an object, with where it is. */
function refsOf(object: RenderedObject): { where: string; ref: Record<string, string> }[] {
  const found: { where: string; ref: Record<string, string> }[] = [];
  const walk = (value: unknown, path: string): void => {
    if (Array.isArray(value))
      value.forEach((v, i) => {
        walk(v, `${path}[${i}]`);
      });
    else if (typeof value === 'object' && value !== null)
      for (const [key, child] of Object.entries(value)) {
        if (
          ['sink', 'subscriber', 'deadLetterSink', 'subject'].includes(key) &&
          typeof at(child, 'ref') === 'object'
        )
          found.push({
            where: `${path}.${key}.ref`,
            ref: at(child, 'ref') as Record<string, string>,
          });
        else if (
          key === 'subject' &&
          typeof at(child, 'kind') === 'string' &&
          typeof at(child, 'name') === 'string'
        )
          found.push({ where: `${path}.subject`, ref: child as Record<string, string> });
        walk(child, `${path}.${key}`);
      }
  };
  walk(object.spec, `${object.kind} ${object.metadata.name} spec`);
  return found;
}

/** Whether the rendering holds the object a ref names (same namespace when unset). */
function resolves(objects: readonly RenderedObject[], ref: Record<string, string>): boolean {
  return objects.some(
    (o) =>
      o.apiVersion === ref.apiVersion &&
      o.kind === ref.kind &&
      o.metadata.name === ref.name &&
      (ref.namespace === undefined || o.metadata.namespace === ref.namespace),
  );
}

/** The topology (Broker, Triggers) of a rendering, read as the local runtime reads files. */
function topologyOf(rendering: Rendering): Topology {
  return parseManifests([{ text: rendering.yaml, origin: rendering.label }]);
}

const renderings = new Map<string, Rendering>();
let harness: Harness;

/**
 * kubectl and the Knative CRDs are fetched on first use (scripts/envtest-assets.sh): a cold
 * cache builds kubectl, minutes on 2 cores, hence the hook's own bound.
 */
const FIRST_BUILD_MS = 20 * 60_000;

before(
  async () => {
    // Every variant renders in parallel with the CRDs' install (kubectl is built once).
    const variants = [
      ...OVERLAYS.flatMap((overlay) => [render(overlay, false), render(overlay, true)]),
      renderExampleInstall(),
    ];
    await installKnativeCrds();
    for (const rendering of await Promise.all(variants)) renderings.set(rendering.label, rendering);
    // Namespaced objects are dry-run into it, so it must exist. Other runs of this file create it
    // too; it is never deleted (every test server is private to its `npm test` run).
    try {
      await kube().core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    } catch (error) {
      if ((error as { code?: number }).code !== 409) throw error;
    }
    harness = createHarness(() => Promise.resolve(undefined));
    harness.health.markServing();
  },
  { timeout: FIRST_BUILD_MS },
);

after(async () => {
  await harness.telemetry.shutdown();
});

function rendering(label: string): Rendering {
  const found = renderings.get(label);
  assert.ok(found, `${label} was rendered`);
  return found;
}

const VARIANTS = [
  ...OVERLAYS.flatMap((overlay) => [overlay, `${overlay} + observability`]),
  EXAMPLE_INSTALL,
];

describe('every object of every overlay, dry-run on the real API server', () => {
  for (const label of VARIANTS) {
    test(`${label}: server-side apply (dry run) takes every object`, async () => {
      const { yaml, objects } = rendering(label);
      const { stdout } = await kubectl(
        ['apply', '--server-side', '--dry-run=server', '--validate=strict', '-f', '-'],
        yaml,
      );
      const applied = stdout
        .split('\n')
        .filter((l) => l.endsWith(' serverside-applied (server dry run)'));
      assert.equal(applied.length, objects.length, stdout);
    });

    test(`${label}: strict decoding (dry run) finds no unknown field`, async () => {
      const { yaml, objects } = rendering(label);
      const { stdout } = await kubectl(
        ['apply', '--dry-run=server', '--validate=strict', '-f', '-'],
        yaml,
      );
      const accepted = stdout
        .split('\n')
        .filter((l) => / (created|configured|unchanged) \(server dry run\)$/.test(l));
      assert.equal(accepted.length, objects.length, stdout);
    });
  }

  test('deploy/namespace-access (a project namespace’s RoleBindings) dry-runs in a namespace', async () => {
    // The README's per-namespace step: `kubectl apply -k deploy/namespace-access -n <namespace>`.
    const namespace = await freshNamespace('deploy-access');
    const { stdout: yaml } = await kubectl(['kustomize', 'deploy/namespace-access']);
    const objects = parseObjects(yaml);
    assert.ok(objects.length > 0);
    for (const args of [
      [
        'apply',
        '--server-side',
        '--dry-run=server',
        '--validate=strict',
        '-n',
        namespace,
        '-f',
        '-',
      ],
      ['apply', '--dry-run=server', '--validate=strict', '-n', namespace, '-f', '-'],
    ]) {
      const { stdout } = await kubectl(args, yaml);
      const done = stdout.split('\n').filter((l) => l.endsWith('(server dry run)'));
      assert.equal(done.length, objects.length, stdout);
    }
    // Every binding names a role of the base and a ServiceAccount of an overlay.
    const rendered = [...rendering('knative').objects, ...rendering('standalone').objects];
    for (const binding of objects) {
      assert.ok(
        resolves(rendered, {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          ...(at(binding, 'roleRef') as Record<string, string>),
        }),
        `${binding.metadata.name} binds a ClusterRole of deploy/base`,
      );
      for (const subject of at(binding, 'subjects') as Record<string, string>[])
        assert.ok(
          resolves(rendered, { apiVersion: 'v1', ...subject }),
          `${binding.metadata.name} names ServiceAccount ${subject.name ?? ''}`,
        );
    }
  });

  test('a misspelt field of a Knative Service is refused: the dry runs can fail', async () => {
    const service = objectsOf(rendering('knative').objects, 'Service', KNATIVE_SERVICE)[0];
    assert.ok(service);
    const misspelt = structuredClone(service) as RenderedObject & {
      spec: { template: { spec: { containers: Record<string, unknown>[] } } };
    };
    misspelt.spec.template.spec.containers[0] = {
      ...misspelt.spec.template.spec.containers[0],
      imagePullPolicyy: 'Always',
    };
    await assert.rejects(
      kubectl(['apply', '--dry-run=server', '--validate=strict', '-f', '-'], toYaml([misspelt])),
      (error: unknown) =>
        error instanceof KubectlError && /unknown field.*imagePullPolicyy/.test(error.stderr),
    );
  });

  test('the API server takes a Broker delivery Knative would refuse; the project check does not', async () => {
    // Why the checks below exist: Broker and Trigger specs are preserve-unknown-fields in the
    // CRDs, and their values are checked by Knative's webhook alone.
    const broker = objectsOf(rendering('knative').objects, 'Broker')[0];
    assert.ok(broker);
    const wrong = structuredClone(broker) as RenderedObject & {
      spec: { delivery: Record<string, unknown> };
    };
    wrong.spec.delivery.backoffPolicy = 'fibonacci';
    wrong.spec.delivery.backoffDelay = 'one second';
    await kubectl(['apply', '--server-side', '--dry-run=server', '-f', '-'], toYaml([wrong]));
    assert.throws(
      () => parseManifests([{ text: toYaml([wrong]), origin: 'broker' }]),
      (error: unknown) =>
        error instanceof ManifestError &&
        error.problems.some((p) => p.includes('backoffPolicy must be exponential or linear')),
    );
  });
});

describe('what the CRDs do not check: deliveries, schedules, references, routing', () => {
  for (const label of VARIANTS.filter((v) => !v.startsWith('standalone'))) {
    test(`${label}: the Broker's and Triggers' deliveries parse (enums, ISO-8601 durations)`, () => {
      const { brokers, triggers } = topologyOf(rendering(label));
      assert.equal(brokers.length, 1);
      const broker = brokers[0];
      assert.ok(broker);
      assert.equal(broker.name, 'default');
      assert.equal(broker.namespace, NAMESPACE);
      assert.ok(broker.delivery?.timeoutMs, 'the Broker bounds each attempt');
      assert.ok(broker.delivery.retry > 0, 'the Broker retries');
      assert.deepEqual(broker.delivery.deadLetterSink?.ref, {
        apiVersion: KNATIVE_SERVICE,
        kind: 'Service',
        name: 'dead-letter',
      });
      for (const trigger of triggers) {
        assert.equal(trigger.broker, 'default', trigger.name);
        assert.equal(trigger.namespace, NAMESPACE, trigger.name);
      }
    });

    test(`${label}: every reference names an object of the overlay`, () => {
      const { objects } = rendering(label);
      const refs = objects.flatMap(refsOf);
      // Broker DLS, 16 Trigger subscribers, 3 source sinks, the binding's sink and subject.
      assert.ok(refs.length >= 20, `${refs.length} references`);
      for (const { where, ref } of refs)
        assert.ok(resolves(objects, ref), `${where} names ${JSON.stringify(ref)}, not in ${label}`);
      const accounts = new Set(objectsOf(objects, 'ServiceAccount').map((sa) => sa.metadata.name));
      for (const object of [
        ...objectsOf(objects, 'Service', KNATIVE_SERVICE),
        ...objectsOf(objects, 'ApiServerSource'),
      ]) {
        const account =
          object.kind === 'Service'
            ? text(object, 'spec', 'template', 'spec', 'serviceAccountName')
            : text(object, 'spec', 'serviceAccountName');
        assert.ok(
          accounts.has(account),
          `${object.kind} ${object.metadata.name} runs as ${account}`,
        );
      }
    });

    test(`${label}: every event type reaches the functions that handle it, by the rendered Triggers`, async () => {
      const { triggers } = topologyOf(rendering(label));
      assertTriggersNameFunctions(triggers);
      const table = assertEveryEventReachesItsHandlers(triggers);
      assert.ok(table.length >= 10);
      assertForeignEventsRouteNowhere(triggers);
      await assertRecordedEventsRouted(triggers);
      // The routing check can fail: without resync's Trigger the ticks reach nobody.
      assert.throws(() =>
        assertEveryEventReachesItsHandlers(triggers.filter((t) => t.name !== 'resync-ping')),
      );
    });
  }

  test('the sources: SupabaseProjects and our Deployments in mode Resource, the resync tick, its sink', () => {
    const { objects } = rendering('knative');
    const sources = objectsOf(objects, 'ApiServerSource');
    const byResource = new Map(
      sources.map((s) => [text(s, 'spec', 'resources', 0, 'kind'), s] as const),
    );
    assert.deepEqual([...byResource.keys()].sort(), ['Deployment', KIND].sort());
    for (const source of sources) {
      assert.equal(text(source, 'spec', 'mode'), 'Resource', source.metadata.name);
      assert.deepEqual(at(source, 'spec', 'sink', 'ref'), BROKER_REF);
      assert.deepEqual(at(source, 'spec', 'namespaceSelector'), {}, 'every namespace');
      assert.equal((at(source, 'spec', 'resources') as unknown[]).length, 1);
    }
    assert.equal(
      text(byResource.get(KIND), 'spec', 'resources', 0, 'apiVersion'),
      API_GROUP_VERSION,
    );
    // The Deployments' selector is the local runtime's, and matches what deploy-components puts
    // on every component's Deployment.
    const selector = at(
      byResource.get('Deployment'),
      'spec',
      'resources',
      0,
      'selector',
      'matchLabels',
    );
    const local = RECONCILER_RESOURCES.find((r) => r.kind === 'Deployment')?.labelSelector;
    assert.equal(
      Object.entries(selector as Record<string, string>)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
      local,
    );
    const project: BuildableProject = {
      apiVersion: API_GROUP_VERSION,
      kind: KIND,
      metadata: { name: 'demo', namespace: 'tenant', uid: '6f1c2a9e-0000-4000-8000-000000000001' },
      spec: {
        projectId: 'demo',
        database: { secretRef: { name: 'demo-db' }, sslMode: 'require' },
        storage: { secretRef: { name: 'demo-s3' }, forcePathStyle: true },
      },
    };
    for (const component of COMPONENT_APPLY_ORDER) {
      const labels = componentLabels(project, component);
      for (const [key, value] of Object.entries(selector as Record<string, string>))
        assert.equal(labels[key], value, `${component}'s Deployment carries ${key}=${value}`);
    }

    const [ping, ...otherPings] = objectsOf(objects, 'PingSource');
    assert.ok(ping);
    assert.equal(otherPings.length, 0);
    const schedule = text(ping, 'spec', 'schedule');
    assert.equal(cronProblem(schedule), undefined);
    assert.equal(everyMinutesPeriodMs(schedule), LOCAL_DEFAULTS.resyncIntervalMs, 'as npm start');
    assert.deepEqual(at(ping, 'spec', 'sink', 'ref'), BROKER_REF);

    const [binding] = objectsOf(objects, 'SinkBinding');
    assert.deepEqual(at(binding, 'spec', 'subject'), {
      apiVersion: KNATIVE_SERVICE,
      kind: 'Service',
      name: 'resync',
    });
    assert.deepEqual(at(binding, 'spec', 'sink', 'ref'), BROKER_REF);
  });

  test('the cron check refuses what Knative’s webhook would', () => {
    for (const good of [
      '*/5 * * * *',
      '0 */2 * * MON-FRI',
      '30 0 * * * *',
      '@hourly',
      '@every 5m',
      'CRON_TZ=Europe/Berlin 0 3 * * *',
    ])
      assert.equal(cronProblem(good), undefined, good);
    for (const bad of [
      'every tuesday',
      '61 * * * *',
      '*/0 * * * *',
      '* * * *',
      '@sometimes',
      '0 0 32 * *',
    ])
      assert.ok(cronProblem(bad), bad);
  });
});

describe('the processes', () => {
  test('knative: one Knative Service per function, each running it as itself, scaled to zero, cluster-local', () => {
    const { objects } = rendering('knative');
    const services = objectsOf(objects, 'Service', KNATIVE_SERVICE);
    assert.deepEqual(
      services.map((s) => s.metadata.name).sort(),
      FUNCTIONS.map((f) => f.name).sort(),
    );
    const [broker] = topologyOf(rendering('knative')).brokers;
    const attemptSeconds = (broker?.delivery?.timeoutMs ?? Number.POSITIVE_INFINITY) / 1000;
    for (const service of services) {
      const name = service.metadata.name;
      const [container, ...sidecars] = containersOf(service);
      assert.ok(container);
      assert.equal(sidecars.length, 0, name);
      assert.deepEqual(container.args, ['function', name]);
      assert.match(container.image, /^supabase-reconciler:/);
      assert.equal(text(service, 'spec', 'template', 'spec', 'serviceAccountName'), name);
      assert.equal(
        at(service, 'metadata', 'labels', 'networking.knative.dev/visibility'),
        'cluster-local',
      );
      const annotations = at(service, 'spec', 'template', 'metadata', 'annotations') as Record<
        string,
        string
      >;
      assert.equal(annotations['autoscaling.knative.dev/min-scale'], '0', `${name} scales to zero`);
      assert.ok(Number(annotations['autoscaling.knative.dev/max-scale']) >= 1, name);
      const concurrency = at(service, 'spec', 'template', 'spec', 'containerConcurrency');
      assert.ok(typeof concurrency === 'number' && concurrency >= 1, name);
      const timeout = at(service, 'spec', 'template', 'spec', 'timeoutSeconds');
      assert.ok(typeof timeout === 'number', name);
      assert.ok(
        timeout > attemptSeconds,
        `${name}: ${timeout} s > the Broker's ${attemptSeconds} s`,
      );
      for (const probe of [container.readinessProbe, container.livenessProbe]) {
        assert.ok(probe?.httpGet, name);
        assert.ok(timeout > (probe.timeoutSeconds ?? 1), `${name}: longer than its probes`);
      }
      const { requests = {}, limits = {} } = container.resources ?? {};
      assert.ok(bytes(limits.memory) >= bytes(requests.memory), name);
      assert.ok(requests.cpu, `${name} requests CPU`);
      assert.equal(limits.cpu, undefined, `${name}: no CPU quota (cold starts are CPU-bound)`);
      assert.deepEqual(container.envFrom, [
        { configMapRef: { name: 'supabase-reconciler-config' } },
      ]);
    }
    // resync runs one tick at a time.
    const resync = services.find((s) => s.metadata.name === 'resync');
    assert.equal(at(resync, 'spec', 'template', 'spec', 'containerConcurrency'), 1);
  });

  test('knative: the probes ask paths the function runtime serves', async () => {
    const services = objectsOf(rendering('knative').objects, 'Service', KNATIVE_SERVICE);
    const paths = new Set(
      services.flatMap((s) =>
        containersOf(s).flatMap((c) =>
          [c.readinessProbe, c.livenessProbe].map((p) => p?.httpGet?.path ?? ''),
        ),
      ),
    );
    assert.deepEqual([...paths].sort(), ['/health/liveness', '/health/readiness']);
    for (const path of paths) await request(harness.app).get(path).expect(200);
    // A path the runtime does not serve would fail here.
    await request(harness.app).get('/healthz').expect(404);
  });

  test('knative: each Service sets only settings its function reads, and none Knative owns', () => {
    const services = objectsOf(rendering('knative').objects, 'Service', KNATIVE_SERVICE);
    const reserved = new Set([
      'PORT',
      'K_SERVICE',
      'K_CONFIGURATION',
      'K_REVISION',
      'K_SINK',
      'K_CE_OVERRIDES',
    ]);
    for (const service of services) {
      const known = variablesOfFunction(service.metadata.name);
      for (const { name } of containersOf(service)[0]?.env ?? []) {
        assert.ok(!reserved.has(name), `${service.metadata.name} sets ${name}, which Knative sets`);
        assert.ok(known.has(name), `${service.metadata.name} sets ${name}, which it does not read`);
      }
    }
    // The check can fail: validate-deps does not read resync's settings.
    assert.equal(variablesOfFunction('validate-deps').has('RESYNC_CONCURRENCY'), false);
    assert.equal(variablesOfFunction('resync').has('RESYNC_CONCURRENCY'), true);
  });

  for (const label of VARIANTS) {
    test(`${label}: the config's settings are all read by some process`, () => {
      const configs = objectsOf(rendering(label).objects, 'ConfigMap').filter(
        (c) => c.metadata.name === 'supabase-reconciler-config',
      );
      assert.equal(configs.length, 1);
      const known = variablesOfLocalRuntime();
      for (const name of Object.keys(at(configs[0], 'data') as Record<string, string>))
        assert.ok(known.has(name), `supabase-reconciler-config sets ${name}, which nothing reads`);
    });
  }

  test('standalone: the local runtime as one Deployment, its probes on its own port and paths', async () => {
    const { objects } = rendering('standalone');
    assert.equal(objectsOf(objects, 'Service', KNATIVE_SERVICE).length, 0);
    assert.equal(objectsOf(objects, 'Trigger').length, 0);
    const deployments = objectsOf(objects, 'Deployment');
    assert.equal(deployments.length, 1);
    const [deployment] = deployments;
    assert.ok(deployment);
    assert.equal(at(deployment, 'spec', 'replicas'), 1);
    assert.equal(at(deployment, 'spec', 'strategy', 'type'), 'Recreate');
    const account = text(deployment, 'spec', 'template', 'spec', 'serviceAccountName');
    assert.ok(
      objectsOf(objects, 'ServiceAccount').some((sa) => sa.metadata.name === account),
      `ServiceAccount ${account}`,
    );
    const [container] = containersOf(deployment);
    assert.ok(container?.args);
    assert.equal(container.args[0], 'run');
    const port = container.args[container.args.indexOf('--port') + 1];
    assert.match(port ?? '', /^\d+$/);
    const known = variablesOfLocalRuntime();
    for (const { name } of container.env ?? []) assert.ok(known.has(name), name);
    const functionNames = new Set(FUNCTIONS.map((f) => f.name));
    // The probes run the image's node: the program of the Dockerfile's ENTRYPOINT.
    const dockerfile = await readFile(new URL('../../Dockerfile', import.meta.url), 'utf8');
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
    assert.ok(entrypoint, 'the Dockerfile has an exec-form ENTRYPOINT');
    const [node] = JSON.parse(entrypoint) as string[];
    for (const probe of [
      container.startupProbe,
      container.readinessProbe,
      container.livenessProbe,
    ]) {
      const command = probe?.exec?.command ?? [];
      assert.equal(command[0], node);
      const script = command.join(' ');
      const url = /http:\/\/127\.0\.0\.1:(\d+)\/([a-z-]+)(\/health\/[a-z]+)/.exec(script);
      assert.ok(url, script);
      assert.equal(url[1], port, 'the probe asks the port the runtime listens on');
      assert.ok(functionNames.has(url[2] ?? ''), `${url[2] ?? ''} is a function's path`);
      await request(harness.app)
        .get(url[3] ?? '')
        .expect(200);
    }
  });

  test('the example installation sets the image, the settings and the warm chain it says', () => {
    const { objects } = rendering(EXAMPLE_INSTALL);
    const services = objectsOf(objects, 'Service', KNATIVE_SERVICE);
    assert.equal(services.length, FUNCTIONS.length);
    const warm = ['validate-deps', 'init-db', 'secrets', 'deploy-components', 'health-aggregate'];
    for (const service of services) {
      assert.equal(
        containersOf(service)[0]?.image,
        'registry.example.com/platform/supabase-reconciler:0.1.0',
      );
      assert.equal(
        at(
          service,
          'spec',
          'template',
          'metadata',
          'annotations',
          'autoscaling.knative.dev/min-scale',
        ),
        warm.includes(service.metadata.name) ? '1' : '0',
        service.metadata.name,
      );
    }
    const config = objectsOf(objects, 'ConfigMap').find(
      (c) => c.metadata.name === 'supabase-reconciler-config',
    );
    assert.equal(at(config, 'data', 'EGRESS_CLUSTER_CIDRS'), '10.96.0.0/12,10.244.0.0/16');
    // The observability component sends the traces to its Jaeger.
    assert.equal(at(config, 'data', 'OTEL_TRACES_EXPORTER'), 'otlp');
    assert.ok(objectsOf(objects, 'Deployment').some((d) => d.metadata.name === 'jaeger'));
  });

  test('every overlay renders the same objects from parseObjects as kubectl applies', () => {
    // The counts the dry-run tests compare with come from this parser: it must see every
    // document kustomize wrote.
    for (const label of VARIANTS) {
      const { yaml, objects } = rendering(label);
      const documents = yaml.split(/^---$/m).filter((d) => d.trim() !== '').length;
      assert.equal(objects.length, documents, label);
      assert.deepEqual(parseObjects(yaml), objects);
    }
  });
});
