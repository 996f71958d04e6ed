/**
 * The Supabase components a project runs, by the key each has in `spec` and in
 * `status.components`. Every per-component table in this folder is keyed by this list, so
 * TypeScript refuses a table that forgets one.
 */

/** Component keys in the order they appear in `spec` (the reference operator's order). */
export const COMPONENTS = [
  'kong',
  'auth',
  'realtime',
  'postgrest',
  'storageApi',
  'meta',
  'studio',
] as const;

/** A component key: the name of its field in `spec` and in `status.components`. */
export type ComponentName = (typeof COMPONENTS)[number];

/** Human names of the components, for messages and docs. */
export const COMPONENT_DISPLAY_NAMES = {
  kong: 'Kong',
  auth: 'Auth (GoTrue)',
  realtime: 'Realtime',
  postgrest: 'PostgREST',
  storageApi: 'Storage API',
  meta: 'Meta (postgres-meta)',
  studio: 'Studio',
} as const satisfies Record<ComponentName, string>;

/**
 * Whether a value names a component.
 * @param value - any string, for example a key read from an event or a label
 */
export function isComponentName(value: string): value is ComponentName {
  return (COMPONENTS as readonly string[]).includes(value);
}
