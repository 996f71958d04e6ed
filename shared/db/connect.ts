/**
 * The only module that imports `pg`: opening connections to the external PostgreSQL with
 * libpq's sslmode semantics, through the egress policy (the host is resolved and checked
 * once, and the connection goes to the checked address), with bounded waits and errors
 * translated at once.
 */
import { checkServerIdentity, TLSSocket, type ConnectionOptions } from 'node:tls';
import { isIP } from 'node:net';
import pg from 'pg';
import type { EgressPolicy } from '../net/egress.ts';
import { TransientError } from '../runtime/errors.ts';
import { translateDbError } from './errors.ts';
import { describeTarget, verifiesServer, type DatabaseTarget, type SslMode } from './target.ts';

/** A connected client; `end()` it when done. */
export type DatabaseClient = pg.Client;

/** Default bound of a connect, and of a whole probe. */
export const DEFAULT_DB_TIMEOUT_MS = 5000;

/** Options of a connection. */
export interface ConnectOptions {
  /**
   * Which addresses may be dialled. Required: the host comes from a tenant's Secret. Tests
   * that reach the test servers on loopback pass a policy that allows loopback.
   */
  readonly egress: EgressPolicy;
  /** Gives up connecting after this long (TransientError). */
  readonly timeoutMs?: number | undefined;
  /** Shown in pg_stat_activity, so a DBA can tell who is connected. */
  readonly applicationName?: string | undefined;
  /** Cancels a statement that runs longer than this, server side. */
  readonly statementTimeoutMs?: number | undefined;
  /** Destroys the connection (its socket) when aborted, whatever it is waiting for. */
  readonly signal?: AbortSignal | undefined;
}

/** Where the database Secret's host is for the egress policy's messages. */
const DATABASE_PURPOSE = {
  what: 'the database host',
  source: 'the host key of the database Secret',
};

/**
 * The TLS settings of node-postgres for a libpq sslmode. node-postgres has no sslmode of its
 * own semantics (it treats them all as verify-full), so they are spelled out here:
 * `require` encrypts without verifying, `verify-ca` verifies the chain but not the host name,
 * `verify-full` verifies both, against the database Secret's `ca.crt` when it has one, else
 * the system's CAs. The socket goes to the checked address, so the host name the certificate
 * is checked against (and sent as SNI) is the Secret's host, not the address.
 */
function tlsFor(
  mode: Exclude<SslMode, 'allow' | 'prefer'>,
  target: DatabaseTarget,
): false | ConnectionOptions {
  // SNI must not be an IP address (RFC 6066, section 3).
  const servername = isIP(target.host) === 0 ? { servername: target.host } : {};
  const ca = target.caCertificate === undefined ? {} : { ca: target.caCertificate };
  switch (mode) {
    case 'disable':
      return false;
    case 'require':
      return { rejectUnauthorized: false, ...servername };
    case 'verify-ca':
      return {
        rejectUnauthorized: true,
        checkServerIdentity: () => undefined,
        ...servername,
        ...ca,
      };
    case 'verify-full':
      return {
        rejectUnauthorized: true,
        checkServerIdentity: (_host, cert) => checkServerIdentity(target.host, cert),
        ...servername,
        ...ca,
      };
  }
}

async function open(
  target: DatabaseTarget,
  address: string,
  ssl: false | ConnectionOptions,
  options: ConnectOptions,
): Promise<DatabaseClient> {
  const client = new pg.Client({
    // The checked address, never the name again: no second DNS answer between check and connect.
    host: address,
    port: target.port,
    database: target.database,
    user: target.user,
    password: target.password.reveal(),
    ssl,
    connectionTimeoutMillis: options.timeoutMs ?? DEFAULT_DB_TIMEOUT_MS,
    application_name: options.applicationName ?? 'supabase-reconciler',
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
  });
  // An idle client whose server goes away emits 'error'; without a listener that crashes the process.
  client.on('error', () => undefined);
  const destroy = () => {
    destroyClient(client);
  };
  options.signal?.addEventListener('abort', destroy, { once: true });
  client.once('end', () => options.signal?.removeEventListener('abort', destroy));
  try {
    if (options.signal?.aborted) throw new Error('aborted before connecting');
    await client.connect();
    return client;
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}

/** Closes a client's socket at once, failing whatever it waits for (connect, a query). */
function destroyClient(client: DatabaseClient): void {
  client.connection.stream.destroy();
}

/**
 * Connects to the target database.
 * `prefer` tries TLS first and falls back to plain when the server offers none; `allow` tries
 * plain first and falls back to TLS when the server refuses plain connections (as libpq does).
 * @throws ReconcilerError (PermanentError for wrong credentials, missing database, TLS
 *   problems, an address the egress policy refuses (EgressRefused); TransientError for
 *   unreachable or overloaded servers)
 */
export async function connectDatabase(
  target: DatabaseTarget,
  options: ConnectOptions,
): Promise<DatabaseClient> {
  try {
    const [first] = await options.egress.resolve(target.host, DATABASE_PURPOSE);
    const address = first?.address ?? target.host;
    switch (target.sslMode) {
      case 'prefer':
        try {
          return await open(target, address, tlsFor('require', target), options);
        } catch (error) {
          if (!(error as Error).message.includes('does not support SSL')) throw error;
          return await open(target, address, false, options);
        }
      case 'allow':
        try {
          return await open(target, address, false, options);
        } catch (error) {
          if ((error as { code?: string }).code !== '28000') throw error;
          return await open(target, address, tlsFor('require', target), options);
        }
      default:
        return await open(target, address, tlsFor(target.sslMode, target), options);
    }
  } catch (error) {
    throw translateDbError(error, target, 'connect');
  }
}

/** How a connection is protected. */
export interface ConnectionSecurity {
  /** Whether the connection is encrypted (TLS). `prefer` and `allow` may end up without. */
  readonly encrypted: boolean;
  /** Whether the server's certificate was verified (verify-ca, verify-full). */
  readonly serverVerified: boolean;
}

/**
 * How `client` is protected, given the mode it was opened with.
 * @param client - a connected client of connectDatabase
 */
export function connectionSecurity(client: DatabaseClient, mode: SslMode): ConnectionSecurity {
  const encrypted = client.connection.stream instanceof TLSSocket;
  return { encrypted, serverVerified: encrypted && verifiesServer(mode) };
}

/** The result of a connectivity probe. */
export interface ProbeResult extends ConnectionSecurity {
  /** Round trip of connect + `select 1`, in ms. */
  readonly latencyMs: number;
  readonly serverVersion: string;
}

/**
 * Connects, runs `select 1`, and disconnects: is the database reachable with these credentials?
 * One deadline (`timeoutMs`) bounds the whole probe, not only the connect: a server that
 * accepts the login and then says nothing has its socket destroyed when it passes.
 * @throws ReconcilerError as connectDatabase does; TransientError when the deadline passes
 */
export async function probeDatabase(
  target: DatabaseTarget,
  options: ConnectOptions,
): Promise<ProbeResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_DB_TIMEOUT_MS;
  const deadline = new AbortController();
  const timedOut = new Promise<never>((_resolve, reject) => {
    deadline.signal.addEventListener('abort', () => {
      reject(
        new TransientError(
          `probe of ${describeTarget(target)}: the server did not answer within ${timeoutMs} ms`,
        ),
      );
    });
  });
  // Whichever settles first; the loser's rejection is handled here.
  timedOut.catch(() => undefined);
  const timer = setTimeout(() => {
    deadline.abort();
  }, timeoutMs);
  const started = performance.now();
  try {
    return await Promise.race([
      probe(target, { ...options, signal: deadline.signal }, started),
      timedOut,
    ]);
  } catch (error) {
    if (deadline.signal.aborted) return await timedOut;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

async function probe(
  target: DatabaseTarget,
  options: ConnectOptions,
  started: number,
): Promise<ProbeResult> {
  const client = await connectDatabase(target, options);
  try {
    await client.query('select 1');
    const latencyMs = Math.round(performance.now() - started);
    const { rows } = await client.query<{ server_version: string }>('show server_version');
    return {
      latencyMs,
      serverVersion: rows[0]?.server_version ?? 'unknown',
      ...connectionSecurity(client, target.sslMode),
    };
  } catch (error) {
    throw translateDbError(error, target, 'select 1');
  } finally {
    // end() waits for the server's goodbye; a silent server would keep it pending.
    if (options.signal?.aborted) destroyClient(client);
    else await client.end().catch(() => undefined);
  }
}

/**
 * Lets telemetry patch the `pg` this module uses, so that every query is a span of the event
 * that caused it (an ESM import or a bundle is not seen by OpenTelemetry's require hook).
 * @param instrument - the function's Telemetry.instrumentModule
 */
export function instrumentPostgres(
  instrument: (name: string, moduleExports: unknown) => void,
): void {
  instrument('pg', pg);
}
