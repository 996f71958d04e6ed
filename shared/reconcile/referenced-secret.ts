/**
 * Secrets a SupabaseProject references (database, storage, dashboard basic auth), read and
 * checked the same way by every phase: in the project's namespace, every required key present
 * and non-empty. Problems are PermanentErrors whose messages name the Secret and the key,
 * never a value.
 */
import { X509Certificate } from 'node:crypto';
import {
  DATABASE_SECRET_KEYS,
  OPTIONAL_DATABASE_SECRET_KEYS,
  REQUIRED_DATABASE_SECRET_KEYS,
} from '../api/secret-keys.ts';
import type { SecretReference } from '../api/types.ts';
import type { DatabaseTarget } from '../db/target.ts';
import type { SecretStore } from '../k8s/secrets.ts';
import { PermanentError } from '../runtime/errors.ts';
import type { Sensitive } from '../secrets/sensitive.ts';
import type { LiveProject } from './project-store.ts';
import { REASON } from '../api/reasons.ts';
import { secretNamespaceMessage } from '../api/secret-namespace-policy.ts';

/**
 * Reads a referenced Secret and returns the required keys' values.
 * @param what - how the Secret is called in messages, e.g. `database Secret`
 * @param field - the spec field holding the reference, e.g. `spec.database.secretRef`
 * @param optional - keys read when present and non-empty
 * @throws PermanentError: SecretNamespaceNotAllowed, SecretNotFound, SecretKeyMissing, SecretKeyEmpty
 */
export async function readReferencedSecret<K extends string, O extends string = never>(
  secrets: SecretStore,
  project: LiveProject,
  reference: SecretReference,
  required: readonly K[],
  what: string,
  field: string,
  optional: readonly O[] = [],
): Promise<Record<K, Sensitive> & Partial<Record<O, Sensitive>>> {
  const namespace = project.metadata.namespace;
  if (reference.namespace && reference.namespace !== namespace) {
    throw new PermanentError(
      REASON.SecretNamespaceNotAllowed,
      // The admission policy's words (deploy/admission/), for a cluster without the policy.
      secretNamespaceMessage(field, reference.namespace, namespace),
    );
  }
  const name = reference.name;
  const secret = await secrets.get({ namespace, name });
  if (!secret) {
    throw new PermanentError(
      REASON.SecretNotFound,
      `the ${what} "${name}" (${field}.name) does not exist in namespace "${namespace}"; create it with the keys ${required.join(', ')}`,
    );
  }
  const values = {} as Record<K, Sensitive>;
  for (const key of required) {
    const value = secret.data.get(key);
    if (value === undefined) {
      throw new PermanentError(
        REASON.SecretKeyMissing,
        `the ${what} "${name}" has no key "${key}"; it needs the keys ${required.join(', ')}`,
      );
    }
    if (value.isBlank()) {
      throw new PermanentError(
        REASON.SecretKeyEmpty,
        `the ${what} "${name}" has an empty "${key}"`,
      );
    }
    values[key] = value;
  }
  const present: Partial<Record<O, Sensitive>> = {};
  for (const key of optional) {
    const value = secret.data.get(key);
    if (value !== undefined && !value.isBlank()) present[key] = value;
  }
  return { ...values, ...present };
}

/**
 * Reads the database Secret of a project and builds the connection target.
 * @throws PermanentError as readReferencedSecret, InvalidPort, and InvalidCACertificate for a
 *   `ca.crt` that is not a PEM certificate
 */
export async function readDatabaseTarget(
  secrets: SecretStore,
  project: LiveProject,
): Promise<DatabaseTarget> {
  const reference = project.spec.database.secretRef;
  const values = await readReferencedSecret(
    secrets,
    project,
    reference,
    REQUIRED_DATABASE_SECRET_KEYS,
    'database Secret',
    'spec.database.secretRef',
    [OPTIONAL_DATABASE_SECRET_KEYS.caCertificate],
  );
  // The port is not a secret; it may be shown.
  const portText = values[DATABASE_SECRET_KEYS.port].reveal().trim();
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65_535) {
    throw new PermanentError(
      REASON.InvalidPort,
      `the database Secret "${reference.name}" has port "${portText}", which is not a port number (1-65535)`,
    );
  }
  const ca = values[OPTIONAL_DATABASE_SECRET_KEYS.caCertificate];
  const caCertificate = ca === undefined ? undefined : pemCertificate(ca, reference.name);
  return {
    host: values[DATABASE_SECRET_KEYS.host].reveal().trim(),
    port,
    database: values[DATABASE_SECRET_KEYS.database].reveal().trim(),
    user: values[DATABASE_SECRET_KEYS.username].reveal().trim(),
    password: values[DATABASE_SECRET_KEYS.password],
    sslMode: project.spec.database.sslMode ?? 'require',
    ...(caCertificate === undefined ? {} : { caCertificate }),
  };
}

/** The database Secret's `ca.crt`, checked to be PEM certificates. */
function pemCertificate(value: Sensitive, name: string): string {
  const pem = value.reveal();
  try {
    new X509Certificate(pem);
  } catch {
    throw new PermanentError(
      REASON.InvalidCACertificate,
      `the database Secret "${name}" has a "${OPTIONAL_DATABASE_SECRET_KEYS.caCertificate}" that is not a PEM certificate (-----BEGIN CERTIFICATE-----); put the CA certificate that signed the server's certificate there, or remove the key`,
    );
  }
  return pem;
}
