/**
 * TypeScript types of the SupabaseProject API, derived from the TypeBox schemas (the single
 * source: the CRD is generated from the same schemas).
 */
import type { Static } from 'typebox';
import type { ComponentName } from './components.ts';
import type { API_GROUP_VERSION, KIND } from './group-version.ts';
import type { DELETION_POLICIES, SSL_MODES } from './schema/spec.ts';
import type { SupabaseProjectSpecSchema } from './schema/spec.ts';
import type {
  ComponentStatusSchema,
  ConditionSchema,
  DependencyStatusSchema,
  EndpointsSchema,
  SupabaseProjectStatusSchema,
} from './schema/status.ts';

/** `spec` of a SupabaseProject. Optional fields may be absent until the server defaults them. */
export type SupabaseProjectSpec = Static<typeof SupabaseProjectSpecSchema>;

/** `status` of a SupabaseProject. */
export type SupabaseProjectStatus = Static<typeof SupabaseProjectStatusSchema>;

/** One entry of `status.conditions` (metav1.Condition). */
export type SupabaseProjectCondition = Static<typeof ConditionSchema>;

/** One entry of `status.components`. */
export type ComponentStatus = Static<typeof ComponentStatusSchema>;

/** `status.dependencies.postgresql` or `status.dependencies.s3`. */
export type DependencyStatus = Static<typeof DependencyStatusSchema>;

/** `status.endpoints`. */
export type Endpoints = Static<typeof EndpointsSchema>;

/** A PostgreSQL sslmode. */
export type SslMode = (typeof SSL_MODES)[number];

/** `spec.database.deletionPolicy`. */
export type DeletionPolicy = (typeof DELETION_POLICIES)[number];

/** `spec.database`. */
export type DatabaseSpec = SupabaseProjectSpec['database'];

/** `spec.storage`. */
export type StorageSpec = SupabaseProjectSpec['storage'];

/** `spec.ingress`. */
export type IngressSpec = NonNullable<SupabaseProjectSpec['ingress']>;

/** A Secret reference as written in the spec (`{name, namespace?}`). */
export type SecretReference = DatabaseSpec['secretRef'];

/** The spec of one component (the common fields plus that component's extra ones). */
export type ComponentSpec<C extends ComponentName = ComponentName> = NonNullable<
  SupabaseProjectSpec[C]
>;

/** One entry of `spec.<component>.extraEnv` (core/v1 EnvVar). */
export type ExtraEnvVar = NonNullable<ComponentSpec['extraEnv']>[number];

/** `spec.<component>.resources`. */
export type ResourceRequirements = NonNullable<ComponentSpec['resources']>;

/** The metadata fields the reconciler reads (a subset of ObjectMeta). */
export interface SupabaseProjectMetadata {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}

/** A SupabaseProject as the API server returns it. */
export interface SupabaseProject {
  apiVersion: typeof API_GROUP_VERSION;
  kind: typeof KIND;
  metadata: SupabaseProjectMetadata;
  spec: SupabaseProjectSpec;
  status?: SupabaseProjectStatus;
}
