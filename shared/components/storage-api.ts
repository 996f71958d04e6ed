/**
 * Storage API: files in the project's S3 bucket, behind Kong's `/storage/v1/`.
 *
 * Differences from the reference operator (facts §2.6, §12): DATABASE_URL is URL-encoded and
 * carries the project's sslmode (gap 21, 22); REGION is the bucket's region, not `stub`;
 * GLOBAL_S3_FORCE_PATH_STYLE follows `spec.storage.forcePathStyle` (gap 5); Storage connects
 * as `supabase_storage_admin`; objects are named `<project>-storage-api`; probes on `/status`.
 */
import { STORAGE_SECRET_KEYS } from '../api/secret-keys.ts';
import { assembleComponent, httpProbes, serviceUrl } from './component.ts';
import { jwtEnv } from './env.ts';
import { fromSecret, literal } from './manifests.ts';
import type { BuildInputs, ComponentBuilder, ConnectionUrlSpec } from './types.ts';
import { POSTGREST_PORT, STORAGE_API_PORT } from './ports.ts';

/** Largest upload Storage accepts by default (50 MiB, upstream's and the reference's). */
export const STORAGE_FILE_SIZE_LIMIT = '52428800';

/**
 * Storage's database connection. `supabase_storage_admin` owns the `storage` schema Storage
 * migrates, as upstream Supabase runs it; init-db gives it the database Secret's password
 * (shared/db/role-passwords.ts).
 */
export const STORAGE_API_CONNECTION_URL: ConnectionUrlSpec = {
  key: 'storage-api',
  scheme: 'postgres',
  role: 'supabase_storage_admin',
  sslmode: true,
};

/**
 * Builds the Storage API's Deployment and Service.
 * @param project - the project
 * @param inputs - resolved inputs (bucket, Secret names)
 */
export const buildStorageApi: ComponentBuilder = (project, inputs: BuildInputs) => {
  const { storage, secrets } = inputs;
  return assembleComponent(project, {
    component: 'storageApi',
    ports: [{ name: 'http', port: STORAGE_API_PORT, service: true }],
    // supabase/supabase docker/docker-compose.yml: the storage healthcheck GETs /status on
    // 5000, which answers without a token or a database query.
    probes: httpProbes(STORAGE_API_PORT, '/status'),
    env: [
      ...jwtEnv('storageApi', secrets.jwt),
      fromSecret('DATABASE_URL', secrets.connectionUrls, STORAGE_API_CONNECTION_URL.key),
      literal('FILE_SIZE_LIMIT', STORAGE_FILE_SIZE_LIMIT),
      literal('STORAGE_BACKEND', 's3'),
      literal('GLOBAL_S3_BUCKET', storage.bucket),
      literal('GLOBAL_S3_ENDPOINT', storage.endpoint),
      literal('GLOBAL_S3_FORCE_PATH_STYLE', String(storage.forcePathStyle)),
      fromSecret('AWS_ACCESS_KEY_ID', secrets.storage, STORAGE_SECRET_KEYS.accessKeyId),
      fromSecret('AWS_SECRET_ACCESS_KEY', secrets.storage, STORAGE_SECRET_KEYS.secretAccessKey),
      literal('AWS_DEFAULT_REGION', storage.region),
      literal('REGION', storage.region),
      literal('TENANT_ID', 'stub'),
      literal('POSTGREST_URL', serviceUrl(project, 'postgrest', POSTGREST_PORT)),
    ],
    connectionUrls: [STORAGE_API_CONNECTION_URL],
  });
};
