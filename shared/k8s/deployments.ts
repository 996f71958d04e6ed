/**
 * A namespace's Deployments, listed by label selector in one request, narrowed to what decides
 * whether a component is rolled out and ready. Timestamps (a condition's lastUpdateTime) are
 * left out on purpose: a status computed from this is the same as long as the rollout state
 * is, so Deployment status churn computes an identical project status and writes nothing.
 */
import type { AppsV1Api, V1Deployment } from '@kubernetes/client-node';
import { MalformedEventError } from '../runtime/errors.ts';
import { describeValue } from '../runtime/describe.ts';
import { apiCall } from './api-call.ts';
import { loadClient } from './client.ts';
import type { KubeStoreOptions } from './custom-objects.ts';
import { isNamespaceName } from './names.ts';

/** One condition of a Deployment (Available, Progressing, ReplicaFailure), without times. */
export interface DeploymentCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}

/** A Deployment as health-aggregate reads it. */
export interface DeploymentState {
  readonly name: string;
  readonly namespace: string;
  /** `metadata.generation` (1 when absent). */
  readonly generation: number;
  /** The uids of its owners (a project owns its components' Deployments). */
  readonly ownerUids: readonly string[];
  /** `spec.replicas` (Kubernetes' default 1 when absent). */
  readonly desiredReplicas: number;
  /** Image of each container of the pod template, by container name. */
  readonly images: Readonly<Record<string, string>>;
  /** `status.observedGeneration` (0 when absent: the controller has not seen it). */
  readonly observedGeneration: number;
  /** `status.replicas`: every Pod, old and new template. */
  readonly replicas: number;
  readonly updatedReplicas: number;
  readonly readyReplicas: number;
  readonly availableReplicas: number;
  readonly conditions: readonly DeploymentCondition[];
}

/** Lists Deployments. */
export interface DeploymentLister {
  /**
   * Lists a namespace's Deployments matching a label selector, in one request.
   * @param namespace - the namespace
   * @param labelSelector - e.g. `app.kubernetes.io/instance=demo,app.kubernetes.io/managed-by=x`
   * @throws ReconcilerError translated from the API server's answer
   */
  list(namespace: string, labelSelector: string): Promise<DeploymentState[]>;
}

/**
 * The narrowed view of a Deployment as the API returns it.
 * @param deployment - the client's object
 */
export function toDeploymentState(deployment: V1Deployment): DeploymentState {
  const status = deployment.status ?? {};
  return {
    name: deployment.metadata?.name ?? '',
    namespace: deployment.metadata?.namespace ?? '',
    generation: deployment.metadata?.generation ?? 1,
    ownerUids: (deployment.metadata?.ownerReferences ?? []).map((o) => o.uid),
    desiredReplicas: deployment.spec?.replicas ?? 1,
    images: Object.fromEntries(
      (deployment.spec?.template.spec?.containers ?? []).map((c) => [c.name, c.image ?? '']),
    ),
    observedGeneration: status.observedGeneration ?? 0,
    replicas: status.replicas ?? 0,
    updatedReplicas: status.updatedReplicas ?? 0,
    readyReplicas: status.readyReplicas ?? 0,
    availableReplicas: status.availableReplicas ?? 0,
    conditions: (status.conditions ?? []).map((c) => ({
      type: c.type,
      status: c.status,
      ...(c.reason === undefined ? {} : { reason: c.reason }),
      ...(c.message === undefined ? {} : { message: c.message }),
    })),
  };
}

/**
 * A DeploymentLister backed by the API server; the client is loaded on the first call.
 * @param options - cluster access and an optional metrics observer
 */
export function kubeDeploymentLister(options: KubeStoreOptions = {}): DeploymentLister {
  let api: Promise<AppsV1Api> | undefined;
  const client = (): Promise<AppsV1Api> => {
    api ??= loadClient(options).then(({ k8s, kubeConfig }) =>
      kubeConfig.makeApiClient(k8s.AppsV1Api),
    );
    return api;
  };
  return {
    async list(namespace, labelSelector) {
      // The namespace reaches the request path (see custom-objects.ts assertValidKey).
      if (!isNamespaceName(namespace)) {
        throw new MalformedEventError(
          `${describeValue(namespace)} is not a namespace name (a DNS-1123 label)`,
        );
      }
      const apps = await client();
      const list = await apiCall(
        {
          verb: 'list',
          resource: 'deployments',
          action: `list Deployments in ${namespace} (${labelSelector})`,
          observe: options.observe,
        },
        () => apps.listNamespacedDeployment({ namespace, labelSelector }),
      );
      return list.items.map(toDeploymentState);
    },
  };
}
