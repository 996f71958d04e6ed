/**
 * SupabaseProjects as the phase functions read and write them.
 */
import { API_GROUP, API_VERSION, KIND, PLURAL } from '../api/group-version.ts';
import type { SupabaseProject, SupabaseProjectSpec, SupabaseProjectStatus } from '../api/types.ts';
import {
  kubeCustomObjectStore,
  type CustomObjectStore,
  type KubeStoreOptions,
  type MetadataWriter,
  type ObjectLister,
} from '../k8s/custom-objects.ts';
import type { KubeObject, ObjectMeta } from '../k8s/objects.ts';

/** A SupabaseProject read from the API server: its metadata is complete. */
export type LiveProject = SupabaseProject &
  KubeObject<SupabaseProjectSpec, SupabaseProjectStatus> & { readonly metadata: ObjectMeta };

/** Reads projects and writes their status. */
export type ProjectStore = CustomObjectStore<LiveProject>;

/** Writes projects' metadata (the finalizer). */
export type ProjectMetadataWriter = MetadataWriter<LiveProject>;

/** Lists the projects of every namespace (resync). */
export type ProjectLister = ObjectLister<LiveProject>;

/** The API server's address of SupabaseProjects. */
export const PROJECT_RESOURCE = { group: API_GROUP, version: API_VERSION, plural: PLURAL } as const;

/**
 * A ProjectStore backed by the API server (client loaded on first use).
 * @param options - cluster access and an optional metrics observer
 */
export function kubeProjectStore(
  options: KubeStoreOptions = {},
): ProjectStore & ProjectMetadataWriter & ProjectLister {
  return kubeCustomObjectStore<LiveProject>(PROJECT_RESOURCE, KIND, options);
}
