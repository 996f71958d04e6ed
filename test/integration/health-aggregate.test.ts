/**
 * health-aggregate on the real API server with its controllers and kwok Nodes, after the real
 * deploy-components handler applied a project: Ready only once every enabled component's Pods
 * are Ready; a component made unready and ready again (Pods' status, as a kubelet would set
 * it); Deployment churn with no effect on the project's status writes nothing (counted status
 * writes); Deployments no project owns, a recreated project and a project being deleted are
 * acknowledged without a write.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { COMPONENTS } from '../../shared/api/components.ts';
import { COMPONENT_READY_CONDITIONS } from '../../shared/api/conditions.ts';
import { componentResourceName } from '../../shared/api/resource-names.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { PROJECT_RESOURCE } from '../../shared/reconcile/project-store.ts';
import { kubeDeploymentLister, type DeploymentLister } from '../../shared/k8s/deployments.ts';
import {
  freshNamespace,
  kube,
  kubeConnection,
  setPodsReady,
  waitForRollout,
} from '../env/index.ts';
import { deliver } from '../fixtures/chain.ts';
import { chainEventFor, installProjectCrd, patchProject } from '../fixtures/project.ts';
import { preparedProject, readProject, runDeploy } from './deploy-components-support.ts';
import {
  deliverDeployed,
  deliverDeployment,
  deploymentEvent,
  deploymentOf,
  healthUnderTest,
  projectCondition,
  waitForDeployment,
} from './health-aggregate-support.ts';

before(async () => {
  await installProjectCrd();
});

const AUTH_PODS = 'app.kubernetes.io/instance=demo,app.kubernetes.io/name=auth';

async function rollAll(namespace: string): Promise<void> {
  await Promise.all(
    COMPONENTS.map((c) => waitForRollout(namespace, componentResourceName('demo', c))),
  );
}

/** A project applied by deploy-components with every Deployment rolled out. */
async function rolledOutProject(namespace: string, spec: Record<string, unknown> = {}) {
  await preparedProject(namespace, spec);
  await runDeploy(namespace);
  await rollAll(namespace);
}

/** Makes auth's Pods unready and waits until its Deployment counts none available. */
async function breakAuth(namespace: string): Promise<void> {
  await setPodsReady(namespace, AUTH_PODS, false);
  await waitForDeployment(
    namespace,
    'auth',
    'no available Pod',
    (d) => (d.status?.availableReplicas ?? 0) === 0,
  );
}

async function healAuth(namespace: string): Promise<void> {
  await setPodsReady(namespace, AUTH_PODS, true);
  await waitForRollout(namespace, componentResourceName('demo', 'auth'));
}

test("Ready only after every enabled component's Pods are Ready: components.deployed with Auth unready, then Auth's Deployment event", async () => {
  const namespace = await freshNamespace('health-ready');
  const health = healthUnderTest();
  await rolledOutProject(namespace);
  // Auth's Pods never became ready, as far as this reconciliation knows.
  await breakAuth(namespace);

  await deliverDeployed(health, namespace);
  let project = await readProject(namespace);
  const status = project.status;
  assert.ok(status);
  const condition = (type: string) => status.conditions?.find((c) => c.type === type);
  assert.equal(condition('Ready')?.status, 'False', 'applied is not Ready');
  assert.equal(condition('Ready')?.reason, 'ComponentsNotReady');
  assert.match(condition('Ready')?.message ?? '', /Auth \(GoTrue\): .*demo-auth.*0\/1 ready/);
  assert.equal(status.phase, 'DeployingComponents');
  assert.equal(condition('Progressing')?.status, 'True', 'still progressing');
  assert.equal(condition('AuthReady')?.status, 'False');
  assert.equal(condition('AuthReady')?.reason, 'PodsStarting');
  assert.equal(condition('Degraded')?.status, 'False', 'never ready: starting, not degraded');
  assert.equal(condition('Available')?.status, 'True', 'Kong answers');
  for (const c of COMPONENTS.filter((c) => c !== 'auth')) {
    assert.equal(condition(COMPONENT_READY_CONDITIONS[c])?.status, 'True', c);
  }
  assert.equal(status.componentsReady, '6/7');
  const authStatus = status.components?.auth;
  assert.equal(authStatus?.ready, false);
  assert.equal(authStatus.readyReplicas, 0);
  assert.ok(status.lastReconcileTime, 'the chain event records lastReconcileTime');
  const reconciledAt = status.lastReconcileTime;

  await healAuth(namespace);
  await deliverDeployment(health, namespace, 'auth');
  project = await readProject(namespace);
  const ready = project.status;
  assert.ok(ready);
  const now = (type: string) => ready.conditions?.find((c) => c.type === type);
  assert.equal(now('Ready')?.status, 'True', now('Ready')?.message);
  assert.equal(now('Ready')?.reason, 'ComponentsReady');
  assert.equal(ready.phase, 'Running');
  assert.equal(now('Progressing')?.status, 'False');
  assert.equal(now('Progressing')?.reason, 'Succeeded');
  assert.match(now('Progressing')?.message ?? '', /generation 1 finished/);
  assert.equal(now('Degraded')?.status, 'False');
  assert.equal(now('AuthReady')?.status, 'True');
  assert.equal(ready.componentsReady, '7/7');
  assert.equal(ready.lastReconcileTime, reconciledAt, 'a Deployment event never moves it');
  const kong = await deploymentOf(namespace, 'kong');
  assert.deepEqual(ready.components?.kong, {
    enabled: true,
    image: kong.spec?.template.spec?.containers[0]?.image,
    replicas: 1,
    updatedReplicas: 1,
    readyReplicas: 1,
    availableReplicas: 1,
    ready: true,
  });
  const api = `http://demo-kong.${namespace}.svc:8000`;
  assert.deepEqual(ready.endpoints, {
    api,
    auth: `${api}/auth/v1`,
    rest: `${api}/rest/v1`,
    realtime: `${api}/realtime/v1`,
    storage: `${api}/storage/v1`,
    studio: `${api}/`,
  });
  // Every Deployment carries the spec's progress deadline (the default: Kubernetes' own).
  for (const c of COMPONENTS) {
    assert.equal((await deploymentOf(namespace, c)).spec?.progressDeadlineSeconds, 600, c);
  }
});

test('a component made unready: AuthReady=False and Degraded=True with the reason; back to Ready when it recovers', async () => {
  const namespace = await freshNamespace('health-degraded');
  const health = healthUnderTest();
  await rolledOutProject(namespace);
  await deliverDeployed(health, namespace);
  assert.equal((await readProject(namespace)).status?.phase, 'Running');

  await breakAuth(namespace);
  await deliverDeployment(health, namespace, 'auth');
  const degraded = await readProject(namespace);
  const condition = (type: string) => degraded.status?.conditions?.find((c) => c.type === type);
  assert.equal(condition('AuthReady')?.status, 'False');
  assert.equal(condition('AuthReady')?.reason, 'PodsUnavailable');
  assert.equal(condition('Degraded')?.status, 'True');
  assert.equal(condition('Degraded')?.reason, 'ComponentUnavailable');
  assert.match(
    condition('Degraded')?.message ?? '',
    /^Auth \(GoTrue\): Pods of Deployment demo-auth are not ready: 0\/1 ready, 1\/1 updated, 0\/1 available; Available=False \(MinimumReplicasUnavailable\)/,
  );
  assert.equal(condition('Ready')?.status, 'False');
  assert.equal(condition('Ready')?.reason, 'ComponentsDegraded');
  assert.equal(condition('KongReady')?.status, 'True', 'the others are untouched');
  assert.equal(degraded.status?.componentsReady, '6/7');

  await healAuth(namespace);
  await deliverDeployment(health, namespace, 'auth');
  const recovered = await readProject(namespace);
  const now = (type: string) => recovered.status?.conditions?.find((c) => c.type === type);
  assert.equal(now('AuthReady')?.status, 'True');
  assert.equal(now('Degraded')?.status, 'False');
  assert.equal(now('Ready')?.status, 'True');
  assert.ok(recovered.status);
  assert.equal(recovered.status.phase, 'Running');
  assert.equal(recovered.status.componentsReady, '7/7');
});

test("a Deployment event whose list is older than another event's write does not undo it (Running stays Ready, 7/7)", async () => {
  const namespace = await freshNamespace('health-stale-list');
  await rolledOutProject(namespace);
  await breakAuth(namespace);
  await deliverDeployed(healthUnderTest(), namespace);

  // One event lists while Auth is unready and is held before it writes (a fake slow list: the
  // real API server cannot be made to answer late on demand) ...
  let listed: () => void = () => undefined;
  const firstListDone = new Promise<void>((resolve) => (listed = resolve));
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const real = kubeDeploymentLister({ kubeconfigPath: kubeConnection().kubeconfigPath });
  let first = true;
  const slowFirstListFake: DeploymentLister = {
    list: async (ns, selector) => {
      const result = await real.list(ns, selector);
      if (first) {
        first = false;
        listed();
        await held;
      }
      return result;
    },
  };
  const late = deliverDeployment(healthUnderTest(slowFirstListFake), namespace, 'kong');
  await firstListDone;
  // ... while Auth heals and another event makes the project Running.
  await healAuth(namespace);
  await deliverDeployment(healthUnderTest(), namespace, 'auth');
  assert.equal((await readProject(namespace)).status?.phase, 'Running');
  release();
  await late;

  const status = (await readProject(namespace)).status;
  assert.ok(status);
  assert.equal(status.phase, 'Running');
  assert.equal(status.componentsReady, '7/7');
  assert.equal(status.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  assert.equal(status.conditions.find((c) => c.type === 'AuthReady')?.status, 'True');
});

test("Deployment churn with no effect on the project's status writes nothing", async () => {
  const namespace = await freshNamespace('health-churn');
  const health = healthUnderTest();
  await rolledOutProject(namespace);
  await deliverDeployed(health, namespace);
  const settled = await readProject(namespace);
  assert.equal(settled.status?.phase, 'Running');
  const writesBefore = health.writes();
  assert.ok(writesBefore > 0, 'the chain event wrote the status');

  const { apps } = kube();
  const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  for (const c of COMPONENTS) {
    const name = componentResourceName('demo', c);
    // Metadata churn (no new generation) ...
    await apps.patchNamespacedDeployment(
      { namespace, name, body: { metadata: { annotations: { 'example.com/touched': 'yes' } } } },
      merge,
    );
    // ... and a spec change that rolls nothing: a new generation, a new status.observedGeneration.
    await apps.patchNamespacedDeployment(
      { namespace, name, body: { spec: { revisionHistoryLimit: 5 } } },
      merge,
    );
  }
  await rollAll(namespace);
  for (const c of COMPONENTS) {
    await deliverDeployment(health, namespace, c);
    await deliverDeployment(health, namespace, c, 'add');
  }
  // A late event carrying an old state of Auth (0 ready): the live list decides, not the event.
  const auth = await deploymentOf(namespace, 'auth');
  const stale = deploymentEvent(auth, 'update', (object) => {
    (object.status as Record<string, unknown>).readyReplicas = 0;
  });
  assert.equal((await deliver(health.harness, stale)).status, 204);

  assert.equal(health.writes(), writesBefore, 'no status write');
  assert.equal(
    (await readProject(namespace)).metadata.resourceVersion,
    settled.metadata.resourceVersion,
  );
});

test('a Deployment no project owns, a recreated project (another uid) and stale chain events are acknowledged without a write', async () => {
  const namespace = await freshNamespace('health-foreign');
  const health = healthUnderTest();
  await rolledOutProject(namespace);
  const writes = health.writes();

  const { apps } = kube();
  const foreign = await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: 'someone-else', labels: { app: 'x' } },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'x' } },
        template: {
          metadata: { labels: { app: 'x' } },
          spec: { containers: [{ name: 'x', image: 'example.com/x:1' }] },
        },
      },
    },
  });
  const unowned = await deliver(health.harness, deploymentEvent(foreign, 'add'));
  assert.equal(unowned.status, 202, unowned.text);

  const kong = await deploymentOf(namespace, 'kong');
  const recreated = deploymentEvent(kong, 'update', (object) => {
    const metadata = object.metadata as { ownerReferences: { uid: string }[] };
    metadata.ownerReferences = metadata.ownerReferences.map((o) => ({ ...o, uid: 'not-the-uid' }));
  });
  assert.equal((await deliver(health.harness, recreated)).status, 202);

  const deleted = deploymentEvent(kong, 'delete', (object) => {
    const metadata = object.metadata as { ownerReferences: { name: string }[] };
    metadata.ownerReferences = metadata.ownerReferences.map((o) => ({ ...o, name: 'gone' }));
  });
  assert.equal((await deliver(health.harness, deleted)).status, 202);

  const project = await readProject(namespace);
  for (const event of [
    chainEventFor(CHAIN_EVENT.componentsDeployed, project, { uid: 'not-the-uid' }),
    chainEventFor(CHAIN_EVENT.reconcileRequested, project, { uid: 'not-the-uid' }),
  ]) {
    assert.equal((await deliver(health.harness, event)).status, 202);
  }
  assert.equal(health.writes(), writes, 'no status write');
  assert.equal((await readProject(namespace)).status?.componentsReady, undefined);
});

test("a project being deleted: its Deployments' events are acknowledged and its status is left to finalize", async () => {
  const namespace = await freshNamespace('health-deleting');
  const health = healthUnderTest();
  await rolledOutProject(namespace);
  await patchProject(namespace, 'demo', { metadata: { finalizers: ['example.com/hold'] } });
  await kube().customObjects.deleteNamespacedCustomObject({
    ...PROJECT_RESOURCE,
    namespace,
    name: 'demo',
  });
  const before = await readProject(namespace);
  assert.ok(before.metadata.deletionTimestamp);
  const response = await deliverDeployment(health, namespace, 'kong');
  assert.equal(response.status, 202);
  assert.equal(health.writes(), 0);
  assert.equal(
    (await readProject(namespace)).metadata.resourceVersion,
    before.metadata.resourceVersion,
  );
  await patchProject(namespace, 'demo', { metadata: { finalizers: null } });
});

test('reconcile.requested (resync) recomputes from the live Deployments', async () => {
  const namespace = await freshNamespace('health-resync');
  const health = healthUnderTest();
  await rolledOutProject(namespace);
  const project = await readProject(namespace);
  const response = await deliver(
    health.harness,
    chainEventFor(CHAIN_EVENT.reconcileRequested, project, { from: 'resync' }),
  );
  assert.equal(response.status, 204, response.text);
  assert.equal((await projectCondition(namespace, 'Ready'))?.status, 'True');
  assert.equal((await readProject(namespace)).status?.phase, 'Running');
});
