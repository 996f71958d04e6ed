/**
 * Auth (GoTrue): users, sessions and tokens, behind Kong's `/auth/v1/`.
 *
 * Differences from the reference operator (facts §2.3, §12): API_EXTERNAL_URL and
 * GOTRUE_SITE_URL come from the project's public URLs, never localhost (gap 18); the
 * database URL is URL-encoded by deploy-components and carries the project's sslmode
 * (gap 22); GoTrue connects as `supabase_auth_admin`, as upstream Supabase does, instead of
 * the Secret's admin user (see AUTH_CONNECTION_URL); probes on `/health`.
 */
import { assembleComponent, httpProbes } from './component.ts';
import { jwtEnv } from './env.ts';
import { fromSecret, literal } from './manifests.ts';
import type { BuildInputs, ComponentBuilder, ConnectionUrlSpec } from './types.ts';
import { AUTH_PORT } from './ports.ts';

/**
 * GoTrue's database connection. `supabase_auth_admin` owns the `auth` schema GoTrue
 * migrates (init-db's migrations create it and give it the database Secret's password, see
 * shared/db/role-passwords.ts), which keeps GoTrue's objects owned by the role upstream
 * Supabase gives them and GoTrue away from everything else the admin user can touch.
 */
export const AUTH_CONNECTION_URL: ConnectionUrlSpec = {
  key: 'auth',
  scheme: 'postgres',
  role: 'supabase_auth_admin',
  sslmode: true,
};

/**
 * Builds Auth's Deployment and Service.
 * @param project - the project
 * @param inputs - resolved inputs (public URLs, Secret names)
 */
export const buildAuth: ComponentBuilder = (project, inputs: BuildInputs) =>
  assembleComponent(project, {
    component: 'auth',
    ports: [{ name: 'http', port: AUTH_PORT, service: true }],
    // supabase/supabase docker/docker-compose.yml: the auth healthcheck GETs /health on 9999.
    // It answers without touching the database, so it also serves as liveness.
    probes: httpProbes(AUTH_PORT, '/health'),
    env: [
      literal('API_EXTERNAL_URL', inputs.urls.apiExternal),
      literal('GOTRUE_SITE_URL', inputs.urls.site),
      literal('GOTRUE_API_HOST', '0.0.0.0'),
      literal('GOTRUE_API_PORT', String(AUTH_PORT)),
      literal('GOTRUE_DB_DRIVER', 'postgres'),
      fromSecret('GOTRUE_DB_DATABASE_URL', inputs.secrets.connectionUrls, AUTH_CONNECTION_URL.key),
      ...jwtEnv('auth', inputs.secrets.jwt),
      literal('GOTRUE_JWT_EXP', '3600'),
      literal('GOTRUE_JWT_ADMIN_ROLES', 'service_role'),
      literal('GOTRUE_JWT_AUD', 'authenticated'),
      literal('GOTRUE_JWT_DEFAULT_GROUP_NAME', 'authenticated'),
      literal('GOTRUE_DISABLE_SIGNUP', 'false'),
      literal('GOTRUE_EXTERNAL_EMAIL_ENABLED', 'true'),
      literal('GOTRUE_MAILER_AUTOCONFIRM', 'true'),
    ],
    connectionUrls: [AUTH_CONNECTION_URL],
  });
