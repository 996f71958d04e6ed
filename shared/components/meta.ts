/**
 * postgres-meta: the database API Studio uses (and Kong's `/pg/`, service role only).
 *
 * Differences from the reference operator (facts §2.7): the connection is one URL-encoded
 * PG_META_DB_URL (postgres-meta reads it before the PG_META_DB_* parts, and its own URL
 * building does not percent-encode `%` in a password); probes on `/health`.
 *
 * Meta connects as the database Secret's user: Studio manages the whole database through it
 * (tables, roles, policies in every schema), which the service login roles init-db prepares
 * are not allowed to do.
 */
import { assembleComponent, httpProbes } from './component.ts';
import { jwtEnv } from './env.ts';
import { fromSecret, literal } from './manifests.ts';
import type { BuildInputs, ComponentBuilder, ConnectionUrlSpec } from './types.ts';
import { META_PORT } from './ports.ts';

/** postgres-meta's database connection: the Secret's user, the project's sslmode. */
export const META_CONNECTION_URL: ConnectionUrlSpec = {
  key: 'meta',
  scheme: 'postgresql',
  role: 'database-user',
  sslmode: true,
};

/**
 * Builds postgres-meta's Deployment and Service.
 * @param project - the project
 * @param inputs - resolved inputs (Secret names)
 */
export const buildMeta: ComponentBuilder = (project, inputs: BuildInputs) =>
  assembleComponent(project, {
    component: 'meta',
    ports: [{ name: 'http', port: META_PORT, service: true }],
    // supabase/postgres-meta src/server/app.ts: GET /health answers { date } without a
    // database query.
    probes: httpProbes(META_PORT, '/health'),
    env: [
      literal('PG_META_PORT', String(META_PORT)),
      fromSecret('PG_META_DB_URL', inputs.secrets.connectionUrls, META_CONNECTION_URL.key),
      ...jwtEnv('meta', inputs.secrets.jwt),
    ],
    connectionUrls: [META_CONNECTION_URL],
  });
