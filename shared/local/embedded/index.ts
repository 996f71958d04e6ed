/**
 * The embedded environment of `npm start`, for the local runtime: whether a cluster is
 * configured, and, when none is, a start of the same real parts the tests use (kube-apiserver
 * + etcd, the controllers, kwok's simulated Nodes, PostgreSQL, an S3 server) with the CRD and
 * a demo project. The starters live beside this file and are shared with test/env.
 *
 * Importing this module is cheap: the starters (and the Kubernetes, PostgreSQL and S3
 * clients they load) are imported only when startEmbeddedEnvironment is called.
 */
import type { EmbeddedEnvironment, EmbeddedOptions } from './environment.ts';

export {
  clusterConfigured,
  type ClusterChoice,
  type ClusterLookup,
  type KubeconfigSource,
} from './detect.ts';
export type { EmbeddedEnvironment, EmbeddedOptions } from './environment.ts';

/**
 * Starts the embedded environment (see environment.ts): builds missing binaries (once, with a
 * progress line per part), starts the parts in parallel, installs the CRD, creates namespace
 * `demo` with the Secrets of a fresh database and bucket, applies
 * deploy/examples/supabaseproject-minimal.yaml, and writes `<stateDir>/kubeconfig`.
 * @param options - `stateDir`, `log` (one line at a time), optional abort `signal`
 * @returns the kubeconfig path, the demo namespace and project, the loopback ranges the
 *   reconciler must be allowed to dial, and `stop()`
 * @throws Error naming the part that did not start and why, after stopping the others
 */
export async function startEmbeddedEnvironment(
  options: EmbeddedOptions,
): Promise<EmbeddedEnvironment> {
  const { startEmbeddedEnvironment: start } = await import('./environment.ts');
  return start(options);
}
