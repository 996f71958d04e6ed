/**
 * Translates what node-postgres throws into the reconciler's error kinds, at this boundary,
 * with messages that say what is wrong and how to fix it. SQLSTATE codes:
 * https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
import { PermanentError, ReconcilerError, TransientError } from '../runtime/errors.ts';
import { UNREACHABLE_CODES } from '../runtime/network-errors.ts';
import { RedactedError } from '../secrets/redacted-error.ts';
import { describeTarget, type DatabaseTarget } from './target.ts';
import { REASON } from '../api/reasons.ts';

/**
 * Maps a connection or query error to a ReconcilerError.
 * @param error - what node-postgres threw
 * @param target - the database, named in the message (without its password)
 * @param action - what was attempted, e.g. `connect` or `apply migration 0002_roles`
 */
export function translateDbError(
  error: unknown,
  target: DatabaseTarget,
  action: string,
): ReconcilerError {
  if (error instanceof ReconcilerError) return error;
  const where = `${action} on ${describeTarget(target)}`;
  const redacted = RedactedError.of(error, [target.password.reveal()]);
  // The raw error may carry the password anywhere (a server can echo it in any field): only
  // the scrubbed copy is kept, and only its message is quoted.
  const cause = { cause: redacted };
  const message = redacted.message;
  const code = redacted.code ?? '';
  switch (true) {
    case isConcurrentCatalogWrite(error):
      return new TransientError(
        `${where}: another database on this server changed the same role at the same moment (${message}, SQLSTATE ${code}); retrying`,
        cause,
      );
    case code === '28P01':
      return new PermanentError(
        REASON.AuthenticationFailed,
        `${where}: password authentication failed for user "${target.user}"; check the username and password keys of the database Secret`,
        cause,
      );
    case code === '28000':
      return new PermanentError(
        REASON.AuthenticationFailed,
        `${where}: the server refused the connection (${message}); check pg_hba.conf and the sslMode of the SupabaseProject`,
        cause,
      );
    case code === '3D000':
      return new PermanentError(
        REASON.DatabaseNotFound,
        `${where}: database "${target.database}" does not exist; create it or fix the database key of the database Secret`,
        cause,
      );
    case code === '42501':
      return new PermanentError(REASON.InsufficientPrivilege, `${where}: ${message}`, cause);
    case code.startsWith('08') ||
      code === '53300' ||
      code.startsWith('57P') ||
      code === '40001' ||
      code === '40P01':
      // Connection exceptions, too many connections, the server shutting down, restarting or
      // starting up (57P01-57P03: the session was ended by the server), serialization,
      // deadlock.
      return new TransientError(`${where}: ${message} (SQLSTATE ${code})`, cause);
    case UNREACHABLE_CODES.has(code):
      return new TransientError(`${where}: ${message}`, cause);
    case code === 'ENOTFOUND':
      // A Service that does not exist yet looks the same as a typo; retrying covers both.
      return new TransientError(
        `${where}: host "${target.host}" was not found; check the host key of the database Secret`,
        cause,
      );
    case message.includes('does not support SSL'):
      return new PermanentError(
        REASON.TLSNotOffered,
        `${where}: the server does not offer TLS, but sslMode "${target.sslMode}" requires it; enable ssl on the server or set spec.database.sslMode to disable or prefer`,
        cause,
      );
    case /self[- ]signed|unable to verify|certificate/i.test(message):
      return new PermanentError(
        REASON.TLSVerificationFailed,
        `${where}: the server's TLS certificate could not be verified (${message}); put the CA certificate that signed it in the "ca.crt" key of the database Secret, and for verify-full use a host key that the certificate names`,
        cause,
      );
    case message.includes('timeout') || message.includes('Connection terminated'):
      return new TransientError(`${where}: ${message}`, cause);
    case /^[0-9A-Z]{5}$/.test(code):
      return new PermanentError(REASON.SqlError, `${where}: ${message} (SQLSTATE ${code})`, {
        cause,
      });
    default:
      return new TransientError(`${where}: ${message || 'unknown error'}`, cause);
  }
}

/**
 * Whether an error is PostgreSQL refusing one of two transactions that wrote one shared
 * catalog row at once. Roles, their memberships and their settings are server-wide, so the
 * migrations of two projects on one server (each under its own database's lock) can collide:
 * a unique violation on a `pg_` catalog index (`ALTER ROLE … SET` twice), "tuple concurrently
 * updated" (XX000), a serialization failure or a deadlock. Trying again succeeds.
 */
export function isConcurrentCatalogWrite(error: unknown): boolean {
  const e = error as { code?: unknown; constraint?: unknown; message?: unknown } | null;
  switch (e?.code) {
    case '40001':
    case '40P01':
      return true;
    case '23505':
      return typeof e.constraint === 'string' && e.constraint.startsWith('pg_');
    case 'XX000':
      return typeof e.message === 'string' && e.message.includes('concurrently');
    default:
      return false;
  }
}
