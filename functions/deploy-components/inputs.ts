/**
 * The build inputs of a project (shared/components/types.ts BuildInputs): the non-secret keys
 * of its database and storage Secrets, the names of the Secrets pods read, and the public
 * URLs. The database password is read too, but only to render the connection URLs; it never
 * enters BuildInputs.
 */
import { componentResourceName } from '../../shared/api/resource-names.ts';
import { REQUIRED_STORAGE_SECRET_KEYS, STORAGE_SECRET_KEYS } from '../../shared/api/secret-keys.ts';
import type { BuildInputs } from '../../shared/components/types.ts';
import type { DatabaseTarget } from '../../shared/db/target.ts';
import type { SecretStore } from '../../shared/k8s/secrets.ts';
import type { LiveProject } from '../../shared/reconcile/project-store.ts';
import {
  readDatabaseTarget,
  readReferencedSecret,
} from '../../shared/reconcile/referenced-secret.ts';
import { dashboardSecretSource, jwtSecretName } from '../../shared/secrets/names.ts';

/** Suffix of the Secret deploy-components renders the connection URLs into. */
export const CONNECTION_URLS_SECRET_SUFFIX = '-db-urls';

/** The port of Kong's proxy Service (facts §2.1), used for the in-cluster URL. */
export const KONG_PROXY_PORT = 8000;

/** `<project>-db-urls`. */
export function connectionUrlsSecretName(projectName: string): string {
  return `${projectName}${CONNECTION_URLS_SECRET_SUFFIX}`;
}

/** Where the public URLs come from, for status messages and the README. */
export type PublicUrlSource = 'studio.publicUrl' | 'ingress.host' | 'in-cluster';

/**
 * The URL clients reach Kong at: `studio.publicUrl`, else `https://<ingress.host>` when the
 * Ingress is enabled, else Kong's in-cluster Service URL. Never localhost: a browser or a
 * GoTrue e-mail link pointing at localhost reaches nothing.
 * @param project - the live project
 */
export function publicUrlOf(project: LiveProject): { url: string; source: PublicUrlSource } {
  const publicUrl = project.spec.studio?.publicUrl?.trim();
  if (publicUrl) return { url: publicUrl.replace(/\/+$/, ''), source: 'studio.publicUrl' };
  const ingress = project.spec.ingress;
  if (ingress?.enabled && ingress.host) {
    return { url: `https://${ingress.host}`, source: 'ingress.host' };
  }
  const kong = componentResourceName(project.metadata.name, 'kong');
  return {
    url: `http://${kong}.${project.metadata.namespace}.svc:${KONG_PROXY_PORT}`,
    source: 'in-cluster',
  };
}

/** The resolved inputs and the database connection (with its password) for the URLs. */
export interface ResolvedInputs {
  readonly inputs: BuildInputs;
  /** The database Secret's values: the password renders `<project>-db-urls` only. */
  readonly database: DatabaseTarget;
  readonly publicUrlSource: PublicUrlSource;
}

/**
 * Reads the project's Secrets and resolves the build inputs.
 * @throws PermanentError from shared/reconcile/referenced-secret.ts (missing Secret or key)
 */
export async function resolveInputs(
  secrets: SecretStore,
  project: LiveProject,
): Promise<ResolvedInputs> {
  const database = await readDatabaseTarget(secrets, project);
  const storage = await readReferencedSecret(
    secrets,
    project,
    project.spec.storage.secretRef,
    REQUIRED_STORAGE_SECRET_KEYS,
    'storage Secret',
    'spec.storage.secretRef',
  );
  const name = project.metadata.name;
  const { url, source } = publicUrlOf(project);
  return {
    database,
    publicUrlSource: source,
    inputs: {
      database: {
        host: database.host,
        port: database.port,
        name: database.database,
        user: database.user,
        sslMode: database.sslMode,
      },
      storage: {
        // Endpoint, region and bucket are addresses, not credentials.
        endpoint: storage[STORAGE_SECRET_KEYS.endpoint].reveal().trim(),
        region: storage[STORAGE_SECRET_KEYS.region].reveal().trim(),
        bucket: storage[STORAGE_SECRET_KEYS.bucket].reveal().trim(),
        forcePathStyle: project.spec.storage.forcePathStyle ?? true,
      },
      secrets: {
        database: project.spec.database.secretRef.name,
        storage: project.spec.storage.secretRef.name,
        jwt: jwtSecretName(name),
        dashboard: dashboardSecretSource(project).name,
        connectionUrls: connectionUrlsSecretName(name),
      },
      urls: { apiExternal: url, site: url },
    },
  };
}
