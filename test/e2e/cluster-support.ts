/**
 * What the end-to-end scenarios on a cluster other than the shared test API server need (a
 * test's private API server, the embedded environment of `npm start`).
 */
import { kubeProjectStore, type LiveProject } from '../../shared/reconcile/project-store.ts';

/**
 * Polls a project of the cluster of `kubeconfigPath` until `done` holds. Failed reads count
 * as "not yet": that cluster may be restarting.
 * @throws Error with the last status or error seen when it does not hold within `timeoutMs`
 */
export async function waitForProjectAt(
  kubeconfigPath: string,
  key: { namespace: string; name: string },
  done: (project: LiveProject) => boolean,
  timeoutMs = 90_000,
): Promise<LiveProject> {
  const store = kubeProjectStore({ kubeconfigPath });
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const project = await store.get(key);
      last = project?.status ?? null;
      if (project && done(project)) return project;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    `${key.namespace}/${key.name} did not reach the expected state in ${timeoutMs} ms; last seen: ${JSON.stringify(last)}`,
  );
}
