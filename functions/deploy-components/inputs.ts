/**
 * The build inputs of a project (shared/components/types.ts BuildInputs): the non-secret keys
 * of its database and storage Secrets, the names of the Secrets pods read, and the public
 * URLs. The database password is read too, but only to render the connection URLs; it never
 * enters BuildInputs.
 */
import {
  REQUIRED_SMTP_SECRET_KEYS,
  REQUIRED_STORAGE_SECRET_KEYS,
  STORAGE_SECRET_KEYS,
} from '../../shared/api/secret-keys.ts';
import { publicUrlOf, type PublicUrlSource } from '../../shared/components/public-url.ts';
import type { BuildInputs } from '../../shared/components/types.ts';
import type { DatabaseTarget } from '../../shared/db/target.ts';
import type { SecretStore } from '../../shared/k8s/secrets.ts';
import { normaliseEndpoint } from '../../shared/s3/target.ts';
import type { LiveProject } from '../../shared/reconcile/project-store.ts';
import {
  readDatabaseTarget,
  readReferencedSecret,
} from '../../shared/reconcile/referenced-secret.ts';
import { dashboardSecretSource, jwtSecretName } from '../../shared/secrets/names.ts';

/** Suffix of the Secret deploy-components renders the connection URLs into. */
export const CONNECTION_URLS_SECRET_SUFFIX = '-db-urls';

/** The port of Kong's proxy Service (facts §2.1). */
export { KONG_PROXY_PORT } from '../../shared/components/ports.ts';

/** `<project>-db-urls`. */
export function connectionUrlsSecretName(projectName: string): string {
  return `${projectName}${CONNECTION_URLS_SECRET_SUFFIX}`;
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
  // Checked again here (validate-deps did first): a Secret deleted or emptied since then
  // fails the phase with its reason rather than a pod that cannot start.
  const smtpRef = project.spec.auth?.smtpSecretRef;
  if (smtpRef) {
    await readReferencedSecret(
      secrets,
      project,
      smtpRef,
      REQUIRED_SMTP_SECRET_KEYS,
      'SMTP Secret',
      'spec.auth.smtpSecretRef',
    );
  }
  const name = project.metadata.name;
  // Derived in shared/: health-aggregate reports the same URL in status.endpoints.
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
        // Endpoint, region and bucket are addresses, not credentials. A bare host becomes
        // https://<host>, the URL validate-deps probed.
        endpoint: normaliseEndpoint(storage[STORAGE_SECRET_KEYS.endpoint].reveal().trim()).endpoint,
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
        ...(smtpRef ? { smtp: smtpRef.name } : {}),
      },
      urls: { apiExternal: url, site: url },
    },
  };
}
