/**
 * deploy-components against the real API server with the controllers and kwok Nodes, driven
 * through its handler: what it applies and who owns it, a hostile database password in every
 * consumer's resolved env, no churn on a re-run, rollouts of exactly the components whose
 * inputs changed (JWT rotation, one image), Studio off, replicas 0, the Ingress on and off,
 * drift set back with an Event, and another applier's fields reported, never forced.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import {
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { COMPONENTS, type ComponentName } from '../../shared/api/components.ts';
import { componentResourceName } from '../../shared/api/resource-names.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { isAcknowledgement } from '../../shared/runtime/handler.ts';
import { ROTATE_JWT_SECRET_ANNOTATION, jwtSecretName } from '../../shared/secrets/names.ts';
import { INPUTS_HASH_ANNOTATION } from '../../functions/deploy-components/inputs-hash.ts';
import { freshNamespace, kube, waitForDeletion, waitForRollout } from '../env/index.ts';
import { installProjectCrd } from '../fixtures/project.ts';
import {
  DATABASE,
  HOSTILE_PASSWORD,
  patchProject,
  preparedProject,
  readDeployment,
  readProject,
  replicaSets,
  resolvedEnv,
  resourceVersions,
  runDeploy,
  runSecrets,
  templateAnnotations,
} from './deploy-components-support.ts';

before(async () => {
  await installProjectCrd();
});

const name = (component: ComponentName) => componentResourceName('demo', component);

async function rollAll(namespace: string, components: readonly ComponentName[] = COMPONENTS) {
  await Promise.all(components.map((c) => waitForRollout(namespace, name(c))));
}

function assertReplied(result: Awaited<ReturnType<typeof runDeploy>>['result']) {
  assert.ok(result && !isAcknowledgement(result), `a reply, got ${JSON.stringify(result)}`);
  assert.equal(result.type, CHAIN_EVENT.componentsDeployed);
}

async function condition(namespace: string, type: string) {
  const project = await readProject(namespace);
  return project.status?.conditions?.find((c) => c.type === type);
}

test('every component applied and owned by the project; a hostile password reaches every consumer exactly; Pods roll out; a re-run changes nothing', async () => {
  const namespace = await freshNamespace('deploy');
  const project = await preparedProject(namespace);
  const { result, lines } = await runDeploy(namespace);
  assertReplied(result);

  const owned = (meta: { ownerReferences?: { uid: string; controller?: boolean }[] } | undefined) =>
    meta?.ownerReferences?.some((o) => o.uid === project.metadata.uid && o.controller === true);
  const { core, apps } = kube();
  for (const component of COMPONENTS) {
    const deployment = await apps.readNamespacedDeployment({ namespace, name: name(component) });
    assert.ok(owned(deployment.metadata), `${component} Deployment owned`);
    assert.match(templateAnnotations(deployment)[INPUTS_HASH_ANNOTATION] ?? '', /^[0-9a-f]{64}$/);
    const service = await core.readNamespacedService({ namespace, name: name(component) });
    assert.ok(owned(service.metadata), `${component} Service owned`);
    assert.ok((service.spec?.ports ?? []).length > 0, `${component} Service has ports`);
  }
  const configMaps = (await core.listNamespacedConfigMap({ namespace })).items.filter((c) =>
    c.metadata?.name?.startsWith('demo-'),
  );
  assert.ok(configMaps.length > 0, 'Kong has its ConfigMap');
  for (const configMap of configMaps)
    assert.ok(owned(configMap.metadata), configMap.metadata?.name);
  const urls = await core.readNamespacedSecret({ namespace, name: 'demo-db-urls' });
  assert.ok(owned(urls.metadata), 'demo-db-urls owned');

  // Every consumer of the password, resolved as the kubelet would, gets it exactly.
  const consumers = new Set<ComponentName>();
  for (const component of COMPONENTS) {
    const deployment = await readDeployment(namespace, component);
    for (const container of deployment?.spec?.template.spec?.containers ?? []) {
      const env = await resolvedEnv(namespace, container.env ?? []);
      for (const variable of container.env ?? []) {
        const value = env.get(variable.name);
        const ref = variable.valueFrom?.secretKeyRef;
        if (ref?.name === 'demo-db' && ref.key === 'password') {
          assert.equal(value, HOSTILE_PASSWORD, `${component} ${variable.name}`);
          consumers.add(component);
        }
        if (value !== undefined && /^postgres(ql)?:\/\//.test(value)) {
          const url = new URL(value);
          assert.equal(decodeURIComponent(url.password), HOSTILE_PASSWORD, variable.name);
          assert.equal(url.hostname, DATABASE.host);
          assert.equal(url.port, DATABASE.port);
          assert.equal(decodeURIComponent(url.pathname.slice(1)), DATABASE.database);
          const user = decodeURIComponent(url.username);
          assert.ok(
            user === DATABASE.username || !user.includes('@'),
            `${component} ${variable.name} user ${user}`,
          );
          const sslmode = url.searchParams.get('sslmode');
          assert.ok(sslmode === null || sslmode === 'disable', `sslmode ${String(sslmode)}`);
          consumers.add(component);
        }
      }
    }
  }
  for (const component of ['auth', 'meta', 'postgrest', 'realtime', 'storageApi'] as const) {
    assert.ok(consumers.has(component), `${component} reads the password and was checked`);
  }
  for (const line of lines) assert.ok(!line.includes(HOSTILE_PASSWORD), 'no password in logs');

  await rollAll(namespace);
  const networkReady = await condition(namespace, 'NetworkReady');
  assert.equal(networkReady?.status, 'True', networkReady?.message);
  assert.equal((await condition(namespace, 'Progressing'))?.status, 'True');
  assert.equal((await readProject(namespace)).status?.phase, 'DeployingComponents');

  const before = await resourceVersions(namespace);
  const projectVersion = (await readProject(namespace)).metadata.resourceVersion;
  assertReplied((await runDeploy(namespace)).result);
  assert.deepEqual(await resourceVersions(namespace), before, 'no object changed');
  assert.equal((await readProject(namespace)).metadata.resourceVersion, projectVersion);
});

test('JWT rotation rolls exactly the components that read a changed key of <project>-jwt; an image change rolls only that Deployment', async () => {
  const namespace = await freshNamespace('deploy-roll');
  await preparedProject(namespace);
  assertReplied((await runDeploy(namespace)).result);
  await rollAll(namespace);
  const jwtBefore = await kube().core.readNamespacedSecret({
    namespace,
    name: jwtSecretName('demo'),
  });
  const setsBefore = await replicaSets(namespace);

  await patchProject(namespace, 'demo', {
    metadata: { annotations: { [ROTATE_JWT_SECRET_ANNOTATION]: 'rotation-1' } },
  });
  await runSecrets(namespace);
  const jwtAfter = await kube().core.readNamespacedSecret({
    namespace,
    name: jwtSecretName('demo'),
  });
  const changedKeys = Object.keys(jwtAfter.data ?? {}).filter(
    (key) => jwtAfter.data?.[key] !== jwtBefore.data?.[key],
  );
  assert.ok(changedKeys.includes('jwt-secret'), 'the JWT secret was rotated');
  assertReplied((await runDeploy(namespace)).result);
  await rollAll(namespace);

  // Which components read a changed key, from their applied templates.
  const readsChanged = async (component: ComponentName) => {
    const deployment = await readDeployment(namespace, component);
    return (deployment?.spec?.template.spec?.containers ?? []).some((c) =>
      (c.env ?? []).some(
        (e) =>
          e.valueFrom?.secretKeyRef?.name === jwtSecretName('demo') &&
          changedKeys.includes(e.valueFrom.secretKeyRef.key),
      ),
    );
  };
  const expected: ComponentName[] = [];
  for (const component of COMPONENTS) if (await readsChanged(component)) expected.push(component);
  assert.ok(expected.includes('auth') && expected.includes('postgrest'), expected.join());
  assert.ok(!expected.includes('meta'), 'Meta reads only the crypto key, which stays');
  const setsAfter = await replicaSets(namespace);
  const rolled = COMPONENTS.filter(
    (c) => JSON.stringify(setsAfter.get(c)) !== JSON.stringify(setsBefore.get(c)),
  );
  assert.deepEqual(rolled, expected, 'new ReplicaSets exactly where a read key changed');

  const beforeImage = await replicaSets(namespace);
  await patchProject(namespace, 'demo', {
    spec: { meta: { image: 'supabase/postgres-meta:v0.96.5' } },
  });
  assertReplied((await runDeploy(namespace)).result);
  await rollAll(namespace);
  const afterImage = await replicaSets(namespace);
  assert.deepEqual(
    COMPONENTS.filter(
      (c) => JSON.stringify(afterImage.get(c)) !== JSON.stringify(beforeImage.get(c)),
    ),
    ['meta'],
  );
});

test('replicas 0, the Ingress with class, annotations, host and TLS; Studio and the Ingress removed when switched off', async () => {
  const namespace = await freshNamespace('deploy-shape');
  await preparedProject(namespace, {
    auth: { replicas: 0 },
    ingress: {
      enabled: true,
      className: 'nginx',
      annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt' },
      host: 'api.example.com',
      tlsSecretName: 'api-tls',
    },
  });
  assertReplied((await runDeploy(namespace)).result);
  assert.equal((await readDeployment(namespace, 'auth'))?.spec?.replicas, 0);
  await waitForRollout(namespace, name('auth'));
  const ingressApi = KubernetesObjectApi.makeApiClient(kube().kubeConfig);
  const ref = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { namespace, name: name('kong') },
  };
  type IngressShape = KubernetesObject & {
    spec: {
      ingressClassName?: string;
      tls?: { hosts: string[]; secretName: string }[];
      rules: {
        host: string;
        http: { paths: { backend: { service: { name: string; port: { number: number } } } }[] };
      }[];
    };
  };
  const ingress = await ingressApi.read<IngressShape>(ref);
  assert.equal(ingress.spec.ingressClassName, 'nginx');
  assert.equal(ingress.metadata?.annotations?.['cert-manager.io/cluster-issuer'], 'letsencrypt');
  assert.deepEqual(JSON.parse(JSON.stringify(ingress.spec.tls)), [
    { hosts: ['api.example.com'], secretName: 'api-tls' },
  ]);
  assert.deepEqual(JSON.parse(JSON.stringify(ingress.spec.rules)), [
    {
      host: 'api.example.com',
      http: {
        paths: [
          {
            path: '/',
            pathType: 'Prefix',
            backend: { service: { name: name('kong'), port: { number: 8000 } } },
          },
        ],
      },
    },
  ]);
  // GoTrue's external URL is the ingress host, never localhost.
  const authEnv = (await readDeployment(namespace, 'auth'))?.spec?.template.spec?.containers[0]
    ?.env;
  const external = authEnv?.find((e) => e.name === 'API_EXTERNAL_URL')?.value;
  assert.equal(external, 'https://api.example.com');

  await patchProject(namespace, 'demo', {
    spec: { studio: { enabled: false }, ingress: { enabled: false } },
  });
  assertReplied((await runDeploy(namespace)).result);
  assert.equal(await readDeployment(namespace, 'studio'), undefined, 'Studio Deployment gone');
  await assert.rejects(
    kube().core.readNamespacedService({ namespace, name: name('studio') }),
    (error: { code?: number }) => error.code === 404,
  );
  await waitForDeletion('the Ingress', () => ingressApi.read(ref));
  const networkReady = await condition(namespace, 'NetworkReady');
  assert.equal(networkReady?.status, 'True');
  assert.ok(!networkReady.message.includes(name('studio')), networkReady.message);
});

test('a field changed imperatively is set back with a Warning Event; a field another applier owns is reported, never forced', async () => {
  const namespace = await freshNamespace('deploy-drift');
  const project = await preparedProject(namespace);
  assertReplied((await runDeploy(namespace)).result);
  const { apps, core } = kube();

  // kubectl scale / edit: an Update by another manager.
  await apps.patchNamespacedDeployment(
    {
      namespace,
      name: name('kong'),
      body: { spec: { replicas: 3 } },
      fieldManager: 'kubectl-edit',
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  assertReplied((await runDeploy(namespace)).result);
  assert.equal((await readDeployment(namespace, 'kong'))?.spec?.replicas, 1, 'set back');
  const events = await core.listNamespacedEvent({ namespace });
  const drift = events.items.find(
    (e) => e.reason === 'DriftReverted' && e.involvedObject.uid === project.metadata.uid,
  );
  assert.ok(drift, 'a DriftReverted Event on the project');
  assert.equal(drift.type, 'Warning');
  assert.match(drift.message ?? '', /\.spec\.replicas/);
  assert.match(drift.message ?? '', /kubectl-edit/);

  // Another declarative owner of Meta's image: server-side applied, forced, by another tool.
  const meta = (await readDeployment(namespace, 'meta'))!;
  const container = meta.spec?.template.spec?.containers[0]?.name ?? 'meta';
  await KubernetesObjectApi.makeApiClient(kube().kubeConfig).patch(
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { namespace, name: name('meta') },
      spec: {
        selector: meta.spec?.selector,
        template: {
          metadata: { labels: meta.spec?.template.metadata?.labels },
          spec: { containers: [{ name: container, image: 'example.com/other/meta:1' }] },
        },
      },
    } as KubernetesObject,
    undefined,
    undefined,
    'other-applier',
    true,
    PatchStrategy.ServerSideApply,
  );
  const { result } = await runDeploy(namespace);
  assert.ok(
    isAcknowledgement(result) && result.outcome === 'failed_permanent',
    JSON.stringify(result),
  );
  const metaReady = await condition(namespace, 'MetaReady');
  assert.equal(metaReady?.status, 'False');
  assert.equal(metaReady.reason, 'FieldManagerConflict');
  assert.match(metaReady.message, /other-applier/);
  assert.match(metaReady.message, /image/);
  assert.equal(
    (await readDeployment(namespace, 'meta'))?.spec?.template.spec?.containers[0]?.image,
    'example.com/other/meta:1',
    'not forced',
  );
});
