/**
 * The migration machinery (shared/db/migrations.ts) with small migrations of its own, against
 * the real file system and a fresh database of the real PostgreSQL: which files make
 * migrations and in what order, the ledger, a failing migration rolled back and described,
 * changed files refused, and the per-database advisory lock. (The bundled migrations
 * themselves are tested in db.test.ts and init-db.test.ts.)
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import {
  bundledMigrationsDir,
  LEDGER_TABLE,
  loadMigrations,
  migrate,
  withMigrationLock,
  type Migration,
} from '../../shared/db/migrations.ts';
import type { DatabaseTarget } from '../../shared/db/target.ts';
import { PermanentError, TransientError } from '../../shared/runtime/errors.ts';
import { Sensitive } from '../../shared/secrets/sensitive.ts';
import { freshDatabase, postgresConnection } from '../env/index.ts';

const LOCK_KEY = 'supabase-reconciler/migrations';

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A directory holding `files` (name -> content), written in the order given. */
async function migrationsDir(files: Record<string, string>): Promise<URL> {
  const dir = await mkdtemp(join(tmpdir(), 'sbr-migrations-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return pathToFileURL(`${dir}/`);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A migration as loadMigrations would make it from a file. */
function migration(name: string, sql: string): Migration {
  return { version: name.slice(0, 4), name, sql, checksum: sha256(sql) };
}

/** A fresh database, a superuser session in it, and the target naming it. */
async function freshSession(): Promise<{ client: pg.Client; target: DatabaseTarget }> {
  const { database } = await freshDatabase('ledger');
  const pgEnv = postgresConnection();
  const client = new pg.Client({ ...pgEnv, database });
  await client.connect();
  return {
    client,
    target: {
      host: pgEnv.host,
      port: pgEnv.port,
      database,
      user: pgEnv.user,
      password: new Sensitive(pgEnv.password),
      sslMode: 'disable',
    },
  };
}

async function otherSession(target: DatabaseTarget): Promise<pg.Client> {
  const client = new pg.Client({ ...postgresConnection(), database: target.database });
  await client.connect();
  return client;
}

async function ledger(client: pg.Client) {
  const { rows } = await client.query<{
    version: string;
    name: string;
    checksum: string;
    applied_by: string;
  }>(`SELECT version, name, checksum, applied_by FROM ${LEDGER_TABLE} ORDER BY version`);
  return rows;
}

async function tableExists(client: pg.Client, name: string): Promise<boolean> {
  const { rows } = await client.query<{ exists: boolean }>(
    'SELECT to_regclass($1) IS NOT NULL AS exists',
    [name],
  );
  return rows[0]?.exists ?? false;
}

/** Whether another session could take the migration lock now (and gives it back). */
async function lockIsFree(target: DatabaseTarget): Promise<boolean> {
  const other = await otherSession(target);
  try {
    const { rows } = await other.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_lock(hashtext($1)) AS locked',
      [LOCK_KEY],
    );
    return rows[0]?.locked === true;
  } finally {
    await other.end();
  }
}

function refused(reason: string, pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof PermanentError, `expected PermanentError, got ${String(error)}`);
    assert.equal(error.reason, reason, error.message);
    assert.match(error.message, pattern);
    return true;
  };
}

describe('loadMigrations: the files', () => {
  test('each NNNN_name.sql file is a migration with its version, name, SQL and checksum', async () => {
    const dir = await migrationsDir({ '0001_first.sql': 'SELECT 1;\n' });
    assert.deepEqual(await loadMigrations(dir), [
      {
        version: '0001',
        name: '0001_first.sql',
        sql: 'SELECT 1;\n',
        checksum: sha256('SELECT 1;\n'),
      },
    ]);
  });

  test('migrations come in version order, whatever order the files were written in', async () => {
    const dir = await migrationsDir({
      '0010_tenth.sql': 'SELECT 10;',
      '0002_second.sql': 'SELECT 2;',
      '0001_first.sql': 'SELECT 1;',
      '0003_third.sql': 'SELECT 3;',
    });
    assert.deepEqual(
      (await loadMigrations(dir)).map((m) => m.name),
      ['0001_first.sql', '0002_second.sql', '0003_third.sql', '0010_tenth.sql'],
    );
  });

  test('a fix between two shipped migrations (NNNNx_name.sql) sorts between them', async () => {
    const dir = await migrationsDir({
      '0003_schemas.sql': 'SELECT 3;',
      '0002a_fix.sql': 'SELECT 2.5;',
      '0002_roles.sql': 'SELECT 2;',
    });
    assert.deepEqual(
      (await loadMigrations(dir)).map((m) => [m.version, m.name]),
      [
        ['0002', '0002_roles.sql'],
        ['0002a', '0002a_fix.sql'],
        ['0003', '0003_schemas.sql'],
      ],
    );
  });

  test('files that are not .sql are not migrations', async () => {
    const dir = await migrationsDir({
      'README.md': 'notes',
      '0001_first.sql': 'SELECT 1;',
      '0002_draft.sql.orig': 'SELECT 2;',
    });
    assert.deepEqual(
      (await loadMigrations(dir)).map((m) => m.name),
      ['0001_first.sql'],
    );
  });

  test('Windows line endings do not change the SQL or its checksum', async () => {
    const unix = await loadMigrations(
      await migrationsDir({ '0001_a.sql': 'SELECT 1;\nSELECT 2;\n' }),
    );
    const windows = await loadMigrations(
      await migrationsDir({ '0001_a.sql': 'SELECT 1;\r\nSELECT 2;\r\n' }),
    );
    assert.deepEqual(windows, unix);
    assert.equal(windows[0]?.sql, 'SELECT 1;\nSELECT 2;\n');
  });

  for (const name of [
    '1_first.sql',
    '00001_first.sql',
    '0001-first.sql',
    '0001_First.sql',
    'x0001_a.sql',
    '0001_.sql',
    '0001ab_fix.sql',
    '0001A_fix.sql',
    '0001_first.sql.sql',
  ]) {
    test(`a file named ${name} is refused`, async () => {
      const dir = await migrationsDir({ [name]: 'SELECT 1;' });
      await assert.rejects(loadMigrations(dir), {
        message: new RegExp(`^migration file ${name} is not named NNNN_name\\.sql`),
      });
    });
  }

  test('two files with one version are refused, naming the version', async () => {
    const dir = await migrationsDir({
      '0001_first.sql': 'SELECT 1;',
      '0002_roles.sql': 'SELECT 2;',
      '0002_schemas.sql': 'SELECT 3;',
    });
    await assert.rejects(loadMigrations(dir), { message: 'two migration files have version 0002' });
  });

  test('by default, the bundled migrations: every .sql file of shared/db/migrations, in order', async () => {
    const dir = bundledMigrationsDir();
    assert.ok(dir.href.endsWith('/shared/db/migrations/'), dir.href);
    const files = (await readdir(dir)).filter((name) => name.endsWith('.sql'));
    const loaded = await loadMigrations();
    assert.ok(loaded.length > 0);
    assert.deepEqual(
      loaded.map((m) => m.name),
      [...files].sort(),
    );
    assert.deepEqual(loaded, await loadMigrations(dir));
  });
});

describe('migrate: the ledger', () => {
  const first = migration('0001_widgets.sql', 'CREATE TABLE widgets (id int PRIMARY KEY);');
  const second = migration('0002_gadgets.sql', 'CREATE TABLE gadgets (id int);');
  const third = migration('0003_widget_rows.sql', 'INSERT INTO widgets VALUES (1), (2);');

  test('applies each migration once, in order, recording it; a second run applies nothing', async () => {
    const { client, target } = await freshSession();
    try {
      const run = await migrate(client, target, [first, second]);
      assert.deepEqual(run, { applied: ['0001_widgets.sql', '0002_gadgets.sql'], total: 2 });
      assert.deepEqual(await ledger(client), [
        { version: '0001', name: first.name, checksum: first.checksum, applied_by: target.user },
        { version: '0002', name: second.name, checksum: second.checksum, applied_by: target.user },
      ]);
      assert.ok(await tableExists(client, 'public.gadgets'));
      assert.deepEqual(await migrate(client, target, [first, second]), { applied: [], total: 2 });
      // A new migration is applied alone; the earlier ones are not run again (they would fail).
      assert.deepEqual(await migrate(client, target, [first, second, third]), {
        applied: ['0003_widget_rows.sql'],
        total: 3,
      });
      const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM widgets');
      assert.equal(rows[0]?.n, 2);
    } finally {
      await client.end();
    }
  });

  test('the ledger lives in its own schema, made when missing', async () => {
    const { client, target } = await freshSession();
    try {
      assert.equal(LEDGER_TABLE, 'supabase_reconciler.schema_migrations');
      assert.equal(await tableExists(client, LEDGER_TABLE), false);
      assert.deepEqual(await migrate(client, target, []), { applied: [], total: 0 });
      assert.equal(await tableExists(client, LEDGER_TABLE), true);
    } finally {
      await client.end();
    }
  });

  test('a ledger entry whose file is gone is kept and counted, not an error', async () => {
    const { client, target } = await freshSession();
    try {
      await migrate(client, target, [first, second]);
      assert.deepEqual(await migrate(client, target, [second]), { applied: [], total: 2 });
    } finally {
      await client.end();
    }
  });

  test('an applied migration whose file changed is refused before anything is applied', async () => {
    const { client, target } = await freshSession();
    try {
      await migrate(client, target, [first, second]);
      const edited = migration(second.name, `${second.sql}\nALTER TABLE gadgets ADD COLUMN x int;`);
      await assert.rejects(
        migrate(client, target, [first, edited, third]),
        refused(
          'MigrationChanged',
          new RegExp(
            `^migration 0002_gadgets.sql was applied to ${target.database} with checksum ${second.checksum.slice(0, 12)} but its file now has ${edited.checksum.slice(0, 12)}; applied migrations are never re-run`,
          ),
        ),
      );
      assert.deepEqual(
        (await ledger(client)).map((row) => row.version),
        ['0001', '0002'],
        'the new migration was not applied either',
      );
    } finally {
      await client.end();
    }
  });
});

describe('migrate: a failing migration', () => {
  test('is rolled back whole and not recorded; the error names the file, the line and the statement', async () => {
    const { client, target } = await freshSession();
    const good = migration('0001_good.sql', 'CREATE TABLE good (id int);');
    const bad = migration(
      '0002_bad.sql',
      'CREATE TABLE half_done (id int);\n\n  SELECT id FROM missing_table;\n',
    );
    try {
      await assert.rejects(
        migrate(client, target, [good, bad]),
        refused(
          'MigrationFailed',
          /^migration 0002_bad.sql failed at line 3 \(SELECT id FROM missing_table;\): relation "missing_table" does not exist \(SQLSTATE 42P01\)$/,
        ),
      );
      assert.equal(await tableExists(client, 'public.good'), true, 'the migration before stays');
      assert.equal(await tableExists(client, 'public.half_done'), false, 'rolled back');
      assert.deepEqual(
        (await ledger(client)).map((row) => row.name),
        ['0001_good.sql'],
      );
      // The session is usable again: the next run applies the fixed file.
      const fixed = migration('0002_bad.sql', 'CREATE TABLE half_done (id int);');
      assert.deepEqual((await migrate(client, target, [good, fixed])).applied, ['0002_bad.sql']);
    } finally {
      await client.end();
    }
  });

  test('inside a DO block, the statement is the one the server names; the detail is kept', async () => {
    const { client, target } = await freshSession();
    const sql = [
      'CREATE TABLE items (id int PRIMARY KEY);',
      'DO $$',
      'BEGIN',
      "  EXECUTE 'INSERT INTO items VALUES (1), (1)';",
      'END',
      '$$;',
    ].join('\n');
    try {
      await assert.rejects(
        migrate(client, target, [migration('0001_items.sql', sql)]),
        refused(
          'MigrationFailed',
          /^migration 0001_items.sql failed \(INSERT INTO items VALUES \(1\), \(1\)\): duplicate key value violates unique constraint "items_pkey" \(SQLSTATE 23505\) Key \(id\)=\(1\) already exists\.$/,
        ),
      );
      assert.equal(await tableExists(client, 'public.items'), false);
    } finally {
      await client.end();
    }
  });

  test('a statement the user has no right to run is InsufficientPrivilege and names the user', async () => {
    const { client, target } = await freshSession();
    const role = `ledger_user_${target.database.replace(/[^a-z0-9_]/g, '_')}`.slice(0, 60);
    try {
      // Enough to keep the ledger (CREATE on the database), not enough to create roles.
      await client.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw'`);
      await client.query(`GRANT CREATE ON DATABASE ${target.database} TO ${role}`);
      const limited = new pg.Client({
        ...postgresConnection(),
        database: target.database,
        user: role,
        password: 'pw',
      });
      await limited.connect();
      try {
        await assert.rejects(
          migrate(limited, { ...target, user: role, password: new Sensitive('pw') }, [
            migration('0001_role.sql', `CREATE ROLE ${role}_made NOLOGIN;`),
          ]),
          // The server gives no position here, so no line is named.
          refused(
            'InsufficientPrivilege',
            new RegExp(
              `^migration 0001_role.sql failed: permission denied to create role.* The database user "${role}" lacks this right: grant it, or use a superuser such as supabase_admin\\.$`,
            ),
          ),
        );
        assert.deepEqual(await ledger(limited), []);
      } finally {
        await limited.end();
      }
    } finally {
      await client.query(`DROP OWNED BY ${role}`);
      await client.query(`DROP ROLE ${role}`);
      await client.end();
    }
  });
});

describe('migrate: a migration and its ledger entry', () => {
  test('are one transaction: when the ledger entry cannot be written, the migration is undone too', async () => {
    const { client, target } = await freshSession();
    // The migration records its own version, so the runner's ledger insert then fails.
    const sql = [
      'CREATE TABLE marker (id int);',
      `INSERT INTO ${LEDGER_TABLE} (version, name, checksum) VALUES ('0001', 'squatter', 'x');`,
    ].join('\n');
    try {
      await assert.rejects(migrate(client, target, [migration('0001_self.sql', sql)]));
      assert.equal(await tableExists(client, 'public.marker'), false, 'nothing half-applied');
      assert.deepEqual(await ledger(client), []);
    } finally {
      await client.end();
    }
  });

  test('a one-character fault at the end of a line is placed on that line', async () => {
    const { client, target } = await freshSession();
    const sql = 'SELECT 1;\nSELECT )\nSELECT 2;\n';
    try {
      await assert.rejects(
        migrate(client, target, [migration('0001_paren.sql', sql)]),
        refused('MigrationFailed', /^migration 0001_paren\.sql failed at line 2 \(SELECT \)\): /),
      );
    } finally {
      await client.end();
    }
  });

  test('a failure keeps the server error as its cause', async () => {
    const { client, target } = await freshSession();
    try {
      await assert.rejects(
        migrate(client, target, [migration('0001_bad.sql', 'SELECT * FROM nowhere;')]),
        (error: unknown) => {
          assert.ok(error instanceof PermanentError);
          assert.ok(error.cause, 'the cause is kept (scrubbed) for the logs');
          assert.equal((error.cause as { code?: string }).code, '42P01');
          return true;
        },
      );
    } finally {
      await client.end();
    }
  });

  test('a connection lost in the middle of a migration is transient and names the migration', async () => {
    const { client, target } = await freshSession();
    const killer = await otherSession(target);
    // As connectDatabase does: a connection ended by the server emits 'error', which without a
    // listener would be thrown out of the next call instead of rejecting it.
    client.on('error', () => undefined);
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const running = migrate(client, target, [migration('0001_slow.sql', 'SELECT pg_sleep(30);')]);
    // Awaited from the start: the run may fail before the termination's own answer arrives,
    // and a rejection nobody awaits yet fails the test file.
    const refused = assert.rejects(running, (error: unknown) => {
      assert.ok(error instanceof TransientError, `expected TransientError, got ${String(error)}`);
      assert.match(error.message, /apply migration 0001_slow\.sql/);
      return true;
    });
    try {
      // Wait until the migration's statement runs, then end its backend.
      for (let i = 0; i < 200; i++) {
        const active = await killer.query(
          "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND query LIKE 'SELECT pg_sleep%'",
          [rows[0]!.pid],
        );
        if (active.rowCount) break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      await killer.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      await refused;
    } finally {
      await killer.end();
      await client.end().catch(() => undefined);
    }
  });

  test("a user who may not create the ledger's schema is told which step failed", async () => {
    const { client, target } = await freshSession();
    const role = `no_ledger_${target.database.replace(/[^a-z0-9_]/g, '_')}`.slice(0, 60);
    try {
      // May connect, may not create schemas in the database.
      await client.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw'`);
      await client.query(`REVOKE CREATE ON DATABASE ${target.database} FROM PUBLIC`);
      const limited = new pg.Client({
        ...postgresConnection(),
        database: target.database,
        user: role,
        password: 'pw',
      });
      await limited.connect();
      try {
        await assert.rejects(
          migrate(limited, { ...target, user: role, password: new Sensitive('pw') }, [
            migration('0001_any.sql', 'SELECT 1;'),
          ]),
          (error: unknown) => {
            assert.ok(error instanceof PermanentError, String(error));
            assert.match(error.message, new RegExp(`^create the ledger ${LEDGER_TABLE} on `));
            return true;
          },
        );
      } finally {
        await limited.end();
      }
    } finally {
      await client.query(`DROP ROLE ${role}`);
      await client.end();
    }
  });
});

describe('migrate: the lock', () => {
  test('the lock is released after a run, whether it succeeded or failed', async () => {
    const { client, target } = await freshSession();
    try {
      await migrate(client, target, [migration('0001_a.sql', 'SELECT 1;')]);
      assert.equal(await lockIsFree(target), true);
      await assert.rejects(migrate(client, target, [migration('0002_b.sql', 'SELEC 1;')]));
      assert.equal(await lockIsFree(target), true);
    } finally {
      await client.end();
    }
  });

  test('while another run holds the lock, a run waits, then gives up with TransientError', async () => {
    const { client, target } = await freshSession();
    const holder = await otherSession(target);
    try {
      await holder.query('SELECT pg_advisory_lock(hashtext($1))', [LOCK_KEY]);
      const started = Date.now();
      await assert.rejects(
        migrate(client, target, [migration('0001_a.sql', 'CREATE TABLE a (id int);')], {
          lockTimeoutMs: 300,
        }),
        (error: unknown) => {
          assert.ok(error instanceof TransientError, String(error));
          assert.equal(
            error.message,
            `another run holds the migration lock of ${target.database} for more than 300 ms`,
          );
          return true;
        },
      );
      assert.ok(Date.now() - started >= 300, 'it waited for the lock');
      assert.equal(await tableExists(client, LEDGER_TABLE), false, 'nothing ran without the lock');
    } finally {
      await holder.end();
      await client.end();
    }
  });

  test('a run waiting for the lock proceeds once it is released', async () => {
    const { client, target } = await freshSession();
    const holder = await otherSession(target);
    try {
      await holder.query('SELECT pg_advisory_lock(hashtext($1))', [LOCK_KEY]);
      const run = migrate(client, target, [migration('0001_a.sql', 'CREATE TABLE a (id int);')]);
      await new Promise((resolve) => setTimeout(resolve, 250));
      await holder.query('SELECT pg_advisory_unlock(hashtext($1))', [LOCK_KEY]);
      assert.deepEqual(await run, { applied: ['0001_a.sql'], total: 1 });
    } finally {
      await holder.end();
      await client.end();
    }
  });

  test('the lock is per database: a lock held in another database does not block', async () => {
    const elsewhere = await freshSession();
    const { client, target } = await freshSession();
    try {
      await elsewhere.client.query('SELECT pg_advisory_lock(hashtext($1))', [LOCK_KEY]);
      const run = await migrate(client, target, [migration('0001_a.sql', 'SELECT 1;')], {
        lockTimeoutMs: 200,
      });
      assert.deepEqual(run.applied, ['0001_a.sql']);
    } finally {
      await elsewhere.client.end();
      await client.end();
    }
  });

  test('withMigrationLock holds the lock around its work, re-entrant for migrate, and returns its result', async () => {
    const { client, target } = await freshSession();
    try {
      const result = await withMigrationLock(client, target, undefined, async () => {
        assert.equal(await lockIsFree(target), false, 'held during the work');
        const run = await migrate(client, target, [migration('0001_a.sql', 'SELECT 1;')]);
        assert.equal(await lockIsFree(target), false, 'still held after the inner migrate');
        return run.applied;
      });
      assert.deepEqual(result, ['0001_a.sql']);
      assert.equal(await lockIsFree(target), true, 'released after the work');
      await assert.rejects(
        withMigrationLock(client, target, 1000, () => Promise.reject(new Error('work failed'))),
        { message: 'work failed' },
      );
      assert.equal(await lockIsFree(target), true, 'released after failed work');
    } finally {
      await client.end();
    }
  });
});
