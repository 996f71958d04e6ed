/**
 * Where the external PostgreSQL is and how to reach it: what the database Secret and
 * `spec.database.sslMode` say. Connections are built from fields, never from a URL, so a
 * password with `@`, `/` or `%` needs no encoding and cannot break the address.
 */

import type { Sensitive } from '../secrets/sensitive.ts';

import type { SslMode } from '../api/types.ts';

/** libpq's sslmode values (https://www.postgresql.org/docs/current/libpq-ssl.html), from the API. */
export type { SslMode };

/** The external database as the reconciler connects to it. */
export interface DatabaseTarget {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** Wrapped: a target that reaches a log line prints `[redacted]` for it. */
  readonly password: Sensitive;
  readonly sslMode: SslMode;
  /**
   * PEM CA certificate(s) from the database Secret's `ca.crt`, that `verify-ca` and
   * `verify-full` trust instead of the system's CAs. Not a secret, but never logged either.
   */
  readonly caCertificate?: string | undefined;
}

/** `user@host:port/database (sslmode=...)`: how a target is named in messages (no password). */
export function describeTarget(target: DatabaseTarget): string {
  return `${target.user}@${target.host}:${target.port}/${target.database} (sslmode=${target.sslMode})`;
}

/** Whether a mode verifies the server's certificate, and so who answers. */
export function verifiesServer(mode: SslMode): boolean {
  return mode === 'verify-ca' || mode === 'verify-full';
}
