/**
 * Condition types a SupabaseProject carries in `status.conditions` (docs/architecture.md "The
 * resource"). Every one is maintained by some phase; none is a placeholder.
 */
import type { ComponentName } from './components.ts';

/** The `<Component>Ready` condition of each component. */
export const COMPONENT_READY_CONDITIONS = {
  kong: 'KongReady',
  auth: 'AuthReady',
  realtime: 'RealtimeReady',
  postgrest: 'PostgRESTReady',
  storageApi: 'StorageAPIReady',
  meta: 'MetaReady',
  studio: 'StudioReady',
} as const satisfies Record<ComponentName, string>;

/** Every condition type. */
export const CONDITION_TYPES = [
  'Ready',
  'Progressing',
  'Available',
  'Degraded',
  'PostgreSQLConnected',
  'S3Connected',
  'DatabaseInitialized',
  'SecretsReady',
  'NetworkReady',
  ...Object.values(COMPONENT_READY_CONDITIONS),
] as const;

/** A condition type of a SupabaseProject. */
export type ConditionType = (typeof CONDITION_TYPES)[number];

/** The `<Component>Ready` condition types. */
export type ComponentReadyConditionType =
  (typeof COMPONENT_READY_CONDITIONS)[keyof typeof COMPONENT_READY_CONDITIONS];

/** `status` values of a condition (metav1.ConditionStatus). */
export const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;

/** A condition's `status`. */
export type ConditionStatus = (typeof CONDITION_STATUSES)[number];

/**
 * Whether a value is one of our condition types.
 * @param value - for example a condition's `type` read from the API server
 */
export function isConditionType(value: string): value is ConditionType {
  return (CONDITION_TYPES as readonly string[]).includes(value);
}
