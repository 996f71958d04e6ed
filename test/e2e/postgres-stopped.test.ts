/**
 * End to end, scenario 4: PostgreSQL stopped during init-db, then started again. The local
 * runtime reconciles a project whose database is on a PostgreSQL server of this file's own
 * (the shared one must stay up for the other test files). The server is stopped while init-db
 * is in the middle of its migrations: the first migration committed, the second one's
 * transaction open. init-db answers 503 and says so on DatabaseInitialized; the broker retries
 * with deploy/overlays/knative's backoff (1, 2, 4, 8, 16 s), and once the server is back the chain goes
 * on to Running. The migration that committed before the outage is not applied again, the
 * one cut off is applied once, and the ledger lists every migration once.
 *
 * How init-db is held mid-migration, without touching its code: the second migration creates
 * the Supabase login roles (CREATE ROLE), which takes a row-exclusive lock on the server-wide
 * catalog pg_authid. A transaction of this test holds pg_authid in SHARE mode (it conflicts
 * with that lock, not with logging in), so init-db waits there, visibly in pg_locks, until the
 * server stops and ends every session.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { REASON } from '../../shared/api/reasons.ts';
import { LEDGER_TABLE, loadMigrations } from '../../shared/db/migrations.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import {
  freshBucket,
  freshNamespace,
  privatePostgres,
  s3Connection,
  uniqueSuffix,
} from '../env/index.ts';
import type { PostgresEnvironment } from '../env/postgres.ts';
import { startTestRuntime, type TestRuntime } from '../fixtures/local-runtime.ts';
import { createProject, createSecret, installProjectCrd } from '../fixtures/project.ts';
import { waitFor, waitForProject } from './support.ts';

let server: PostgresEnvironment;
let namespace: string;
let database: string;
let local: TestRuntime | undefined;

before(async () => {
  await installProjectCrd();
  server = await privatePostgres();
  namespace = await freshNamespace('e2e-pg-stopped');
  database = `e2e_pg_stopped_${uniqueSuffix()}`;
  await withClient('postgres', (client) => client.query(`CREATE DATABASE ${database}`));
  local = await startTestRuntime([namespace]);
});

after(async () => {
  await local?.stop();
  await server.stop();
});

/** A superuser session on the private server; its errors (the server stopping) are expected. */
async function connect(db: string): Promise<pg.Client> {
  const client = new pg.Client({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database: db,
  });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

async function withClient<T>(db: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connect(db);
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

interface LedgerRow {
  version: string;
  name: string;
  applied_at: Date;
}

function ledger(): Promise<LedgerRow[]> {
  return withClient(database, async (client) => {
    const { rows } = await client.query<LedgerRow>(
      `SELECT version, name, applied_at FROM ${LEDGER_TABLE} ORDER BY version`,
    );
    return rows;
  });
}

/** The lines init-db printed for this project: one per attempt. */
function initDbLines(): string[] {
  return (local?.lines ?? []).filter(
    (line) => line.includes(`${namespace}/demo `) && line.includes(' init-db '),
  );
}

test('PostgreSQL stopped during init-db, then started: retries, then Running; nothing applied twice', async () => {
  const migrations = await loadMigrations();
  assert.ok(migrations.length >= 2, 'the scenario needs a migration after the first');

  // Hold CREATE ROLE (the second migration) before the project exists.
  const holder = await connect('postgres');
  await holder.query('BEGIN');
  await holder.query('LOCK TABLE pg_catalog.pg_authid IN SHARE MODE');

  const s3 = s3Connection();
  await createSecret(namespace, 'demo-db', {
    host: server.host,
    port: String(server.port),
    database,
    username: server.user,
    password: server.password,
  });
  await createSecret(namespace, 'demo-s3', {
    endpoint: s3.endpoint,
    region: s3.region,
    bucket: await freshBucket('e2e-pg-stopped'),
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  });
  await createProject(namespace);

  // init-db is in the second migration, waiting for pg_authid.
  await waitFor('init-db waiting in the second migration', () =>
    withClient('postgres', async (client) => {
      const { rows } = await client.query(
        `SELECT 1 FROM pg_locks WHERE relation = 'pg_catalog.pg_authid'::regclass AND NOT granted`,
      );
      return rows.length > 0;
    }),
  );
  const before = await ledger();
  assert.deepEqual(
    before.map((row) => row.version),
    [migrations[0]!.version],
    'the first migration committed, the second not yet',
  );

  await server.halt();
  await holder.end().catch(() => undefined);
  const waiting = await waitForProject(
    namespace,
    'demo',
    (p) =>
      p.status?.conditions?.find((c) => c.type === 'DatabaseInitialized')?.status === 'False' &&
      initDbLines().filter((line) => line.includes('error:')).length >= 2,
    60_000,
  );
  const condition = waiting.status?.conditions?.find((c) => c.type === 'DatabaseInitialized');
  assert.equal(condition?.reason, REASON.DatabaseUnavailable, JSON.stringify(condition));
  assert.match(condition.message, /retrying$/);
  assert.notEqual(waiting.status?.phase, 'Failed');
  assert.ok(
    !initDbLines().some((line) => line.includes(CHAIN_EVENT.databaseInitialized)),
    initDbLines().join('\n'),
  );

  await server.resume();
  const running = await waitForProject(namespace, 'demo', (p) => p.status?.phase === 'Running');
  const initialised = running.status?.conditions?.find((c) => c.type === 'DatabaseInitialized');
  assert.equal(initialised?.status, 'True', JSON.stringify(initialised));
  assert.equal(initialised.reason, REASON.MigrationsApplied);

  // init-db failed while the server was away, then succeeded once.
  const lines = initDbLines();
  assert.equal(
    lines.filter((line) => line.includes(`→ ${CHAIN_EVENT.databaseInitialized}`)).length,
    1,
    lines.join('\n'),
  );
  assert.ok(lines.filter((line) => line.includes('error:')).length >= 2, lines.join('\n'));

  // Every migration once; the one committed before the outage is the same row (not re-run).
  const after = await ledger();
  assert.deepEqual(
    after.map((row) => row.version),
    migrations.map((m) => m.version),
  );
  assert.deepEqual(after[0], before[0]);
  assert.ok(after.slice(1).every((row) => row.applied_at > before[0]!.applied_at));
});
