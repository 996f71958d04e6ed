/**
 * Brings the external database to what the Supabase services need: the tracked migrations,
 * then the login roles' passwords. One connection, closed at the end whatever happens.
 */
import { connectDatabase, type ConnectOptions } from './connect.ts';
import { translateDbError } from './errors.ts';
import type { ObjectKey } from '../k8s/objects.ts';
import { loadMigrations, migrate, withMigrationLock, type Migration } from './migrations.ts';
import { syncRolePasswords } from './role-passwords.ts';
import type { DatabaseTarget } from './target.ts';

/** What an initialisation did. */
export interface InitialisationResult {
  /** Migrations applied by this run (empty when the database was up to date). */
  readonly applied: readonly string[];
  /** Migrations the ledger holds now. */
  readonly total: number;
  /** Login roles whose password this run changed. */
  readonly passwordsChanged: readonly string[];
  /**
   * Whether pg_graphql is installed: PostgREST's /graphql/v1 needs it. The server may not
   * offer it, or it needs a superuser to create (it is not a trusted extension).
   */
  readonly graphql: boolean;
}

/** Options of initialiseDatabase. */
export interface InitialiseOptions extends ConnectOptions {
  /** The migrations (default: the ones that ship with the reconciler). */
  readonly migrations?: readonly Migration[];
  readonly lockTimeoutMs?: number;
}

let bundled: Promise<Migration[]> | undefined;

/** The migrations that ship with the reconciler, read from disk once per process. */
function bundledMigrations(): Promise<Migration[]> {
  bundled ??= loadMigrations();
  return bundled;
}

/**
 * Applies pending migrations and syncs the login roles' passwords.
 * @param target - the database and the Secret's credentials (its password also becomes
 *   the login roles' password)
 * @param project - the SupabaseProject this is for: the login roles belong to the whole server,
 *   and the server records which project set their password (see role-passwords.ts)
 * @throws ReconcilerError (PermanentError names the failing migration, statement and right,
 *   or the project whose password the login roles carry)
 */
export async function initialiseDatabase(
  target: DatabaseTarget,
  project: ObjectKey,
  options: InitialiseOptions,
): Promise<InitialisationResult> {
  const migrations = options.migrations ?? (await bundledMigrations());
  const client = await connectDatabase(target, options);
  try {
    // One lock around both steps: concurrent runs on one database take turns.
    return await withMigrationLock(client, target, options.lockTimeoutMs, async () => {
      const run = await migrate(client, target, migrations);
      let passwordsChanged: string[];
      try {
        passwordsChanged = await syncRolePasswords(client, target, project, {
          egress: options.egress,
          timeoutMs: options.timeoutMs,
          applicationName: options.applicationName,
        });
      } catch (error) {
        throw translateDbError(error, target, "set the login roles' passwords");
      }
      const { rows } = await client.query<{ installed: boolean }>(
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_graphql') AS installed",
      );
      return {
        applied: run.applied,
        total: run.total,
        passwordsChanged,
        graphql: rows[0]?.installed === true,
      };
    });
  } finally {
    await client.end().catch(() => undefined);
  }
}
