/**
 * Smoke suite of the test cluster's controllers and simulated Nodes: what the API server
 * alone never does. A Deployment gets a ReplicaSet and Ready Pods on kwok's Nodes, a template
 * change rolls a new ReplicaSet, deleting an owner (a Deployment, or a SupabaseProject through
 * ownerReferences) garbage-collects what it owns, a Pod made unready makes its Deployment
 * unavailable until it is ready again, and namespaces get their `default` ServiceAccount and
 * are really deleted.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DiscoveryV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
  type V1OwnerReference,
} from '@kubernetes/client-node';
import { API_GROUP_VERSION, KIND } from '../../shared/api/group-version.ts';
import { PROJECT_RESOURCE } from '../../shared/reconcile/project-store.ts';
import {
  clusterConnection,
  freshNamespace,
  kube,
  setPodsReady,
  waitForDefaultServiceAccount,
  waitForDeletion,
  waitForRollout,
} from '../env/index.ts';
import { createProject, installProjectCrd } from '../fixtures/project.ts';

const COMPONENT_LABEL = 'app.kubernetes.io/component';

function deployment(
  name: string,
  options: { replicas?: number; image?: string; owner?: V1OwnerReference } = {},
): V1Deployment {
  const labels = { [COMPONENT_LABEL]: name };
  return {
    metadata: { name, ...(options.owner ? { ownerReferences: [options.owner] } : {}) },
    spec: {
      replicas: options.replicas ?? 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        // kwok runs no container: the image is never pulled.
        spec: { containers: [{ name, image: options.image ?? 'example.invalid/app:1' }] },
      },
    },
  };
}

async function replicaSetsOf(namespace: string, name: string) {
  const list = await kube().apps.listNamespacedReplicaSet({
    namespace,
    labelSelector: `${COMPONENT_LABEL}=${name}`,
  });
  return list.items;
}

async function podsOf(namespace: string, name: string) {
  const list = await kube().core.listNamespacedPod({
    namespace,
    labelSelector: `${COMPONENT_LABEL}=${name}`,
  });
  return list.items;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function available(d: V1Deployment): string | undefined {
  return d.status?.conditions?.find((c) => c.type === 'Available')?.status;
}

describe('test cluster: controllers and simulated Nodes', () => {
  test('a Deployment gets a ReplicaSet and Ready Pods on the fake Nodes', async () => {
    const { nodeNames } = clusterConnection();
    const namespace = await freshNamespace('cluster');
    await kube().apps.createNamespacedDeployment({ namespace, body: deployment('web') });
    const rolled = await waitForRollout(namespace, 'web');
    assert.equal(rolled.status?.availableReplicas, 2);

    const replicaSets = await replicaSetsOf(namespace, 'web');
    assert.equal(replicaSets.length, 1);
    assert.equal(replicaSets[0]?.metadata?.ownerReferences?.[0]?.uid, rolled.metadata?.uid);

    const pods = await podsOf(namespace, 'web');
    assert.equal(pods.length, 2);
    for (const pod of pods) {
      assert.equal(pod.status?.phase, 'Running');
      assert.ok(
        pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        'kwok makes the Pod Ready',
      );
      assert.ok(nodeNames.includes(pod.spec?.nodeName ?? ''), 'the scheduler placed it');
      assert.match(pod.status.podIP ?? '', /^10\.244\./, "kwok's --cidr gives Pod IPs");
      assert.equal(pod.spec?.serviceAccountName, 'default', 'ServiceAccount admission ran');
    }
  });

  test('a Service gets an EndpointSlice of the ready Pods', async () => {
    const namespace = await freshNamespace('cluster');
    await kube().apps.createNamespacedDeployment({ namespace, body: deployment('api') });
    await kube().core.createNamespacedService({
      namespace,
      body: {
        metadata: { name: 'api' },
        spec: { selector: { [COMPONENT_LABEL]: 'api' }, ports: [{ port: 80 }] },
      },
    });
    await waitForRollout(namespace, 'api');
    const discovery = kube().kubeConfig.makeApiClient(DiscoveryV1Api);
    await until('two ready endpoints', async () => {
      const slices = await discovery.listNamespacedEndpointSlice({
        namespace,
        labelSelector: 'kubernetes.io/service-name=api',
      });
      const ready = slices.items
        .flatMap((s) => s.endpoints ?? [])
        .filter((e) => e.conditions?.ready === true);
      return ready.length === 2;
    });
  });

  test('changing the template rolls a new ReplicaSet and scales the old one to 0', async () => {
    const namespace = await freshNamespace('cluster');
    const { apps } = kube();
    await apps.createNamespacedDeployment({ namespace, body: deployment('roll') });
    await waitForRollout(namespace, 'roll');
    await apps.patchNamespacedDeployment(
      {
        namespace,
        name: 'roll',
        body: {
          spec: {
            template: { spec: { containers: [{ name: 'roll', image: 'example.invalid/app:2' }] } },
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    const rolled = await waitForRollout(namespace, 'roll');
    assert.equal(rolled.metadata?.generation, 2);

    const replicaSets = await replicaSetsOf(namespace, 'roll');
    assert.equal(replicaSets.length, 2);
    const image = (rs: (typeof replicaSets)[number]) =>
      rs.spec?.template?.spec?.containers[0]?.image;
    const fresh = replicaSets.find((rs) => image(rs) === 'example.invalid/app:2');
    const old = replicaSets.find((rs) => image(rs) === 'example.invalid/app:1');
    assert.equal(fresh?.status?.readyReplicas, 2);
    assert.equal(old?.spec?.replicas, 0);
    await until('the old Pods are gone', async () => {
      const pods = await podsOf(namespace, 'roll');
      return (
        pods.length === 2 &&
        pods.every((p) => p.spec?.containers[0]?.image === 'example.invalid/app:2')
      );
    });
  });

  test('deleting a Deployment garbage-collects its ReplicaSet and Pods', async () => {
    const namespace = await freshNamespace('cluster');
    const { apps } = kube();
    await apps.createNamespacedDeployment({ namespace, body: deployment('gone') });
    await waitForRollout(namespace, 'gone');
    const [replicaSet] = await replicaSetsOf(namespace, 'gone');
    const rsName = replicaSet?.metadata?.name ?? assert.fail('no ReplicaSet');

    // Background: the Deployment goes at once and the garbage collector follows.
    await apps.deleteNamespacedDeployment({
      namespace,
      name: 'gone',
      propagationPolicy: 'Background',
    });
    await waitForDeletion(`ReplicaSet ${rsName}`, () =>
      apps.readNamespacedReplicaSet({ namespace, name: rsName }),
    );
    await until('the Pods are gone', async () => (await podsOf(namespace, 'gone')).length === 0);
  });

  test('deleting a SupabaseProject garbage-collects what it owns', async () => {
    await installProjectCrd();
    const namespace = await freshNamespace('cluster');
    const project = await createProject(namespace);
    const owner: V1OwnerReference = {
      apiVersion: API_GROUP_VERSION,
      kind: KIND,
      name: project.metadata.name,
      uid: project.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    };
    const { apps, core, customObjects } = kube();
    await apps.createNamespacedDeployment({
      namespace,
      body: deployment('owned', { replicas: 1, owner }),
    });
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'owned', ownerReferences: [owner] }, data: { a: 'b' } },
    });
    await waitForRollout(namespace, 'owned');

    await customObjects.deleteNamespacedCustomObject({
      ...PROJECT_RESOURCE,
      namespace,
      name: project.metadata.name,
    });
    await Promise.all([
      waitForDeletion('the owned Deployment', () =>
        apps.readNamespacedDeployment({ namespace, name: 'owned' }),
      ),
      waitForDeletion('the owned ConfigMap', () =>
        core.readNamespacedConfigMap({ namespace, name: 'owned' }),
      ),
    ]);
    await until('the Pods are gone', async () => (await podsOf(namespace, 'owned')).length === 0);
  });

  test('a Pod made unready makes its Deployment unavailable until it is ready again', async () => {
    const namespace = await freshNamespace('cluster');
    const { apps } = kube();
    await apps.createNamespacedDeployment({
      namespace,
      body: deployment('auth', { replicas: 1 }),
    });
    await waitForRollout(namespace, 'auth');

    const changed = await setPodsReady(namespace, `${COMPONENT_LABEL}=auth`, false);
    assert.equal(changed.length, 1);
    await until('the Deployment is unavailable', async () => {
      const d = await apps.readNamespacedDeployment({ namespace, name: 'auth' });
      return available(d) === 'False' && (d.status?.availableReplicas ?? 0) === 0;
    });
    // kwok leaves the Pod as the test set it.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const [pod] = await podsOf(namespace, 'auth');
    assert.equal(pod?.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'False');

    await setPodsReady(namespace, `${COMPONENT_LABEL}=auth`, true);
    const recovered = await waitForRollout(namespace, 'auth');
    assert.equal(available(recovered), 'True');
  });

  test('a namespace gets its default ServiceAccount and is really deleted', async () => {
    const namespace = await freshNamespace('cluster');
    await waitForDefaultServiceAccount(namespace);
    const { core } = kube();
    const pod = await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'direct' },
        spec: { containers: [{ name: 'c', image: 'example.invalid/app:1' }] },
      },
    });
    assert.equal(pod.spec?.serviceAccountName, 'default');
    await until('the Pod runs', async () => {
      const p = await core.readNamespacedPod({ namespace, name: 'direct' });
      return p.status?.phase === 'Running';
    });

    await core.deleteNamespace({ name: namespace });
    await waitForDeletion(`namespace ${namespace}`, () => core.readNamespace({ name: namespace }));
  });
});
