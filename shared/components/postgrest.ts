/**
 * PostgREST: the REST API (`/rest/v1/`) and, through pg_graphql, `/graphql/v1`.
 *
 * Differences from the reference operator (facts §2.4, §12): the exposed schemas include
 * `graphql_public` so Kong's `/graphql/v1` route (Content-Profile: graphql_public) works
 * (gap 20); the JWT secret is read as text (PGRST_JWT_SECRET_IS_BASE64=false, the convention
 * of shared/secrets/conventions.ts; gap 19); the URL is URL-encoded with the project's
 * sslmode; probes on the admin server's `/ready` and `/live`.
 */
import { assembleComponent, httpProbes } from './component.ts';
import { jwtEnv } from './env.ts';
import { fromSecret, literal } from './manifests.ts';
import type { BuildInputs, ComponentBuilder, ConnectionUrlSpec } from './types.ts';
import { POSTGREST_ADMIN_PORT, POSTGREST_PORT } from './ports.ts';

/**
 * Schemas PostgREST exposes (upstream Supabase's default PGRST_DB_SCHEMAS): `storage` for
 * Storage's own calls, `graphql_public` for `/graphql/v1`.
 */
export const POSTGREST_SCHEMAS = 'public,storage,graphql_public';

/**
 * PostgREST's database connection. PostgREST logs in as `authenticator` and switches to
 * `anon`, `authenticated` or `service_role` per request from the JWT's role: that is how
 * row-level security applies. Logging in as the Secret's admin user would run every request
 * with that user's rights whenever the switch is skipped. init-db gives `authenticator` the
 * database Secret's password (shared/db/role-passwords.ts).
 */
export const POSTGREST_CONNECTION_URL: ConnectionUrlSpec = {
  key: 'postgrest',
  scheme: 'postgres',
  role: 'authenticator',
  sslmode: true,
};

/**
 * Builds PostgREST's Deployment and Service.
 * @param project - the project
 * @param inputs - resolved inputs (Secret names)
 */
export const buildPostgrest: ComponentBuilder = (project, inputs: BuildInputs) =>
  assembleComponent(project, {
    component: 'postgrest',
    ports: [
      { name: 'http', port: POSTGREST_PORT, service: true },
      { name: 'admin', port: POSTGREST_ADMIN_PORT, service: false },
    ],
    // PostgREST docs, references/admin_server ("Health Check"): with admin-server-port set,
    // /live says the process runs, /ready also checks the connection pool and the schema
    // cache (503 until both are good).
    probes: httpProbes(POSTGREST_ADMIN_PORT, '/ready', '/live'),
    env: [
      fromSecret('PGRST_DB_URI', inputs.secrets.connectionUrls, POSTGREST_CONNECTION_URL.key),
      literal('PGRST_DB_SCHEMAS', POSTGREST_SCHEMAS),
      literal('PGRST_DB_EXTRA_SEARCH_PATH', 'public'),
      literal('PGRST_DB_ANON_ROLE', 'anon'),
      literal('PGRST_ADMIN_SERVER_PORT', String(POSTGREST_ADMIN_PORT)),
      ...jwtEnv('postgrest', inputs.secrets.jwt),
    ],
    connectionUrls: [POSTGREST_CONNECTION_URL],
  });
