/**
 * Identity of the SupabaseProject API: group, version, kind and names. Every place that
 * builds a URL, a manifest or an owner reference takes them from here.
 */

/** The API group. */
export const API_GROUP = 'supabase.reconciler.dev';

/** The only version; served and stored. */
export const API_VERSION = 'v1alpha1';

/** `apiVersion` as written in manifests: `<group>/<version>`. */
export const API_GROUP_VERSION = `${API_GROUP}/${API_VERSION}` as const;

/** The kind. */
export const KIND = 'SupabaseProject';

/** The kind of the list type. */
export const LIST_KIND = 'SupabaseProjectList';

/** The resource (plural) name used in URLs. */
export const PLURAL = 'supabaseprojects';

/** The singular name (`kubectl get supabaseproject`). */
export const SINGULAR = 'supabaseproject';

/** Short names (`kubectl get sbp`). */
export const SHORT_NAMES = ['sbp'] as const;

/** Categories (`kubectl get supabase` lists every resource of the category). */
export const CATEGORIES = ['supabase'] as const;

/** The CRD's name: `<plural>.<group>`. */
export const CRD_NAME = `${PLURAL}.${API_GROUP}` as const;
