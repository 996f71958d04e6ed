/**
 * Server-side apply of plain manifests (any kind), their reads and their deletion, behind a
 * narrow interface. Field-manager conflicts are translated here, at the client boundary, into
 * who owns which field and how it got it (an imperative `Update` such as `kubectl edit` or
 * `kubectl scale`, or another declarative `Apply`), so callers decide what to force without
 * reading the API server's messages.
 */
import type * as ClientNode from '@kubernetes/client-node';
import type { KubernetesObjectApi } from '@kubernetes/client-node';
import { ConflictError, ReconcilerError } from '../runtime/errors.ts';
import { apiCall } from './api-call.ts';
import { loadClient } from './client.ts';
import type { KubeStoreOptions } from './custom-objects.ts';
import { apiStatusCode } from './errors.ts';

/** The field manager of every object the reconciler applies. */
export const FIELD_MANAGER = 'supabase-reconciler';

/** What addresses one namespaced object. */
export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

/** A manifest to apply: a namespaced object as plain data. */
export interface ApplyManifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly [field: string]: unknown;
}

/** An object as the API server stored it. */
export interface StoredObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly uid: string;
    readonly resourceVersion: string;
    readonly ownerReferences?: readonly { readonly uid: string; readonly kind: string }[];
    readonly [field: string]: unknown;
  };
  readonly [field: string]: unknown;
}

/** A field another manager holds with a different value than the one applied. */
export interface FieldConflict {
  /** The other field manager, e.g. `kubectl-edit`. */
  readonly manager: string;
  /** `Update`: changed imperatively (edit, scale, patch); `Apply`: another declarative owner. */
  readonly operation: 'Apply' | 'Update';
  /** The field path as the API server prints it, e.g. `.spec.replicas`. */
  readonly field: string;
  /** The subresource it was changed through (`scale`), if any. */
  readonly subresource?: string;
}

/** What applying one manifest did. */
export type ApplyResult =
  | {
      readonly outcome: 'applied';
      readonly object: StoredObject;
      /** Fields taken back (forced) from imperative `Update` managers; empty when none. */
      readonly reclaimed: readonly FieldConflict[];
    }
  | {
      /** Another `Apply` manager owns fields with other values: nothing was written. */
      readonly outcome: 'conflict';
      readonly conflicts: readonly FieldConflict[];
    };

/** What deploy-components needs of arbitrary objects. */
export interface ObjectApplier {
  /**
   * Server-side applies `manifest` as {@link FIELD_MANAGER}. Conflicts only with `Update`
   * managers are drift: the apply is repeated with force and the reclaimed fields returned.
   * A conflict with another `Apply` manager is never forced.
   * @throws ReconcilerError for anything else (translated at this boundary)
   */
  apply(manifest: ApplyManifest): Promise<ApplyResult>;
  /** @returns the object, or undefined when it does not exist */
  get(ref: ObjectRef): Promise<StoredObject | undefined>;
  /**
   * Deletes the object if it is still the one with `uid` (a precondition: an object made
   * since by someone else under the same name is left alone); dependents go in the background.
   * @returns false when it was already gone
   */
  delete(ref: ObjectRef, uid: string): Promise<boolean>;
}

/** The resource's plural for metrics: `Ingress` -> `ingresses`, `ConfigMap` -> `configmaps`. */
export function pluralOf(kind: string): string {
  const lower = kind.toLowerCase();
  return lower.endsWith('s') ? `${lower}es` : `${lower}s`;
}

/**
 * One field-manager conflict cause as the API server words it (apimachinery's
 * managedfields `printManager`): `conflict with "<manager>"`, then optionally
 * ` with subresource "<name>"`, then ` using <apiVersion>[ at <time>]` for an Update.
 */
const CONFLICT_CAUSE =
  /^conflict with "((?:[^"\\]|\\.)*)"(?: with subresource "((?:[^"\\]|\\.)*)")?( using \S+)?/;

/**
 * The field-manager conflicts an API error reports, or undefined when it is not an apply
 * conflict (another 409, or no answer at all).
 * @param error - what the client threw
 */
export function fieldConflictsOf(error: unknown): FieldConflict[] | undefined {
  if (apiStatusCode(error) !== 409) return undefined;
  let body = (error as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body) as unknown;
    } catch {
      return undefined;
    }
  }
  const causes = (body as { details?: { causes?: unknown } } | null)?.details?.causes;
  if (!Array.isArray(causes)) return undefined;
  const conflicts: FieldConflict[] = [];
  // metav1.StatusCause's Go field Type is `reason` in JSON.
  for (const cause of causes as { reason?: unknown; message?: unknown; field?: unknown }[]) {
    if (cause.reason !== 'FieldManagerConflict' || typeof cause.message !== 'string') continue;
    const match = CONFLICT_CAUSE.exec(cause.message);
    if (!match) continue;
    const unquote = (text: string) => JSON.parse(`"${text}"`) as string;
    conflicts.push({
      manager: unquote(match[1] ?? ''),
      operation: match[3] ? 'Update' : 'Apply',
      field: typeof cause.field === 'string' ? cause.field : '',
      ...(match[2] === undefined ? {} : { subresource: unquote(match[2]) }),
    });
  }
  return conflicts.length > 0 ? conflicts : undefined;
}

/**
 * An ObjectApplier backed by the API server; the client is loaded on the first call.
 * @param options - cluster access and an optional metrics observer
 */
export function kubeObjectApplier(options: KubeStoreOptions = {}): ObjectApplier {
  let api: Promise<{ objects: KubernetesObjectApi; k8s: typeof ClientNode }> | undefined;
  const client = () => {
    api ??= loadClient(options).then(({ k8s, kubeConfig }) => ({
      objects: k8s.KubernetesObjectApi.makeApiClient(kubeConfig),
      k8s,
    }));
    return api;
  };
  const spec = (verb: 'get' | 'patch' | 'delete', ref: ObjectRef, what = verb as string) => ({
    verb,
    resource: pluralOf(ref.kind),
    action: `${what} ${ref.kind} ${ref.namespace}/${ref.name}`,
    observe: options.observe,
  });
  const header = (ref: ObjectRef) => ({
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    metadata: { name: ref.name, namespace: ref.namespace },
  });

  async function patch(manifest: ApplyManifest, force: boolean): Promise<StoredObject> {
    const { objects, k8s } = await client();
    const ref = { ...manifest, ...manifest.metadata };
    return apiCall(spec('patch', ref, force ? 'apply (force)' : 'apply'), async () => {
      const stored = await objects.patch(
        manifest,
        undefined,
        undefined,
        FIELD_MANAGER,
        force,
        k8s.PatchStrategy.ServerSideApply,
      );
      return stored as unknown as StoredObject;
    });
  }

  return {
    async apply(manifest) {
      try {
        return { outcome: 'applied', object: await patch(manifest, false), reclaimed: [] };
      } catch (error) {
        const conflicts =
          error instanceof ConflictError ? fieldConflictsOf(error.cause) : undefined;
        if (!conflicts) throw error;
        const declarative = conflicts.filter((c) => c.operation === 'Apply');
        if (declarative.length > 0) return { outcome: 'conflict', conflicts: declarative };
        return { outcome: 'applied', object: await patch(manifest, true), reclaimed: conflicts };
      }
    },
    async get(ref) {
      const { objects } = await client();
      const stored = await apiCall({ ...spec('get', ref), absentOn404: true }, async () =>
        objects.read(header(ref)),
      );
      return stored as unknown as StoredObject | undefined;
    },
    async delete(ref, uid) {
      const { objects } = await client();
      try {
        const done = await apiCall({ ...spec('delete', ref), absentOn404: true }, () =>
          objects.delete(header(ref), undefined, undefined, undefined, undefined, 'Background', {
            preconditions: { uid },
          }),
        );
        return done !== undefined;
      } catch (error) {
        // The precondition failed: the name now holds another object, which is not ours.
        if (error instanceof ReconcilerError && error instanceof ConflictError) return false;
        throw error;
      }
    },
  };
}
