/**
 * Who a Secret belongs to, seen from one project: this project (we may change it), a
 * deleted project of the same name (garbage collection will remove it), or someone else
 * (a user, or another tool: we read it and never write it).
 */
import { API_GROUP, API_GROUP_VERSION, KIND } from '../../shared/api/group-version.ts';
import type { ObjectKey } from '../../shared/k8s/objects.ts';
import type { OwnerReference, SecretObject } from '../../shared/k8s/secrets.ts';

/** The project a phase works for, as the Secret planners need it. */
export interface ProjectRef {
  /** Namespace and name of the SupabaseProject (its Secrets live in the same namespace). */
  readonly key: ObjectKey;
  readonly uid: string;
  /** The value of the rotation annotation, when set (a request token, not a secret). */
  readonly rotationRequest?: string | undefined;
  /**
   * The value of the adoption annotation (shared/api ADOPT_JWT_SECRET_ANNOTATION), when set:
   * whose `<project>-jwt` the user allows the reconciler to take over.
   */
  readonly adoptionRequest?: string | undefined;
}

/** How a Secret relates to the project. */
export type Ownership = 'ours' | 'previousProject' | 'foreign';

/**
 * The controller reference that makes the project own a Secret: garbage-collected with the
 * project, and deletion of the project waits for it (blockOwnerDeletion).
 * @param project - the owning project
 */
export function projectOwnerReference(project: ProjectRef): OwnerReference {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: KIND,
    name: project.key.name,
    uid: project.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * How a Secret relates to a project.
 * @param secret - the Secret as read
 * @param project - the project being reconciled
 */
export function ownershipOf(secret: SecretObject, project: ProjectRef): Ownership {
  if (secret.ownerReferences.some((o) => o.uid === project.uid)) return 'ours';
  const fromDeletedProject = secret.ownerReferences.some(
    (o) =>
      o.controller === true &&
      o.kind === KIND &&
      o.apiVersion.startsWith(`${API_GROUP}/`) &&
      o.name === project.key.name,
  );
  return fromDeletedProject ? 'previousProject' : 'foreign';
}
