/** Installing a CustomResourceDefinition and waiting until it can be used. */
import { PatchStrategy, setHeaderOptions, type ApiextensionsV1Api } from '@kubernetes/client-node';

/**
 * A CRD as plain JSON, as it is written in YAML. (The client's generated model renames
 * `default` to `_default`, so manifests are not typed with it.)
 */
export interface CrdManifest {
  readonly apiVersion: 'apiextensions.k8s.io/v1';
  readonly kind: 'CustomResourceDefinition';
  readonly metadata: { readonly name: string };
  readonly spec: Readonly<Record<string, unknown>>;
}

/**
 * Installs (server-side applies) a CRD and waits until the API server reports it
 * Established. Idempotent: the global setup and test files running in parallel may all
 * apply the same CRD, with the same field manager.
 * @param apiExtensions - a client of the API server, as the administrator
 * @param crd - the manifest
 * @param timeoutMs - how long to wait for Established
 * @param fieldManager - the apply's field manager
 * @throws Error when it is not Established in time, or the API error of the apply
 */
export async function installCrd(
  apiExtensions: ApiextensionsV1Api,
  crd: CrdManifest,
  timeoutMs = 30_000,
  fieldManager = 'test-env',
): Promise<void> {
  const { name } = crd.metadata;
  await apiExtensions.patchCustomResourceDefinition(
    { name, body: crd, fieldManager, force: true },
    setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
  );
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await apiExtensions.readCustomResourceDefinition({ name });
    const established = current.status?.conditions?.some(
      (c) => c.type === 'Established' && c.status === 'True',
    );
    if (established) return;
    if (Date.now() > deadline)
      throw new Error(`CRD ${name} was not Established within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
