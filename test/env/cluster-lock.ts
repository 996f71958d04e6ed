/**
 * A lock shared by the test files that run at the same time on the one test API server, for
 * the rare state that is cluster-wide and cannot be given to each file (a CRD that one test
 * must see absent while another needs it present). It is a ConfigMap in `default`: creating
 * it takes the lock (409 while another holds it), deleting it gives it back. A lock older
 * than `staleMs` was left by a test process that died, and is taken over.
 */
import { kube } from './index.ts';

const NAMESPACE = 'default';

function status(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Waits for the lock `name`, then holds it.
 * @returns the function that gives it back
 */
export async function acquireClusterLock(
  name: string,
  { timeoutMs = 180_000, staleMs = 300_000 } = {},
): Promise<() => Promise<void>> {
  const { core } = kube();
  const lock = `test-lock-${name}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await core.createNamespacedConfigMap({
        namespace: NAMESPACE,
        body: { metadata: { name: lock }, data: { holder: String(process.pid) } },
      });
      return async () => {
        await core
          .deleteNamespacedConfigMap({ namespace: NAMESPACE, name: lock })
          .catch(() => undefined);
      };
    } catch (error) {
      if (status(error) !== 409) throw error;
    }
    const held = await core
      .readNamespacedConfigMap({ namespace: NAMESPACE, name: lock })
      .catch(() => undefined);
    const since = held?.metadata?.creationTimestamp?.getTime();
    if (since !== undefined && Date.now() - since > staleMs) {
      await core
        .deleteNamespacedConfigMap({ namespace: NAMESPACE, name: lock })
        .catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`the test lock ${lock} was held for more than ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
