/**
 * Names the secrets phase and deploy-components agree on: the generated Secrets, their keys,
 * their labels and the annotations that drive and record a rotation.
 *
 * The four keys the reference operator writes keep its names (`jwt-secret`, `anon-key`,
 * `service-role-key`, `pg-meta-crypto-key`) so that manifests, docs and `secretKeyRef`s
 * written for it carry over. The two Realtime keys are new: the reference operator ships
 * public constants instead (facts §2.5, §4.3, gap 23).
 */
import { auxiliaryResourceName } from '../api/resource-names.ts';
import { DASHBOARD_BASIC_AUTH_SECRET_KEYS } from '../api/secret-keys.ts';
import type { SupabaseProject } from '../api/types.ts';

/** Keys of the Secret `<project>-jwt`. */
export const JWT_SECRET_KEYS = {
  /** The HS256 secret every component verifies JWTs with, used as text (see conventions.ts). */
  jwtSecret: 'jwt-secret',
  /** API key with role `anon`, signed with `jwt-secret`. */
  anonKey: 'anon-key',
  /** API key with role `service_role`, signed with `jwt-secret`. */
  serviceRoleKey: 'service-role-key',
  /** postgres-meta's CRYPTO_KEY (encrypts connection strings Studio sends it). */
  pgMetaCryptoKey: 'pg-meta-crypto-key',
  /** Realtime's SECRET_KEY_BASE (Phoenix signs sessions and tokens with it). */
  realtimeSecretKeyBase: 'realtime-secret-key-base',
  /** Realtime's DB_ENC_KEY (AES-128 key encrypting tenant secrets in its database). */
  realtimeDbEncKey: 'realtime-db-enc-key',
} as const;

/** A key of the Secret `<project>-jwt`. */
export type JwtSecretKey = (typeof JWT_SECRET_KEYS)[keyof typeof JWT_SECRET_KEYS];

/** Every key the Secret `<project>-jwt` must hold, in the order problems are reported. */
export const REQUIRED_JWT_SECRET_KEYS: readonly JwtSecretKey[] = Object.values(JWT_SECRET_KEYS);

/** The username of generated dashboard credentials (the reference operator's default). */
export const DEFAULT_DASHBOARD_USERNAME = 'supabase';

/** Keys of the dashboard basic-auth Secret (the same as a user-provided one). */
export const DASHBOARD_SECRET_KEYS = DASHBOARD_BASIC_AUTH_SECRET_KEYS;

/**
 * Suffix of the generated dashboard Secret. Not one of the auxiliary name suffixes of
 * shared/api: a Secret name is a DNS subdomain (253 characters), not a label, so it must
 * not shorten the longest allowed project name.
 */
export const DASHBOARD_SECRET_SUFFIX = '-dashboard-basic-auth';

/**
 * The name of the Secret holding the JWT secret and the keys.
 * @param projectName - `metadata.name` of the SupabaseProject
 * @returns `<projectName>-jwt`
 */
export function jwtSecretName(projectName: string): string {
  return auxiliaryResourceName(projectName, 'jwt');
}

/**
 * The name of the dashboard basic-auth Secret the reconciler generates when the spec names
 * none.
 * @param projectName - `metadata.name` of the SupabaseProject
 * @returns `<projectName>-dashboard-basic-auth`
 */
export function generatedDashboardSecretName(projectName: string): string {
  return `${projectName}${DASHBOARD_SECRET_SUFFIX}`;
}

/** Where the dashboard credentials of a project are, and who made them. */
export interface DashboardSecretSource {
  /** The Secret's name, in the project's namespace. */
  readonly name: string;
  /** True when the reconciler generates it; false when `spec.studio.dashboardBasicAuthSecretRef` names it. */
  readonly generated: boolean;
}

/**
 * Which Secret holds a project's dashboard credentials (what Kong's DASHBOARD_USERNAME and
 * DASHBOARD_PASSWORD read). The namespace of a reference is ignored as the builders do: pods
 * can only read Secrets of their own namespace, and validate-deps refuses other namespaces.
 * @param project - the project's name and spec
 */
export function dashboardSecretSource(
  project: Pick<SupabaseProject, 'metadata' | 'spec'>,
): DashboardSecretSource {
  const ref = project.spec.studio?.dashboardBasicAuthSecretRef;
  return ref
    ? { name: ref.name, generated: false }
    : { name: generatedDashboardSecretName(project.metadata.name), generated: true };
}

/** Labels on every Secret the reconciler generates. */
export function generatedSecretLabels(projectName: string): Readonly<Record<string, string>> {
  return {
    'app.kubernetes.io/managed-by': 'supabase-reconciler',
    'app.kubernetes.io/part-of': projectName,
  };
}

/**
 * Annotation on a SupabaseProject asking for a new JWT secret: each new value regenerates
 * `jwt-secret` and the keys signed with it once. The value is a request token (a timestamp,
 * a ticket number) and is shown in status; never put a secret in it.
 *
 * A new value starts one chain even though an annotation does not move
 * `metadata.generation`: the first phase records it in `status.lastHandledJwtRotation`
 * (shared/events/decisions.ts, REQUEST_ANNOTATIONS), e.g.
 * `kubectl annotate sbp demo supabase.reconciler.dev/rotate-jwt-secret=$(date -Is) --overwrite`.
 */
export const ROTATE_JWT_SECRET_ANNOTATION = 'supabase.reconciler.dev/rotate-jwt-secret';

/**
 * Annotation on the Secret `<project>-jwt` recording the rotation request last carried out
 * (the value of ROTATE_JWT_SECRET_ANNOTATION), so the same value never rotates twice.
 */
export const ROTATED_FOR_ANNOTATION = 'supabase.reconciler.dev/rotated-for';

/**
 * Annotation on the Secret `<project>-jwt` recording that it was adopted from another
 * operator (the value of shared/api ADOPT_JWT_SECRET_ANNOTATION it was adopted for), so that
 * status keeps saying that the API keys were re-signed until a rotation replaces them all.
 */
export const ADOPTED_FROM_ANNOTATION = 'supabase.reconciler.dev/adopted-from';
