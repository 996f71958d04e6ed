/**
 * Realtime: database changes, broadcast and presence over WebSockets (`/realtime/v1/`).
 *
 * Differences from the reference operator (facts §2.5, §12): SECRET_KEY_BASE and DB_ENC_KEY
 * are the project's own generated values, not the JWT secret and a public constant (gap 23,
 * keys from shared/secrets/conventions.ts); DB_SSL follows the project's sslmode; no
 * DATABASE_URL (Realtime's config/runtime.exs reads only DB_HOST, DB_PORT, DB_NAME, DB_USER,
 * DB_PASSWORD and DB_SSL, so the reference operator's URL was never read); probes on
 * `/healthcheck`.
 *
 * Realtime connects as the database Secret's user, as upstream Supabase runs it with
 * `supabase_admin`: it creates its `_realtime` schema, publications and replication slots,
 * which needs more than a dedicated login role init-db prepares (there is none for Realtime).
 */
import type { SslMode } from '../api/types.ts';
import { DATABASE_SECRET_KEYS } from '../api/secret-keys.ts';
import { componentResourceName } from '../api/resource-names.ts';
import { assembleComponent, httpProbes } from './component.ts';
import { jwtEnv } from './env.ts';
import { fromSecret, literal } from './manifests.ts';
import type { BuildInputs, ComponentBuilder } from './types.ts';
import { REALTIME_PORT } from './ports.ts';

/**
 * Whether Realtime should use TLS to the database. Realtime has a boolean (DB_SSL) where
 * libpq has six modes: the modes that require encryption turn it on; `disable`, `allow` and
 * `prefer` leave it off, since Realtime cannot fall back. With DB_SSL and no CA file Realtime
 * does not verify the server (verify: :verify_none), so verify-ca and verify-full are
 * encrypted but not verified here.
 * @param mode - `spec.database.sslMode`
 */
export function realtimeDbSsl(mode: SslMode): boolean {
  return mode === 'require' || mode === 'verify-ca' || mode === 'verify-full';
}

/**
 * Builds Realtime's Deployment and Service.
 * @param project - the project
 * @param inputs - resolved inputs (database, Secret names)
 */
export const buildRealtime: ComponentBuilder = (project, inputs: BuildInputs) => {
  const { database } = inputs;
  return assembleComponent(project, {
    component: 'realtime',
    ports: [{ name: 'http', port: REALTIME_PORT, service: true }],
    // supabase/realtime lib/realtime_web/router.ex (v2.102.3): GET /healthcheck answers "ok"
    // with no tenant and no token. Upstream's compose healthcheck uses
    // /api/tenants/<tenant>/health, which needs a bearer token a kubelet probe cannot carry.
    probes: httpProbes(REALTIME_PORT, '/healthcheck'),
    env: [
      literal('PORT', String(REALTIME_PORT)),
      literal('DB_HOST', database.host),
      literal('DB_PORT', String(database.port)),
      literal('DB_NAME', database.name),
      literal('DB_USER', database.user),
      fromSecret('DB_PASSWORD', inputs.secrets.database, DATABASE_SECRET_KEYS.password),
      literal('DB_SSL', String(realtimeDbSsl(database.sslMode))),
      literal('DB_AFTER_CONNECT_QUERY', 'SET search_path TO _realtime'),
      ...jwtEnv('realtime', inputs.secrets.jwt),
      literal('APP_NAME', 'realtime'),
      literal('RLIMIT_NOFILE', '10000'),
      literal('ERL_AFLAGS', '-proto_dist inet_tcp'),
      // Upstream's value: no clustering by DNS (one node per pod).
      literal('DNS_NODES', "''"),
      literal('SEED_SELF_HOST', 'true'),
      // Realtime takes the tenant from the first label of the Host header. Kong proxies to
      // http://<project>-realtime:4000 and sends that host, so the seeded tenant must carry
      // the Service's name.
      literal('SELF_HOST_TENANT_NAME', componentResourceName(project.metadata.name, 'realtime')),
      literal('RUN_JANITOR', 'true'),
      literal('DISABLE_HEALTHCHECK_LOGGING', 'true'),
    ],
  });
};
