/** What the end-to-end scenarios share: reading a project and waiting for a state. */
import { kubeProjectStore, type LiveProject } from '../../shared/reconcile/project-store.ts';
import { kubeConnection } from '../env/index.ts';

/** The project as the API server has it now (undefined when it does not exist). */
export function readProject(namespace: string, name: string): Promise<LiveProject | undefined> {
  return kubeProjectStore({ kubeconfigPath: kubeConnection().kubeconfigPath }).get({
    namespace,
    name,
  });
}

/**
 * Polls the project until `done` holds.
 * @throws Error with the last status seen when it does not hold within `timeoutMs`
 */
export async function waitForProject(
  namespace: string,
  name: string,
  done: (project: LiveProject) => boolean,
  timeoutMs = 90_000,
): Promise<LiveProject> {
  const deadline = Date.now() + timeoutMs;
  let last: LiveProject | undefined;
  while (Date.now() < deadline) {
    last = await readProject(namespace, name);
    if (last && done(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    `${namespace}/${name} did not reach the expected state in ${timeoutMs} ms; last status: ${JSON.stringify(last?.status ?? null)}`,
  );
}

/**
 * Polls `probe` until it resolves true.
 * @throws Error naming `what` when it does not within `timeoutMs`
 */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
