/**
 * Studio: the dashboard, behind Kong's catch-all route with basic auth.
 *
 * Differences from the reference operator (facts §2.8, §12): the public URLs are the
 * project's (from `studio.publicUrl` / the ingress host), not the in-cluster Kong Service a
 * browser cannot reach (gap 18); probes on `/api/platform/profile`.
 *
 * Studio connects as the database Secret's user (POSTGRES_USER_READ_WRITE): its SQL editor
 * and table editor act on the whole database.
 */
import { DATABASE_SECRET_KEYS } from '../api/secret-keys.ts';
import { assembleComponent, httpProbes, serviceUrl } from './component.ts';
import { jwtEnv } from './env.ts';
import { fromSecret, literal } from './manifests.ts';
import type { BuildInputs, ComponentBuilder } from './types.ts';
import { KONG_PROXY_PORT, META_PORT, STUDIO_PORT } from './ports.ts';

/**
 * Builds Studio's Deployment and Service.
 * @param project - the project
 * @param inputs - resolved inputs (database, public URLs, Secret names)
 */
export const buildStudio: ComponentBuilder = (project, inputs: BuildInputs) => {
  const { database, urls } = inputs;
  return assembleComponent(project, {
    component: 'studio',
    ports: [{ name: 'http', port: STUDIO_PORT, service: true }],
    // supabase/supabase docker/docker-compose.yml: the studio healthcheck fetches
    // /api/platform/profile on 3000 and expects 200 (self-hosted Studio answers it from
    // its own configuration).
    probes: httpProbes(STUDIO_PORT, '/api/platform/profile'),
    env: [
      literal('PORT', String(STUDIO_PORT)),
      literal('HOSTNAME', '0.0.0.0'),
      // Server-side calls stay in the cluster; the browser gets the public URL.
      literal('SUPABASE_URL', serviceUrl(project, 'kong', KONG_PROXY_PORT)),
      literal('SUPABASE_PUBLIC_URL', urls.apiExternal),
      literal('NEXT_PUBLIC_SUPABASE_URL', urls.apiExternal),
      literal('NEXT_PUBLIC_GOTRUE_URL', `${urls.apiExternal.replace(/\/+$/, '')}/auth/v1`),
      literal('NEXT_PUBLIC_SITE_URL', urls.apiExternal),
      literal('STUDIO_PG_META_URL', serviceUrl(project, 'meta', META_PORT)),
      literal('NEXT_PUBLIC_ENABLE_LOGS', 'false'),
      literal('NEXT_ANALYTICS_BACKEND_PROVIDER', 'postgres'),
      literal('ENABLED_FEATURES_LOGS_ALL', 'false'),
      literal('POSTGRES_USER_READ_WRITE', database.user),
      literal('POSTGRES_HOST', database.host),
      literal('POSTGRES_PORT', String(database.port)),
      literal('POSTGRES_DB', database.name),
      fromSecret('POSTGRES_PASSWORD', inputs.secrets.database, DATABASE_SECRET_KEYS.password),
      ...jwtEnv('studio', inputs.secrets.jwt),
    ],
  });
};
