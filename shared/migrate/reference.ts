/**
 * What `migrate-from-strrl` knows of the reference operator (STRRL/supabase-operator,
 * `supabase.strrl.dev/v1alpha1`), from its shipped CRD and code (reference facts §1, §2, §7):
 * the resource's identity, the shape of its spec as read here, and the images its webhook
 * writes into every stored object.
 */
import { REFERENCE_API_GROUP, REFERENCE_KIND } from '../api/reference-operator.ts';
import type { ComponentName } from '../api/components.ts';

/** The reference operator's only version. */
export const REFERENCE_VERSION = 'v1alpha1';

/** Its resource (plural) name. */
export const REFERENCE_PLURAL = 'supabaseprojects';

/** Its CRD's name. */
export const REFERENCE_CRD_NAME = `${REFERENCE_PLURAL}.${REFERENCE_API_GROUP}`;

/** `apiVersion` of its objects. */
export const REFERENCE_API_VERSION = `${REFERENCE_API_GROUP}/${REFERENCE_VERSION}`;

export { REFERENCE_KIND };

/**
 * The images the reference operator's mutating webhook writes into `spec.<component>.image`
 * of every object it admits (facts §1.3, §7): a value equal to these was most likely not
 * chosen by the user.
 */
export const REFERENCE_DEFAULT_IMAGES: Readonly<Record<ComponentName, string>> = {
  kong: 'kong/kong:3.9.1',
  auth: 'supabase/gotrue:v2.189.0',
  postgrest: 'postgrest/postgrest:v14.12',
  realtime: 'supabase/realtime:v2.102.3',
  storageApi: 'supabase/storage-api:v1.60.4',
  meta: 'supabase/postgres-meta:v0.96.6',
  studio: 'supabase/studio:2026.07.07-sha-a6a04f2',
};

/**
 * The names of the objects the reference operator makes for a project that are also names
 * this reconciler uses (facts §2.0; its Storage API is `<p>-storage`, ours `<p>-storage-api`).
 * Its Deployments and Services have other selectors and its controller reference, so they
 * stand in the way of ours until they are deleted.
 */
export const REFERENCE_WORKLOAD_SUFFIXES = [
  '-kong',
  '-auth',
  '-postgrest',
  '-realtime',
  '-meta',
  '-studio',
] as const;

/** A core/v1 SecretReference as the reference's schema allows it (both fields optional). */
export interface ReferenceSecretRef {
  readonly name?: string;
  readonly namespace?: string;
}

/** A reference operator SupabaseProject, read loosely: any field may be missing or odd. */
export interface ReferenceProject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly uid?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
  };
  readonly spec?: Readonly<Record<string, unknown>>;
  readonly status?: unknown;
}
