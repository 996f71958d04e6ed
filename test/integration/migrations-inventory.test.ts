/**
 * The inventory init-db records with its ledger (shared/db/inventory.ts), on fresh databases
 * of the real PostgreSQL: which of the objects the migrations create existed before, taken in
 * the transaction that creates the ledger; objects listed later recorded before any pending
 * migration; a ledger of an older version left without one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { INVENTORY_TABLE, LEDGER_SCHEMA, LEDGER_TABLE } from '../../shared/db/ledger.ts';
import { migrate, type Migration } from '../../shared/db/migrations.ts';
import type { DatabaseTarget } from '../../shared/db/target.ts';
import { Sensitive } from '../../shared/secrets/sensitive.ts';
import { freshDatabase, postgresConnection } from '../env/index.ts';

const CREATE_STORAGE: Migration = {
  version: '0001',
  name: '0001_storage.sql',
  sql: 'CREATE SCHEMA IF NOT EXISTS storage;',
  checksum: 'c1',
};

async function session(): Promise<{ client: pg.Client; target: DatabaseTarget }> {
  const { database } = await freshDatabase('inventory');
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

async function recorded(client: pg.Client, kind: string): Promise<Record<string, boolean>> {
  const { rows } = await client.query<{ name: string; existed: boolean }>(
    `SELECT name, existed FROM ${INVENTORY_TABLE} WHERE kind = $1`,
    [kind],
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.existed]));
}

test('the first run records which objects existed, before any migration creates them', async () => {
  const { client, target } = await session();
  try {
    await client.query('CREATE SCHEMA auth');
    await client.query(`CREATE SCHEMA ${LEDGER_SCHEMA}`);
    await migrate(client, target, [CREATE_STORAGE]);
    const schemas = await recorded(client, 'schema');
    assert.equal(schemas.auth, true);
    assert.equal(schemas[LEDGER_SCHEMA], true, 'looked at before the ledger was created');
    assert.equal(schemas.storage, false, 'recorded before the migration created it');
    assert.equal(schemas.realtime, false);
    assert.equal((await recorded(client, 'publication')).supabase_realtime, false);
    assert.equal((await recorded(client, 'type'))['auth.factor_type'], false);
  } finally {
    await client.end();
  }
});

test('an object listed after the inventory was taken is recorded as it is found (kept: the safe side)', async () => {
  const { client, target } = await session();
  try {
    await migrate(client, target, [CREATE_STORAGE]);
    // As if `storage` had been added to the list by a later version.
    await client.query(`DELETE FROM ${INVENTORY_TABLE} WHERE kind = 'schema' AND name = 'storage'`);
    await migrate(client, target, [CREATE_STORAGE]);
    assert.equal((await recorded(client, 'schema')).storage, true);
  } finally {
    await client.end();
  }
});

test('a ledger created by a version without the inventory stays without one', async () => {
  const { client, target } = await session();
  try {
    await migrate(client, target, []);
    await client.query(`DROP TABLE ${INVENTORY_TABLE}`);
    await migrate(client, target, [CREATE_STORAGE]);
    const { rows } = await client.query<{ inventory: string | null; ledger: string | null }>(
      'SELECT to_regclass($1)::text AS inventory, to_regclass($2)::text AS ledger',
      [INVENTORY_TABLE, LEDGER_TABLE],
    );
    assert.deepEqual(rows, [{ inventory: null, ledger: LEDGER_TABLE }]);
  } finally {
    await client.end();
  }
});
