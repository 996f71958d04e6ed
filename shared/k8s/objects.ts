/**
 * Plain shapes of Kubernetes objects as the reconciler reads them. They carry only what the
 * shared library decides on; the API types of shared/api refine `spec` and `status`.
 */

/** Namespace and name: the key of a namespaced object (controller-runtime's NamespacedName). */
export interface ObjectKey {
  readonly namespace: string;
  readonly name: string;
}

/** The metadata fields the reconciler reads. */
export interface ObjectMeta {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly resourceVersion: string;
  readonly generation?: number;
  readonly creationTimestamp?: string;
  readonly deletionTimestamp?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly finalizers?: readonly string[];
}

/** A namespaced object with a spec and a status. */
export interface KubeObject<Spec = unknown, Status = unknown> {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
  readonly spec: Spec;
  readonly status?: Status;
}

/** Group, version and plural of a custom resource: how the API server addresses it. */
export interface ResourceRef {
  readonly group: string;
  readonly version: string;
  readonly plural: string;
}

/** `namespace/name`, the form used in logs and messages. */
export function formatKey(key: ObjectKey): string {
  return `${key.namespace}/${key.name}`;
}
