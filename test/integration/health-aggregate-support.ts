/**
 * What the health-aggregate integration tests share: the function's app on the test API
 * server (with controllers and kwok) whose project store counts status writes, the
 * ApiServerSource events of a project's Deployments as the adapter sends them (the whole
 * object, read from the API server), and waits on Deployment states.
 */
import assert from 'node:assert/strict';
import type { V1Deployment } from '@kubernetes/client-node';
import { CloudEvent } from 'cloudevents';
import type request from 'supertest';
import {
  createHealthAggregateHandler,
  HEALTH_AGGREGATE_FUNCTION,
} from '../../functions/health-aggregate/handler.ts';
import type { ComponentName } from '../../shared/api/components.ts';
import { componentResourceName } from '../../shared/api/resource-names.ts';
import { API_SERVER_EVENT, CHAIN_EVENT } from '../../shared/events/types.ts';
import { kubeDeploymentLister, type DeploymentLister } from '../../shared/k8s/deployments.ts';
import { kubeProjectStore, type ProjectStore } from '../../shared/reconcile/project-store.ts';
import { kube, kubeConnection } from '../env/index.ts';
import { deliver } from '../fixtures/chain.ts';
import { createHarness, type Harness } from '../fixtures/function-harness.ts';
import { chainEventFor, readProject } from '../fixtures/project.ts';

/** health-aggregate's app, and how many status writes its project store made. */
export interface HealthUnderTest {
  readonly harness: Harness;
  /** Status writes (replaceStatus calls) so far. */
  writes(): number;
}

/**
 * The function as index.ts builds it, on the test API server; the real kubeProjectStore is
 * wrapped to count replaceStatus calls (every write reaches the API server).
 * @param deployments - how it lists Deployments (default: the real lister)
 */
export function healthUnderTest(deployments?: DeploymentLister): HealthUnderTest {
  const options = { kubeconfigPath: kubeConnection().kubeconfigPath };
  const real = kubeProjectStore(options);
  let writes = 0;
  const projects: ProjectStore = {
    get: (key) => real.get(key),
    replaceStatus: (object) => {
      writes++;
      return real.replaceStatus(object);
    },
  };
  const harness = createHarness(
    createHealthAggregateHandler({
      projects,
      deployments: deployments ?? kubeDeploymentLister(options),
      clock: () => new Date(),
    }),
    { name: HEALTH_AGGREGATE_FUNCTION },
  );
  return { harness, writes: () => writes };
}

/** Reads a component's Deployment. */
export async function deploymentOf(
  namespace: string,
  component: ComponentName,
  name = 'demo',
): Promise<V1Deployment> {
  return kube().apps.readNamespacedDeployment({
    namespace,
    name: componentResourceName(name, component),
  });
}

/**
 * The ApiServerSource (mode Resource) event of a Deployment: the whole object as the API
 * server returns it (JSON), with the adapter's attributes (knative-facts.md §1.2).
 * @param mutate - changes to the object's JSON (a stale or forged event)
 */
export function deploymentEvent(
  deployment: V1Deployment,
  action: keyof typeof API_SERVER_EVENT = 'update',
  mutate: (object: Record<string, unknown>) => void = () => undefined,
): CloudEvent<unknown> {
  const object = {
    ...(JSON.parse(JSON.stringify(deployment)) as Record<string, unknown>),
    apiVersion: 'apps/v1',
    kind: 'Deployment',
  };
  mutate(object);
  const namespace = deployment.metadata?.namespace ?? '';
  const name = deployment.metadata?.name ?? '';
  return new CloudEvent<unknown>({
    type: API_SERVER_EVENT[action],
    source: 'https://10.96.0.1:443',
    subject: `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`,
    datacontenttype: 'application/json',
    kind: 'Deployment',
    apiversion: 'apps/v1',
    name,
    namespace,
    data: object,
  });
}

/** Delivers a Deployment's current state as an update event; expects 2xx. */
export async function deliverDeployment(
  health: HealthUnderTest,
  namespace: string,
  component: ComponentName,
  action: keyof typeof API_SERVER_EVENT = 'update',
): Promise<request.Response> {
  const response = await deliver(
    health.harness,
    deploymentEvent(await deploymentOf(namespace, component), action),
  );
  assert.ok(response.status >= 200 && response.status < 300, `${response.status} ${response.text}`);
  return response;
}

/** Delivers `components.deployed` for the project's current generation; expects 204. */
export async function deliverDeployed(health: HealthUnderTest, namespace: string): Promise<void> {
  const project = await readProject(namespace);
  const response = await deliver(
    health.harness,
    chainEventFor(CHAIN_EVENT.componentsDeployed, project, { from: 'deploy-components' }),
  );
  assert.equal(response.status, 204, response.text);
}

/**
 * Polls a Deployment until `done` holds.
 * @throws Error with the last status seen
 */
export async function waitForDeployment(
  namespace: string,
  component: ComponentName,
  what: string,
  done: (deployment: V1Deployment) => boolean,
  timeoutMs = 30_000,
): Promise<V1Deployment> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const deployment = await deploymentOf(namespace, component);
    if (done(deployment)) return deployment;
    if (Date.now() > deadline) {
      throw new Error(
        `${component}: ${what} within ${timeoutMs} ms; last status ${JSON.stringify(deployment.status)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A project condition by type. */
export async function projectCondition(namespace: string, type: string) {
  return (await readProject(namespace)).status?.conditions?.find((c) => c.type === type);
}
