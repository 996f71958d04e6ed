/**
 * Moving over from the reference operator (STRRL/supabase-operator, API group
 * `supabase.strrl.dev`): how its objects are recognised, and the annotation by which a user
 * (or `supabase-reconciler migrate-from-strrl`) asks the reconciler to take over what it made.
 * Nothing of the reference operator is ever taken over without that annotation.
 */

/** The reference operator's API group. */
export const REFERENCE_API_GROUP = 'supabase.strrl.dev';

/** The reference operator's kind (the same name as ours, in its own group). */
export const REFERENCE_KIND = 'SupabaseProject';

/**
 * Annotation on a SupabaseProject asking the secrets phase to adopt the Secret
 * `<project>-jwt` that the reference operator made for the project of the same name. Its only
 * accepted value is ADOPT_FROM_REFERENCE_OPERATOR. Adoption keeps the JWT secret (its text
 * is what Supabase Auth signs sessions with), re-signs `anon-key` and `service-role-key`
 * with that text (the reference signed them with the base64-decoded bytes, which Auth,
 * Storage and Realtime reject), adds the keys the reference never made, and replaces the
 * reference's owner reference with the project's. Clients need the new API keys afterwards.
 *
 * `kubectl annotate sbp demo supabase.reconciler.dev/adopt-jwt-secret=strrl`
 */
export const ADOPT_JWT_SECRET_ANNOTATION = 'supabase.reconciler.dev/adopt-jwt-secret';

/** The value of ADOPT_JWT_SECRET_ANNOTATION that names the reference operator. */
export const ADOPT_FROM_REFERENCE_OPERATOR = 'strrl';
