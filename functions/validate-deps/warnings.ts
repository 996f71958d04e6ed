/**
 * A Kubernetes Event of type Warning on a project whose database connection does not verify
 * the server (sslMode disable, allow, prefer or require): whoever sits on the network path
 * could pose as the database and receive its password. Recorded once per chain, best effort:
 * a failed Event never fails the phase.
 */
import { API_GROUP_VERSION, KIND, SPEC_DEFAULTS } from '../../shared/api/index.ts';
import { OPTIONAL_DATABASE_SECRET_KEYS } from '../../shared/api/secret-keys.ts';
import { verifiesServer, type SslMode } from '../../shared/db/target.ts';
import type { PhaseTarget } from '../../shared/reconcile/index.ts';
import { ReconcilerError } from '../../shared/runtime/errors.ts';
import type { EventContext } from '../../shared/runtime/handler.ts';
import type { ValidateDepsDeps } from './deps.ts';
import { EVENT_REASON } from '../../shared/api/reasons.ts';

/** What the mode leaves open, in words. */
function exposure(mode: SslMode): string {
  switch (mode) {
    case 'disable':
      return 'the connection to PostgreSQL is not encrypted and the server is not verified';
    case 'allow':
    case 'prefer':
      return 'the connection to PostgreSQL may fall back to plain text, and the server is not verified';
    default:
      return "the connection to PostgreSQL is encrypted, but the server's certificate is not verified";
  }
}

/**
 * The Warning's message for a mode that does not verify the server, or undefined for one
 * that does.
 * @param secretName - the database Secret's name, where the CA goes
 */
export function unverifiedDatabaseMessage(mode: SslMode, secretName: string): string | undefined {
  if (verifiesServer(mode)) return undefined;
  return `spec.database.sslMode is "${mode}": ${exposure(mode)}, so anyone on the network path could pose as the database and receive its password; set spec.database.sslMode to verify-full and, unless the server's certificate comes from a public CA, put the CA certificate in the "${OPTIONAL_DATABASE_SECRET_KEYS.caCertificate}" key of the database Secret "${secretName}"`;
}

/**
 * Records the Warning when the project's sslMode does not verify the server.
 * @param target - the project as just read
 */
export async function warnUnverifiedDatabase(
  deps: Pick<ValidateDepsDeps, 'events'>,
  target: PhaseTarget,
  context: Pick<EventContext, 'logger'>,
): Promise<void> {
  const { spec, metadata } = target.project;
  const message = unverifiedDatabaseMessage(
    spec.database.sslMode ?? SPEC_DEFAULTS.sslMode,
    spec.database.secretRef.name,
  );
  if (message === undefined) return;
  try {
    await deps.events.record(
      {
        apiVersion: API_GROUP_VERSION,
        kind: KIND,
        namespace: metadata.namespace,
        name: metadata.name,
        uid: metadata.uid,
      },
      { type: 'Warning', reason: EVENT_REASON.DatabaseServerNotVerified, message },
    );
  } catch (error) {
    if (!(error instanceof ReconcilerError)) throw error;
    context.logger.warn(
      { reason: EVENT_REASON.DatabaseServerNotVerified, error: error.message },
      'the Warning Event could not be recorded',
    );
  }
}
