/**
 * The only module that loads @kubernetes/client-node. It is imported on first use, not at
 * start-up: the client costs about half a second of module loading (stack-notes, Part 2),
 * which a scale-to-zero function must not pay before it answers its health probe.
 */
import type * as ClientNode from '@kubernetes/client-node';

/** Where the client finds its cluster: a kubeconfig file, or the default lookup. */
export interface KubeClientOptions {
  /**
   * A kubeconfig file. When absent, KUBECONFIG, ~/.kube/config, then the in-cluster service
   * account are tried (KubeConfig.loadFromDefault), so the same code runs locally and in a pod.
   */
  readonly kubeconfigPath?: string | undefined;
}

/** The loaded client module and a KubeConfig built from the options. */
export interface LoadedClient {
  readonly k8s: typeof ClientNode;
  readonly kubeConfig: ClientNode.KubeConfig;
}

/**
 * Loads the client module (once per process) and a KubeConfig.
 * @param options - where to find the cluster
 */
export async function loadClient(options: KubeClientOptions = {}): Promise<LoadedClient> {
  const k8s = await import('@kubernetes/client-node');
  const kubeConfig = new k8s.KubeConfig();
  if (options.kubeconfigPath) kubeConfig.loadFromFile(options.kubeconfigPath);
  else kubeConfig.loadFromDefault();
  return { k8s, kubeConfig };
}
