/**
 * The cluster operations of `migrate-from-strrl` on a real API server (the kubeconfig of the
 * flag, KUBECONFIG, ~/.kube/config or the in-cluster service account).
 */
import { API_GROUP, API_VERSION, CRD_NAME, PLURAL } from '../api/group-version.ts';
import { REFERENCE_API_GROUP } from '../api/reference-operator.ts';
import { loadClient } from '../k8s/client.ts';
import { apiStatusCode } from '../k8s/errors.ts';
import {
  MIGRATE_FIELD_MANAGER,
  type ApplyOutcome,
  type ExistingProject,
  type MigrationCluster,
} from './command.ts';
import {
  REFERENCE_CRD_NAME,
  REFERENCE_PLURAL,
  REFERENCE_VERSION,
  REFERENCE_WORKLOAD_SUFFIXES,
  type ReferenceProject,
} from './reference.ts';
import type { ProjectManifest } from './translate.ts';

/** The API server's explanation of a refusal (`Status.message`). */
function refusal(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  try {
    const parsed = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // fall through
  }
  return `HTTP ${String(apiStatusCode(error))}`;
}

/** Awaits a read; undefined for 404. */
async function orNotFound<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (error) {
    if (apiStatusCode(error) === 404) return undefined;
    throw error;
  }
}

/** An object's metadata, as much as is read here. */
interface Metadata {
  readonly labels?: Readonly<Record<string, string>>;
  readonly ownerReferences?: readonly { readonly apiVersion: string }[];
  readonly managedFields?: readonly { readonly manager?: string }[];
}

/** Whether the reference operator made an object: its owner reference or its label. */
function madeByReference(metadata: Metadata | undefined): boolean {
  if (!metadata) return false;
  return (
    (metadata.ownerReferences ?? []).some((o) =>
      o.apiVersion.startsWith(`${REFERENCE_API_GROUP}/`),
    ) || metadata.labels?.['app.kubernetes.io/managed-by'] === 'supabase-operator'
  );
}

/**
 * The migration's cluster operations.
 * @param kubeconfigPath - a kubeconfig file; the default lookup when absent
 */
export async function kubeMigrationCluster(
  kubeconfigPath: string | undefined,
): Promise<MigrationCluster> {
  const { k8s, kubeConfig } = await loadClient({
    kubeconfigPath,
    userAgent: 'supabase-reconciler/migrate-from-strrl',
  });
  const extensions = kubeConfig.makeApiClient(k8s.ApiextensionsV1Api);
  const objects = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  const apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const ours = { group: API_GROUP, version: API_VERSION, plural: PLURAL };
  const reference = {
    group: REFERENCE_API_GROUP,
    version: REFERENCE_VERSION,
    plural: REFERENCE_PLURAL,
  };

  const crdServes = async (name: string, version: string) => {
    const crd = await orNotFound(extensions.readCustomResourceDefinition({ name }));
    return crd?.spec.versions.some((v) => v.name === version && v.served) ?? false;
  };

  return {
    referenceCrdInstalled: () => crdServes(REFERENCE_CRD_NAME, REFERENCE_VERSION),
    ourCrdInstalled: () => crdServes(CRD_NAME, API_VERSION),
    async listReferenceProjects(namespace) {
      const list = (
        namespace === undefined
          ? await objects.listClusterCustomObject(reference)
          : await objects.listNamespacedCustomObject({ ...reference, namespace })
      ) as { items: ReferenceProject[] };
      return list.items;
    },
    async existingProject(namespace, name): Promise<ExistingProject | undefined> {
      const found = (await orNotFound(
        objects.getNamespacedCustomObject({ ...ours, namespace, name }),
      )) as { metadata: Metadata } | undefined;
      if (!found) return undefined;
      return {
        managers: (found.metadata.managedFields ?? []).flatMap((f) =>
          f.manager ? [f.manager] : [],
        ),
      };
    },
    async applyProject(manifest: ProjectManifest, dryRun: boolean): Promise<ApplyOutcome> {
      const { namespace, name } = manifest.metadata;
      const before = (await orNotFound(
        objects.getNamespacedCustomObject({ ...ours, namespace, name }),
      )) as { metadata: { resourceVersion: string } } | undefined;
      try {
        const after = (await objects.patchNamespacedCustomObject(
          {
            ...ours,
            namespace,
            name,
            body: manifest,
            fieldManager: MIGRATE_FIELD_MANAGER,
            ...(dryRun ? { dryRun: 'All' } : {}),
          },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
        )) as { metadata: { resourceVersion: string } };
        if (!before) return { result: 'created' };
        return {
          result:
            after.metadata.resourceVersion === before.metadata.resourceVersion
              ? 'unchanged'
              : 'updated',
        };
      } catch (error) {
        const code = apiStatusCode(error);
        // 409: another manager owns fields with other values; 422: invalid; 403: forbidden.
        if (code === 409 || code === 422 || code === 403 || code === 400) {
          return { result: 'refused', message: refusal(error) };
        }
        throw error;
      }
    },
    async referenceObjectsInTheWay(namespace, name) {
      const found: string[] = [];
      for (const suffix of REFERENCE_WORKLOAD_SUFFIXES) {
        const objectName = `${name}${suffix}`;
        const deployment = await orNotFound(
          apps.readNamespacedDeployment({ namespace, name: objectName }),
        );
        if (madeByReference(deployment?.metadata)) found.push(`deployment/${objectName}`);
        const service = await orNotFound(
          core.readNamespacedService({ namespace, name: objectName }),
        );
        if (madeByReference(service?.metadata)) found.push(`service/${objectName}`);
      }
      const kongConfig = `${name}-kong-config`;
      const configMap = await orNotFound(
        core.readNamespacedConfigMap({ namespace, name: kongConfig }),
      );
      if (madeByReference(configMap?.metadata)) found.push(`configmap/${kongConfig}`);
      return found;
    },
  };
}
