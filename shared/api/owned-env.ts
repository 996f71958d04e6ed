/**
 * Environment variables the reconciler sets on each component's container, split in two:
 *
 * - OWNED: wiring the reconciler must control for the project to work (database and S3
 *   connection, keys from Secrets, ports, URLs between components, JWT settings that must
 *   agree across components). `spec.<component>.extraEnv` may not set them; the CRD
 *   rejects such a manifest with a message naming the variables.
 * - DEFAULTED: settings with a sensible default that a user may want to change and that no
 *   spec field covers (sign-up policy, log settings, buffer sizes). `extraEnv` replaces the
 *   default of the same name (the builder must merge by name, not append a duplicate).
 *
 * Together they are every variable of facts §2 (the reference operator's builders) plus
 * the few our builders add. The deploy-components builders use both lists.
 */
import type { ComponentName } from './components.ts';

/** Database connection variables shared by several components (from the database Secret). */
const DB_CONNECTION = ['DB_HOST', 'DB_PORT', 'DB_NAME', 'DB_USER', 'DB_PASSWORD'] as const;

/** Variables of each component that `extraEnv` may not set. */
export const OWNED_ENV = {
  kong: [
    'KONG_DATABASE',
    'KONG_DECLARATIVE_CONFIG',
    'KONG_ROUTER_FLAVOR',
    'KONG_ADMIN_LISTEN',
    'KONG_PLUGINS',
    'SUPABASE_ANON_KEY',
    'SUPABASE_SERVICE_KEY',
    'DASHBOARD_USERNAME',
    'DASHBOARD_PASSWORD',
    // Exported by the entry-point script for the declarative config's templates.
    'LUA_AUTH_EXPR',
    'LUA_RT_WS_EXPR',
  ],
  auth: [
    'API_EXTERNAL_URL',
    'GOTRUE_API_HOST',
    'GOTRUE_API_PORT',
    'GOTRUE_DB_DRIVER',
    ...DB_CONNECTION,
    'DB_SSL_MODE',
    'GOTRUE_DB_DATABASE_URL',
    'GOTRUE_JWT_SECRET',
    'GOTRUE_JWT_ADMIN_ROLES',
    'GOTRUE_JWT_AUD',
    'GOTRUE_JWT_DEFAULT_GROUP_NAME',
  ],
  realtime: [
    ...DB_CONNECTION,
    'DATABASE_URL',
    'DB_AFTER_CONNECT_QUERY',
    'DB_ENC_KEY',
    'API_JWT_SECRET',
    'METRICS_JWT_SECRET',
    'SECRET_KEY_BASE',
    'APP_NAME',
    'PORT',
    'ERL_AFLAGS',
    'DNS_NODES',
    'SEED_SELF_HOST',
    'SELF_HOST_TENANT_NAME',
  ],
  postgrest: [
    'DB_HOST',
    'DB_PORT',
    'DB_NAME',
    'DB_PASSWORD',
    'PGRST_DB_URI',
    'PGRST_JWT_SECRET',
    'PGRST_JWT_SECRET_IS_BASE64',
    'PGRST_DB_ANON_ROLE',
  ],
  storageApi: [
    'ANON_KEY',
    'SERVICE_KEY',
    'AUTH_JWT_SECRET',
    ...DB_CONNECTION,
    'DB_SSL_MODE',
    'DATABASE_URL',
    'STORAGE_BACKEND',
    'GLOBAL_S3_BUCKET',
    'GLOBAL_S3_ENDPOINT',
    'GLOBAL_S3_FORCE_PATH_STYLE',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_DEFAULT_REGION',
    'REGION',
    'TENANT_ID',
    'POSTGREST_URL',
  ],
  meta: [
    'PG_META_PORT',
    'PG_META_DB_HOST',
    'PG_META_DB_PORT',
    'PG_META_DB_NAME',
    'PG_META_DB_USER',
    'PG_META_DB_PASSWORD',
    'PG_META_DB_SSL_MODE',
    'CRYPTO_KEY',
  ],
  studio: [
    'PORT',
    'HOSTNAME',
    'SUPABASE_URL',
    'SUPABASE_PUBLIC_URL',
    'NEXT_PUBLIC_SUPABASE_URL',
    'NEXT_PUBLIC_GOTRUE_URL',
    'NEXT_PUBLIC_SITE_URL',
    'STUDIO_PG_META_URL',
    'POSTGRES_USER_READ_WRITE',
    'POSTGRES_HOST',
    'POSTGRES_PORT',
    'POSTGRES_DB',
    'POSTGRES_PASSWORD',
    'SUPABASE_ANON_KEY',
    'NEXT_PUBLIC_SUPABASE_ANON_KEY',
    'SUPABASE_SERVICE_KEY',
    'AUTH_JWT_SECRET',
    'PG_META_CRYPTO_KEY',
  ],
} as const satisfies Record<ComponentName, readonly string[]>;

/**
 * Variables the reconciler sets with a default that `extraEnv` may replace. Listed so the
 * builders and their tests agree on what is tunable.
 */
export const DEFAULTED_ENV = {
  kong: [
    'KONG_PROXY_ACCESS_LOG',
    'KONG_ADMIN_ACCESS_LOG',
    'KONG_PROXY_ERROR_LOG',
    'KONG_ADMIN_ERROR_LOG',
    'KONG_DNS_ORDER',
    'KONG_DNS_NOT_FOUND_TTL',
    'KONG_NGINX_PROXY_PROXY_BUFFER_SIZE',
    'KONG_NGINX_PROXY_PROXY_BUFFERS',
  ],
  auth: [
    // The site URL is the user's application, which nothing in the spec describes.
    'GOTRUE_SITE_URL',
    'GOTRUE_JWT_EXP',
    'GOTRUE_DISABLE_SIGNUP',
    'GOTRUE_EXTERNAL_EMAIL_ENABLED',
    'GOTRUE_MAILER_AUTOCONFIRM',
    // Set only with spec.auth.smtpSecretRef (from that Secret). Defaulted, not owned: before
    // the field was read, extraEnv was the way to configure SMTP, and it keeps working.
    'GOTRUE_SMTP_HOST',
    'GOTRUE_SMTP_PORT',
    'GOTRUE_SMTP_USER',
    'GOTRUE_SMTP_PASS',
    'GOTRUE_SMTP_ADMIN_EMAIL',
    'GOTRUE_MAILER_URLPATHS_INVITE',
    'GOTRUE_MAILER_URLPATHS_CONFIRMATION',
    'GOTRUE_MAILER_URLPATHS_RECOVERY',
    'GOTRUE_MAILER_URLPATHS_EMAIL_CHANGE',
  ],
  realtime: ['RLIMIT_NOFILE', 'RUN_JANITOR', 'DISABLE_HEALTHCHECK_LOGGING'],
  postgrest: ['PGRST_DB_SCHEMAS', 'PGRST_DB_EXTRA_SEARCH_PATH'],
  storageApi: ['FILE_SIZE_LIMIT'],
  meta: [],
  studio: [
    'NEXT_PUBLIC_ENABLE_LOGS',
    'NEXT_ANALYTICS_BACKEND_PROVIDER',
    'ENABLED_FEATURES_LOGS_ALL',
  ],
} as const satisfies Record<ComponentName, readonly string[]>;

/**
 * The owned variables a list of extra variables tries to set.
 * @param component - the component the variables are for
 * @param names - names from `spec.<component>.extraEnv`
 * @returns the owned names among them, in the order given (empty when all are allowed)
 */
export function ownedEnvConflicts(component: ComponentName, names: readonly string[]): string[] {
  const owned: readonly string[] = OWNED_ENV[component];
  return names.filter((name) => owned.includes(name));
}
