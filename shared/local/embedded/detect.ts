/**
 * Whether `npm start` has a cluster to run against, decided as kubectl finds its kubeconfig:
 * the `--kubeconfig` flag, else KUBECONFIG, else ~/.kube/config. Without one, `npm start`
 * starts the embedded environment instead, and says why in one line.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

/** The token a Pod's service account mounts (client-go's in-cluster configuration). */
export const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** Where the kubeconfig came from. */
export type KubeconfigSource = 'flag' | 'KUBECONFIG' | 'home';

/** The outcome of clusterConfigured. */
export type ClusterChoice =
  | {
      readonly kind: 'kubeconfig';
      /** The kubeconfig file to load (an absolute path). */
      readonly path: string;
      readonly source: KubeconfigSource;
    }
  /** In a Pod: the service account's token and the API server of the environment. */
  | { readonly kind: 'in-cluster' }
  | {
      readonly kind: 'none';
      /** One line for the user: why there is no cluster, and that an embedded one starts. */
      readonly reason: string;
    };

/** What clusterConfigured looks at; all of it passed in, so it is a pure decision. */
export interface ClusterLookup {
  /** The value of `--kubeconfig`, when given. */
  readonly kubeconfigFlag?: string | undefined;
  /** The process environment (KUBECONFIG). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The home directory (os.homedir() by default). */
  readonly home?: string;
  /**
   * The kubeconfig the embedded environment writes. KUBECONFIG naming it (exported in an
   * earlier session) points at an environment that is gone or about to be replaced, so it
   * does not count as a configured cluster.
   */
  readonly embeddedKubeconfigPath?: string;
  /** Whether a file exists (fs.existsSync by default). */
  readonly exists?: (path: string) => boolean;
}

/**
 * Decides which kubeconfig `npm start` uses, or that there is none.
 *
 * A `--kubeconfig` flag is taken as given, even when the file is missing: the user named it,
 * so loading it fails with the client's own error rather than silently starting something
 * else. KUBECONFIG may list several files (kubectl merges them); the first that exists is
 * used, and a KUBECONFIG naming no existing file counts as none (kubectl sees an empty
 * configuration then).
 * @param lookup - the flag, the environment, the home directory
 * @returns the kubeconfig to load, or `none` with the line to print
 */
export function clusterConfigured(lookup: ClusterLookup): ClusterChoice {
  const exists = lookup.exists ?? existsSync;
  const flag = lookup.kubeconfigFlag?.trim();
  if (flag) return { kind: 'kubeconfig', path: resolve(flag), source: 'flag' };

  const embedded = lookup.embeddedKubeconfigPath && resolve(lookup.embeddedKubeconfigPath);
  const variable = lookup.env.KUBECONFIG?.trim();
  // As for kubectl, a KUBECONFIG that is set is the whole search: ~/.kube/config is not tried.
  if (variable) {
    const files = variable
      .split(delimiter)
      .filter((file) => file !== '')
      .map((file) => resolve(file));
    const found = files.find((file) => file !== embedded && exists(file));
    if (found) return { kind: 'kubeconfig', path: found, source: 'KUBECONFIG' };
    const why = files.some((file) => file === embedded)
      ? `KUBECONFIG=${variable} is the embedded environment's own kubeconfig, from an earlier run`
      : `KUBECONFIG=${variable} names no existing file`;
    return none(why);
  }

  const homeConfig = join(lookup.home ?? homedir(), '.kube', 'config');
  if (exists(homeConfig)) return { kind: 'kubeconfig', path: homeConfig, source: 'home' };
  // In a Pod (the standalone Deployment): the service account, as client-go's loading rules.
  if (
    lookup.env.KUBERNETES_SERVICE_HOST &&
    lookup.env.KUBERNETES_SERVICE_PORT &&
    exists(SERVICE_ACCOUNT_TOKEN)
  ) {
    return { kind: 'in-cluster' };
  }
  return none(`no --kubeconfig, no KUBECONFIG, no ${homeConfig}`);
}

function none(why: string): ClusterChoice {
  return {
    kind: 'none',
    reason: `No cluster configured (${why}): starting an embedded environment instead.`,
  };
}
