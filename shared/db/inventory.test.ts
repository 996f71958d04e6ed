import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MIGRATION_OBJECTS } from './inventory.ts';
import { LEDGER_SCHEMA } from './ledger.ts';
import { loadMigrations } from './migrations.ts';

/** Every capture of `pattern` in the bundled migrations' SQL. */
async function created(pattern: RegExp): Promise<string[]> {
  const sql = (await loadMigrations()).map((m) => m.sql).join('\n');
  return [...sql.matchAll(pattern)].map((m) => m[1] ?? '');
}

const sorted = (names: readonly string[]) => [...new Set(names)].sort();

test('the inventory lists every schema the migrations create (and the ledger schema)', async () => {
  const schemas = await created(/CREATE SCHEMA IF NOT EXISTS ("?[\w]+"?)/g);
  assert.deepEqual(sorted(MIGRATION_OBJECTS.schema), sorted([...schemas, LEDGER_SCHEMA]));
});

test('the inventory lists every extension the migrations create', async () => {
  const extensions = await created(/CREATE EXTENSION IF NOT EXISTS "?([\w-]+)"?/g);
  assert.deepEqual(sorted(MIGRATION_OBJECTS.extension), sorted(extensions));
});

test('the inventory lists every publication and type the migrations create', async () => {
  assert.deepEqual(
    sorted(MIGRATION_OBJECTS.publication),
    sorted(await created(/CREATE PUBLICATION (\w+)/g)),
  );
  assert.deepEqual(sorted(MIGRATION_OBJECTS.type), sorted(await created(/CREATE TYPE ([\w.]+)/g)));
  const functions = await created(/CREATE FUNCTION ([\w.]+)\(/g);
  assert.deepEqual(
    sorted(MIGRATION_OBJECTS.function.map((f) => f.slice(0, f.indexOf('(')))),
    sorted(functions),
  );
});

test('every role a migration creates by name is listed (CREATE ROLE takes names from arrays)', async () => {
  const sql = (await loadMigrations()).map((m) => m.sql).join('\n');
  // The arrays that feed `CREATE ROLE %I`: their first column, or their items.
  const named = [
    ...[...sql.matchAll(/\['(\w+)', '(?:NO)?LOGIN[^']*'\]/g)].map((m) => m[1] ?? ''),
    ...[
      ...sql.matchAll(
        /FOREACH r IN ARRAY ARRAY\[([^\]]+)\] LOOP\s+IF NOT EXISTS \(SELECT 1 FROM pg_roles/g,
      ),
    ].flatMap((m) => (m[1] ?? '').split(',').map((s) => s.trim().replace(/'/g, ''))),
  ];
  assert.ok(named.length >= 10, `found ${named.join(', ')}`);
  assert.deepEqual(sorted(MIGRATION_OBJECTS.role), sorted(named));
});
