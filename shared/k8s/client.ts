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
  /**
   * The User-Agent of every request (default: the client library's). The API server's audit
   * log records it, so a request can be traced to the function that made it even when several
   * functions share one identity (the local runtime, the standalone Deployment); see
   * {@link functionUserAgent}.
   */
  readonly userAgent?: string | undefined;
}

/** The loaded client module and a KubeConfig built from the options. */
export interface LoadedClient {
  readonly k8s: typeof ClientNode;
  readonly kubeConfig: ClientNode.KubeConfig;
}

/**
 * The User-Agent of a function's requests: `supabase-reconciler/<function>`.
 * @param functionName - the function's name, e.g. `validate-deps`
 */
export function functionUserAgent(functionName: string): string {
  return `supabase-reconciler/${functionName}`;
}

/**
 * Loads the client module (once per process) and a KubeConfig.
 * @param options - where to find the cluster, and the User-Agent to send
 */
export async function loadClient(options: KubeClientOptions = {}): Promise<LoadedClient> {
  const k8s = await import('@kubernetes/client-node');
  const kubeConfig = new k8s.KubeConfig();
  if (options.kubeconfigPath) kubeConfig.loadFromFile(options.kubeconfigPath);
  else kubeConfig.loadFromDefault();
  if (options.userAgent) withUserAgent(k8s, kubeConfig, options.userAgent);
  return { k8s, kubeConfig };
}

/**
 * Makes every API client this KubeConfig builds send `userAgent`. The library's own
 * makeApiClient sets its User-Agent in a middleware that runs after authentication, so the
 * header cannot be set through the KubeConfig's authentication hook: the clients are built
 * the same way as the library builds them, with our header's middleware instead.
 */
function withUserAgent(
  k8s: typeof ClientNode,
  kubeConfig: ClientNode.KubeConfig,
  userAgent: string,
): void {
  kubeConfig.makeApiClient = <T extends ClientNode.ApiType>(
    apiClientType: ClientNode.ApiConstructor<T>,
  ): T => {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig names no current cluster');
    return new apiClientType(
      k8s.createConfiguration({
        baseServer: new k8s.ServerConfiguration(cluster.server, {}),
        authMethods: { default: kubeConfig },
        middleware: [k8s.setHeaderMiddleware('User-Agent', userAgent)],
      }),
    );
  };
}
