/**
 * Helpers for tests of workloads on the test cluster, whose controllers and kwok Nodes make
 * Deployments roll out as on a real cluster: wait for a rollout, make Pods unready and ready
 * again (kwok has no containers whose probes could fail), wait for a namespace's `default`
 * ServiceAccount, wait for garbage collection.
 */
import { PatchStrategy, setHeaderOptions, type V1Deployment } from '@kubernetes/client-node';
import { clusterConnection, kube } from './clients.ts';

/**
 * Polls `probe` every 50 ms until it returns a value.
 * @param what - what is awaited, for the error message
 * @param probe - `{ done: value }` when done, else `{ seen }`: what it saw, for the error
 * @param timeoutMs - how long to wait
 * @throws Error naming `what` and the last state seen when the time runs out
 */
async function eventually<T>(
  what: string,
  probe: () => Promise<{ done: T } | { seen: string }>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await probe();
    if ('done' in result) return result.done;
    if (Date.now() > deadline) {
      throw new Error(`${what} did not happen within ${timeoutMs} ms; last seen: ${result.seen}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 404;
}

/**
 * Waits until a Deployment has rolled out completely, as `kubectl rollout status` decides:
 * the controller has seen its latest generation, and the updated, ready and available
 * replicas, and all replicas (no old Pods left), equal the spec's.
 * @param namespace - its namespace
 * @param name - its name
 * @param timeoutMs - how long to wait
 * @returns the Deployment as last read
 * @throws Error with the last status seen, or the setup's reason when the controllers are missing
 */
export async function waitForRollout(
  namespace: string,
  name: string,
  timeoutMs = 30_000,
): Promise<V1Deployment> {
  clusterConnection();
  const { apps } = kube();
  return eventually(
    `the rollout of Deployment ${namespace}/${name}`,
    async () => {
      const deployment = await apps.readNamespacedDeployment({ namespace, name });
      const want = deployment.spec?.replicas ?? 1;
      const status = deployment.status ?? {};
      const done =
        (status.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 1) &&
        (status.updatedReplicas ?? 0) === want &&
        (status.readyReplicas ?? 0) === want &&
        (status.availableReplicas ?? 0) === want &&
        (status.replicas ?? 0) === want;
      return done
        ? { done: deployment }
        : {
            seen:
              `generation ${String(deployment.metadata?.generation)}, spec replicas ${want}, ` +
              `observedGeneration ${String(status.observedGeneration)}, replicas ` +
              `${String(status.replicas)}, updated ${String(status.updatedReplicas)}, ready ` +
              `${String(status.readyReplicas)}, available ${String(status.availableReplicas)}`,
          };
    },
    timeoutMs,
  );
}

/**
 * Sets the Ready and ContainersReady conditions of the Pods a selector picks, through the
 * status subresource, as a kubelet does when a readiness probe fails or passes again. kwok
 * leaves a Running Pod's conditions alone, so the change stays until the next call.
 * @param namespace - the Pods' namespace
 * @param labelSelector - which Pods, e.g. `app.kubernetes.io/component=auth`
 * @param ready - true to make them ready again
 * @returns the names of the Pods changed
 * @throws Error when the selector picks no Pod (a typo must not pass silently)
 */
export async function setPodsReady(
  namespace: string,
  labelSelector: string,
  ready: boolean,
): Promise<string[]> {
  clusterConnection();
  const { core } = kube();
  const pods = await core.listNamespacedPod({ namespace, labelSelector });
  const names = pods.items
    .filter((pod) => !pod.metadata?.deletionTimestamp)
    .map((pod) => pod.metadata?.name)
    .filter((name): name is string => name !== undefined);
  if (names.length === 0) {
    throw new Error(`no Pod in namespace ${namespace} matches ${labelSelector}`);
  }
  const now = new Date();
  const condition = (type: string) => ({
    type,
    status: ready ? 'True' : 'False',
    lastTransitionTime: now,
    ...(ready ? {} : { reason: 'TestMadeUnready', message: 'set unready by a test' }),
  });
  // A strategic merge patch replaces the two conditions by type and keeps the others.
  await Promise.all(
    names.map((name) =>
      core.patchNamespacedPodStatus(
        {
          namespace,
          name,
          body: { status: { conditions: [condition('Ready'), condition('ContainersReady')] } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      ),
    ),
  );
  return names;
}

/**
 * Waits until the controller-manager has created a namespace's `default` ServiceAccount.
 * A Pod created directly (not by a controller) before that is refused by the ServiceAccount
 * admission plugin.
 * @param namespace - the namespace
 * @param timeoutMs - how long to wait
 * @throws Error when it does not appear, or the setup's reason when the controllers are missing
 */
export async function waitForDefaultServiceAccount(
  namespace: string,
  timeoutMs = 30_000,
): Promise<void> {
  clusterConnection();
  const { core } = kube();
  await eventually(
    `the default ServiceAccount of namespace ${namespace}`,
    async () => {
      try {
        await core.readNamespacedServiceAccount({ namespace, name: 'default' });
        return { done: undefined };
      } catch (error) {
        if (isNotFound(error)) return { seen: 'not found' };
        throw error;
      }
    },
    timeoutMs,
  );
}

/**
 * Waits until an object is gone (404), e.g. garbage-collected after its owner was deleted.
 * @param what - the object, for the error message
 * @param read - reads the object; rejects with a 404 error once it is gone
 * @param timeoutMs - how long to wait
 * @throws Error when it is still there, or the setup's reason when the controllers are missing
 */
export async function waitForDeletion(
  what: string,
  read: () => Promise<unknown>,
  timeoutMs = 30_000,
): Promise<void> {
  clusterConnection();
  await eventually(
    `the deletion of ${what}`,
    async () => {
      try {
        await read();
        return { seen: 'still there' };
      } catch (error) {
        if (isNotFound(error)) return { done: undefined };
        throw error;
      }
    },
    timeoutMs,
  );
}
