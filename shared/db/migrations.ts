/**
 * Versioned migrations of the external database, tracked in a ledger table the reconciler
 * owns. Each migration runs once, in its own transaction, under an advisory lock so that two
 * concurrent runs cannot interleave; an applied migration whose file has changed is an error,
 * never a silent re-run (re-running init SQL on upgrade is how the community chart broke
 * `auth.uid()`).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { PermanentError, TransientError } from '../runtime/errors.ts';
import type { DatabaseClient } from './connect.ts';
import { isConcurrentCatalogWrite, translateDbError } from './errors.ts';
import type { DatabaseTarget } from './target.ts';
import { createInventoryTable, recordInventory } from './inventory.ts';
import { INVENTORY_TABLE, LEDGER_SCHEMA, LEDGER_TABLE } from './ledger.ts';
import { REASON } from '../api/reasons.ts';
import { runtimeFile } from '../runtime/runtime-files.ts';

/** One migration file. */
export interface Migration {
  /** The prefix of the file, e.g. `0002` or `0002a`. Applied in ascending order. */
  readonly version: string;
  /** The file name, e.g. `0002_roles.sql`. */
  readonly name: string;
  readonly sql: string;
  /** sha256 of the SQL with normalised line endings. */
  readonly checksum: string;
}

/** The outcome of a migration run. */
export interface MigrationRun {
  /** Names of the migrations this run applied (empty when all were applied already). */
  readonly applied: readonly string[];
  /** How many migrations the ledger holds now. */
  readonly total: number;
}

/** Schema and table of the ledger (defined in ledger.ts, beside the inventory's). */
export { LEDGER_SCHEMA, LEDGER_TABLE };

/**
 * `NNNN_name.sql`, or `NNNNx_name.sql` (one lower-case letter after the number) for a fix
 * that must run before a later migration already shipped: applied migrations are never
 * edited, so a step that has to come between 0002 and 0003 is 0002a. Names sort by code
 * unit, and `_` sorts before any letter, so 0002_roles < 0002a_set_membership < 0003_schemas;
 * databases that applied 0003 already simply apply 0002a on their next run.
 */
const FILE_NAME = /^(\d{4}[a-z]?)_[a-z0-9_]+\.sql$/;
// One lock per database; advisory locks are scoped to the database the session is in.
const LOCK_KEY = 'supabase-reconciler/migrations';

/** The migrations that ship with the reconciler (shared/db/migrations/, copied by the build). */
export function bundledMigrationsDir(): URL {
  return runtimeFile('shared/db/migrations/');
}

/**
 * Reads the migration files of a directory, in version order.
 * @throws Error when a file name does not follow `NNNN_name.sql` or two share a version
 */
export async function loadMigrations(dir: URL = bundledMigrationsDir()): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const name of names) {
    const match = FILE_NAME.exec(name);
    if (!match?.[1])
      throw new Error(`migration file ${name} is not named NNNN_name.sql or NNNNx_name.sql`);
    const sql = (await readFile(new URL(name, dir), 'utf8')).replace(/\r\n/g, '\n');
    if (migrations.some((m) => m.version === match[1])) {
      throw new Error(`two migration files have version ${match[1]}`);
    }
    migrations.push({
      version: match[1],
      name,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    });
  }
  return migrations;
}

/** Options of migrate(). */
export interface MigrateOptions {
  /** How long to wait for another run's lock before giving up (TransientError: retried). */
  readonly lockTimeoutMs?: number | undefined;
}

/**
 * Applies the migrations the ledger does not hold yet.
 * @param client - a connected client (its session holds the advisory lock)
 * @param target - the database, for messages
 * @param migrations - the migrations, in order
 * @throws PermanentError when an applied migration changed, or a statement failed (the
 *   message names the migration, the line and the statement, and the missing right)
 * @throws TransientError when the lock is not free in time or the connection fails
 */
export async function migrate(
  client: DatabaseClient,
  target: DatabaseTarget,
  migrations: readonly Migration[],
  options: MigrateOptions = {},
): Promise<MigrationRun> {
  return withMigrationLock(client, target, options.lockTimeoutMs, async () => {
    await run(target, `create the ledger ${LEDGER_TABLE}`, () => ensureLedger(client));
    const { rows } = await client.query<{ version: string; name: string; checksum: string }>(
      `SELECT version, name, checksum FROM ${LEDGER_TABLE}`,
    );
    const ledger = new Map(rows.map((row) => [row.version, row]));
    for (const [version, row] of ledger) {
      const migration = migrations.find((m) => m.version === version);
      if (migration && migration.checksum !== row.checksum) {
        throw new PermanentError(
          REASON.MigrationChanged,
          `migration ${migration.name} was applied to ${target.database} with checksum ${row.checksum.slice(0, 12)} but its file now has ${migration.checksum.slice(0, 12)}; applied migrations are never re-run or changed: restore the file and put the change in a new migration`,
        );
      }
    }
    const applied: string[] = [];
    for (const migration of migrations) {
      if (ledger.has(migration.version)) continue;
      await applyOne(client, target, migration);
      applied.push(migration.name);
    }
    return { applied, total: ledger.size + applied.length };
  });
}

/**
 * Creates the ledger on a database that has none, and in the same transaction the inventory
 * of which objects the migrations create existed already (inventory.ts): the Delete deletion
 * policy drops only what init-db created. On a database that has both, objects added to the
 * inventory's list since are recorded before any pending migration runs. A ledger created by
 * a version without the inventory stays without one: what existed before can no longer be
 * told, and teardown says so instead of guessing.
 */
async function ensureLedger(client: DatabaseClient): Promise<void> {
  const { rows } = await client.query<{ ledger: boolean; inventory: boolean; schema: boolean }>(
    `SELECT to_regclass($1) IS NOT NULL AS ledger, to_regclass($2) IS NOT NULL AS inventory,
            EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $3) AS schema`,
    [LEDGER_TABLE, INVENTORY_TABLE, LEDGER_SCHEMA],
  );
  const state = rows[0];
  if (state?.ledger) {
    if (state.inventory) await recordInventory(client);
    return;
  }
  await client.query('BEGIN');
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${LEDGER_SCHEMA}`);
    await client.query(`CREATE TABLE ${LEDGER_TABLE} (
      version text PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      applied_by text NOT NULL DEFAULT current_user
    )`);
    await createInventoryTable(client);
    await recordInventory(client, [
      { kind: 'schema', name: LEDGER_SCHEMA, existed: state?.schema === true },
    ]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * Runs `work` holding the database's migration lock. The lock is a session-level advisory
 * lock and re-entrant within the session, so a caller may hold it around migrate() and what
 * follows (two concurrent `CREATE TABLE IF NOT EXISTS` can still collide in PostgreSQL).
 * @param timeoutMs - how long to wait for another run (default 30 s; then TransientError)
 */
export async function withMigrationLock<T>(
  client: DatabaseClient,
  target: DatabaseTarget,
  timeoutMs: number | undefined,
  work: () => Promise<T>,
): Promise<T> {
  await acquireLock(client, target, timeoutMs ?? 30_000);
  try {
    return await work();
  } finally {
    await client
      .query('SELECT pg_advisory_unlock(hashtext($1))', [LOCK_KEY])
      .catch(() => undefined);
  }
}

async function acquireLock(
  client: DatabaseClient,
  target: DatabaseTarget,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await run(target, 'take the migration lock', () =>
      client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [
        LOCK_KEY,
      ]),
    );
    if (rows[0]?.locked) return;
    if (Date.now() > deadline) {
      throw new TransientError(
        `another run holds the migration lock of ${target.database} for more than ${timeoutMs} ms`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Attempts of one migration that collides with another database's on a shared catalog. */
const CATALOG_RACE_ATTEMPTS = 5;

/**
 * Applies one migration in its own transaction. The migration lock is per database, but roles
 * are per server: two projects' first runs on one server can collide on a role's catalog row,
 * and PostgreSQL then refuses one transaction. It is tried again after a jittered wait (the
 * other has committed by then); after the last attempt the error is transient (503, the
 * broker retries), never a failed project.
 */
async function applyOne(
  client: DatabaseClient,
  target: DatabaseTarget,
  migration: Migration,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await applyOnce(client, migration);
      return;
    } catch (error) {
      if (!isConcurrentCatalogWrite(error) || attempt >= CATALOG_RACE_ATTEMPTS) {
        throw describeFailure(error, target, migration);
      }
      await sleep(Math.random() * 100 * 2 ** attempt);
    }
  }
}

/** One transaction: the migration and its ledger row; what the server threw is rethrown. */
async function applyOnce(client: DatabaseClient, migration: Migration): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(migration.sql);
    await client.query(
      `INSERT INTO ${LEDGER_TABLE} (version, name, checksum) VALUES ($1, $2, $3)`,
      [migration.version, migration.name, migration.checksum],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** The failing statement, located by the server's `position` (a 1-based offset in the SQL). */
function describeFailure(error: unknown, target: DatabaseTarget, migration: Migration): Error {
  const e = error as {
    code?: string;
    position?: string;
    where?: string;
    detail?: string;
    hint?: string;
  };
  const translated = translateDbError(error, target, `apply migration ${migration.name}`);
  if (!(translated instanceof PermanentError) || !e.code) return translated;
  const offset = Number(e.position);
  const lineNumber =
    Number.isFinite(offset) && offset > 0
      ? migration.sql.slice(0, offset - 1).split('\n').length
      : undefined;
  const line =
    lineNumber === undefined ? undefined : migration.sql.split('\n')[lineNumber - 1]?.trim();
  // Inside a DO block the server names the statement in `where` ("SQL statement \"...\"").
  const statement = /SQL statement "([^"]+)"/.exec(e.where ?? '')?.[1] ?? line;
  const at = lineNumber === undefined ? '' : ` at line ${lineNumber}`;
  const parts = [
    `migration ${migration.name} failed${at}`,
    statement ? ` (${statement})` : '',
    `: ${translated.message.replace(/^.*?: /, '')}`,
    e.detail ? ` ${e.detail}` : '',
    e.code === '42501'
      ? ` The database user "${target.user}" lacks this right: grant it, or use a superuser such as supabase_admin.`
      : '',
  ];
  return new PermanentError(
    e.code === '42501' ? 'InsufficientPrivilege' : 'MigrationFailed',
    parts.join(''),
    { cause: error },
  );
}

/** Runs a step, translating its errors. */
async function run<T>(target: DatabaseTarget, action: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw translateDbError(error, target, action);
  }
}
