/**
 * Default container images. They are NOT schema defaults: a schema default is written into
 * the stored object at admission and would pin every existing project to the image of the
 * reconciler version that admitted it (the reference operator's behaviour). Resolving at
 * build time means upgrading the reconciler upgrades every project that did not pin an
 * image, and a project that pins one keeps it.
 */
import type { ComponentName } from './components.ts';
import type { SupabaseProjectSpec } from './types.ts';

/**
 * The image each component runs unless `spec.<component>.image` is set. Same versions as
 * the reference operator's `wellknown_images.go` (synced from supabase/supabase's
 * docker-compose).
 */
export const DEFAULT_IMAGES = {
  kong: 'kong/kong:3.9.1',
  auth: 'supabase/gotrue:v2.189.0',
  realtime: 'supabase/realtime:v2.102.3',
  postgrest: 'postgrest/postgrest:v14.12',
  storageApi: 'supabase/storage-api:v1.60.4',
  meta: 'supabase/postgres-meta:v0.96.6',
  studio: 'supabase/studio:2026.07.07-sha-a6a04f2',
} as const satisfies Record<ComponentName, string>;

/**
 * The image a component runs.
 * @param project - anything with the project's `spec`
 * @param component - the component
 * @returns `spec.<component>.image` when set, otherwise {@link DEFAULT_IMAGES}
 */
export function resolveImage(
  project: { readonly spec: SupabaseProjectSpec },
  component: ComponentName,
): string {
  return project.spec[component]?.image ?? DEFAULT_IMAGES[component];
}
