import {
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
} from '@kubernetes/client-node';
import type { ClusterConnection } from './cluster.ts';
import type { KubeConnection } from './kube.ts';
import { readState, requirePart } from './state.ts';

/** The kube-apiserver connection. @throws Error saying what to install when it is missing */
export function kubeConnection(): KubeConnection {
  return requirePart('the Kubernetes API server', readState().kube);
}

/**
 * The controllers and simulated Nodes (kube-controller-manager, kube-scheduler, kwok): what a
 * test needs for Deployments to get Pods, for rollouts and for garbage collection.
 * @throws Error with the setup's reason when they could not start
 */
export function clusterConnection(): ClusterConnection {
  kubeConnection();
  return requirePart(
    "the test cluster's controllers and simulated Nodes (kube-controller-manager, kube-scheduler, kwok)",
    readState().cluster,
  );
}

/** Clients for the test API server, as the administrator. */
export interface KubeClients {
  readonly kubeConfig: KubeConfig;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly customObjects: CustomObjectsApi;
  readonly apiExtensions: ApiextensionsV1Api;
}

let clients: KubeClients | undefined;

/** Clients for the test API server (built once per test file). */
export function kube(): KubeClients {
  if (clients) return clients;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeConnection().kubeconfigPath);
  clients = {
    kubeConfig,
    core: kubeConfig.makeApiClient(CoreV1Api),
    apps: kubeConfig.makeApiClient(AppsV1Api),
    customObjects: kubeConfig.makeApiClient(CustomObjectsApi),
    apiExtensions: kubeConfig.makeApiClient(ApiextensionsV1Api),
  };
  return clients;
}
