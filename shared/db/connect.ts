/**
 * The only module that imports `pg`: opening connections to the external PostgreSQL with
 * libpq's sslmode semantics, a bounded connect timeout, and errors translated at once.
 */
import pg from 'pg';
import type { ConnectionOptions } from 'node:tls';
import { translateDbError } from './errors.ts';
import type { DatabaseTarget, SslMode } from './target.ts';

/** A connected client; `end()` it when done. */
export type DatabaseClient = pg.Client;

/** Options of a connection. */
export interface ConnectOptions {
  /** Gives up connecting after this long (TransientError). */
  readonly timeoutMs?: number | undefined;
  /** Shown in pg_stat_activity, so a DBA can tell who is connected. */
  readonly applicationName?: string | undefined;
  /** Cancels a statement that runs longer than this, server side. */
  readonly statementTimeoutMs?: number | undefined;
}

/**
 * The TLS settings of node-postgres for a libpq sslmode. node-postgres has no sslmode of its
 * own semantics (it treats them all as verify-full), so they are spelled out here:
 * `require` encrypts without verifying, `verify-ca` verifies the chain but not the host name,
 * `verify-full` verifies both (against the system's CAs).
 */
function tlsFor(mode: Exclude<SslMode, 'allow' | 'prefer'>): false | ConnectionOptions {
  switch (mode) {
    case 'disable':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      return { rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case 'verify-full':
      return { rejectUnauthorized: true };
  }
}

async function open(
  target: DatabaseTarget,
  ssl: false | ConnectionOptions,
  options: ConnectOptions,
): Promise<DatabaseClient> {
  const client = new pg.Client({
    host: target.host,
    port: target.port,
    database: target.database,
    user: target.user,
    password: target.password.reveal(),
    ssl,
    connectionTimeoutMillis: options.timeoutMs ?? 5000,
    application_name: options.applicationName ?? 'supabase-reconciler',
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
  });
  // An idle client whose server goes away emits 'error'; without a listener that crashes the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}

/**
 * Connects to the target database.
 * `prefer` tries TLS first and falls back to plain when the server offers none; `allow` tries
 * plain first and falls back to TLS when the server refuses plain connections (as libpq does).
 * @throws ReconcilerError (PermanentError for wrong credentials, missing database, TLS
 *   problems; TransientError for unreachable or overloaded servers)
 */
export async function connectDatabase(
  target: DatabaseTarget,
  options: ConnectOptions = {},
): Promise<DatabaseClient> {
  try {
    switch (target.sslMode) {
      case 'prefer':
        try {
          return await open(target, { rejectUnauthorized: false }, options);
        } catch (error) {
          if (!(error as Error).message.includes('does not support SSL')) throw error;
          return await open(target, false, options);
        }
      case 'allow':
        try {
          return await open(target, false, options);
        } catch (error) {
          if ((error as { code?: string }).code !== '28000') throw error;
          return await open(target, { rejectUnauthorized: false }, options);
        }
      default:
        return await open(target, tlsFor(target.sslMode), options);
    }
  } catch (error) {
    throw translateDbError(error, target, 'connect');
  }
}

/** The result of a connectivity probe. */
export interface ProbeResult {
  /** Round trip of connect + `select 1`, in ms. */
  readonly latencyMs: number;
  readonly serverVersion: string;
}

/**
 * Connects, runs `select 1`, and disconnects: is the database reachable with these credentials?
 * @throws ReconcilerError as connectDatabase does
 */
export async function probeDatabase(
  target: DatabaseTarget,
  options: ConnectOptions = {},
): Promise<ProbeResult> {
  const started = performance.now();
  const client = await connectDatabase(target, options);
  try {
    await client.query('select 1');
    const latencyMs = Math.round(performance.now() - started);
    const { rows } = await client.query<{ server_version: string }>('show server_version');
    return { latencyMs, serverVersion: rows[0]?.server_version ?? 'unknown' };
  } catch (error) {
    throw translateDbError(error, target, 'select 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}
