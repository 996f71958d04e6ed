/**
 * The ports each component listens on (facts §2.1), in one place: Kong's configuration,
 * Studio and Storage address other components' Services by them.
 */

/** Kong's proxy port (the Service's `proxy`). */
export const KONG_PROXY_PORT = 8000;
/** Kong's TLS proxy port (the Service's `proxy-ssl`). */
export const KONG_PROXY_SSL_PORT = 8443;
/** GoTrue's HTTP port (GOTRUE_API_PORT). */
export const AUTH_PORT = 9999;
/** PostgREST's API port. */
export const POSTGREST_PORT = 3000;
/** PostgREST's admin server port (health endpoints only; not in the Service). */
export const POSTGREST_ADMIN_PORT = 3001;
/** Realtime's HTTP and WebSocket port. */
export const REALTIME_PORT = 4000;
/** Storage API's HTTP port. */
export const STORAGE_API_PORT = 5000;
/** postgres-meta's HTTP port (PG_META_PORT). */
export const META_PORT = 8080;
/** Studio's HTTP port. */
export const STUDIO_PORT = 3000;
