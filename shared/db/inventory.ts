/**
 * What init-db's migrations create, and which of those objects already existed before the
 * reconciler first touched a database.
 *
 * The migrations use IF NOT EXISTS (a database prepared by Supabase's own image has most of
 * these objects already), so "what init-db created" cannot be read from the database later.
 * It is recorded instead: when the ledger is created, in the same transaction, one row per
 * object of MIGRATION_OBJECTS says whether it existed. The Delete deletion policy
 * (teardown.ts) drops only objects recorded as not pre-existing; an object without a row
 * (added to this list by a later version) is kept, the safe side.
 */
import type { DatabaseClient } from './connect.ts';
import { INVENTORY_TABLE, LEDGER_SCHEMA } from './ledger.ts';

/** Kinds of objects the migrations create. */
export type ObjectKind = 'schema' | 'extension' | 'role' | 'publication' | 'type' | 'function';

/**
 * Every object the bundled migrations (shared/db/migrations/) may create, by kind. A migration
 * that creates a new object adds it here (inventory.test.ts reads the SQL and checks).
 * Types and functions are schema-qualified; the function with its argument types.
 */
export const MIGRATION_OBJECTS: Readonly<Record<ObjectKind, readonly string[]>> = {
  schema: [
    'extensions',
    'auth',
    'storage',
    'realtime',
    '_realtime',
    'graphql_public',
    'graphql',
    LEDGER_SCHEMA,
  ],
  extension: ['pgcrypto', 'uuid-ossp', 'pg_stat_statements', 'pg_graphql'],
  role: [
    'anon',
    'authenticated',
    'service_role',
    'authenticator',
    'supabase_auth_admin',
    'supabase_storage_admin',
    'postgres',
    'supabase_admin',
    'supabase_replication_admin',
    'dashboard_user',
  ],
  publication: ['supabase_realtime'],
  type: ['auth.factor_type', 'auth.code_challenge_method'],
  function: ['graphql_public.graphql(text, text, jsonb, jsonb)'],
};

/** One object of MIGRATION_OBJECTS. */
export interface CatalogObject {
  readonly kind: ObjectKind;
  readonly name: string;
}

/** MIGRATION_OBJECTS as a list. */
export function migrationObjects(): CatalogObject[] {
  return (Object.entries(MIGRATION_OBJECTS) as [ObjectKind, readonly string[]][]).flatMap(
    ([kind, names]) => names.map((name) => ({ kind, name })),
  );
}

/** Whether an object of a kind exists, as SQL over `o.kind` and `o.name`. */
const EXISTS_SQL = `CASE o.kind
  WHEN 'schema' THEN EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = o.name)
  WHEN 'extension' THEN EXISTS (SELECT 1 FROM pg_extension WHERE extname = o.name)
  WHEN 'role' THEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = o.name)
  WHEN 'publication' THEN EXISTS (SELECT 1 FROM pg_publication WHERE pubname = o.name)
  WHEN 'type' THEN to_regtype(o.name) IS NOT NULL
  WHEN 'function' THEN to_regprocedure(o.name) IS NOT NULL
END`;

/** How an object is named in reports: `schema auth`, `role anon`. */
export function objectName(object: CatalogObject): string {
  return `${object.kind} ${object.name}`;
}

/** Which of `objects` exist now, by objectName. */
export async function presentObjects(
  client: DatabaseClient,
  objects: readonly CatalogObject[],
): Promise<Set<string>> {
  const { rows } = await client.query<{ kind: ObjectKind; name: string }>(
    `SELECT o.kind, o.name FROM unnest($1::text[], $2::text[]) AS o(kind, name)
     WHERE ${EXISTS_SQL}`,
    [objects.map((o) => o.kind), objects.map((o) => o.name)],
  );
  return new Set(rows.map(objectName));
}

/** Creates the inventory table (inside the transaction that creates the ledger). */
export async function createInventoryTable(client: DatabaseClient): Promise<void> {
  await client.query(`CREATE TABLE ${INVENTORY_TABLE} (
    kind text NOT NULL,
    name text NOT NULL,
    existed boolean NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, name)
  )`);
}

/**
 * Records, for every object of MIGRATION_OBJECTS that has no row yet, whether it exists now.
 * Run before any migration of this run is applied, so "exists now" means "existed before
 * init-db created it" for every object a pending migration creates.
 * @param overrides - objects whose existence was decided earlier (the ledger's own schema,
 *   looked at before it was created)
 */
export async function recordInventory(
  client: DatabaseClient,
  overrides: readonly (CatalogObject & { readonly existed: boolean })[] = [],
): Promise<void> {
  const objects = migrationObjects();
  const known = new Map(overrides.map((o) => [`${o.kind}/${o.name}`, o.existed]));
  await client.query(
    `INSERT INTO ${INVENTORY_TABLE} (kind, name, existed)
     SELECT o.kind, o.name, coalesce(o.known, ${EXISTS_SQL})
     FROM unnest($1::text[], $2::text[], $3::boolean[]) AS o(kind, name, known)
     ON CONFLICT (kind, name) DO NOTHING`,
    [
      objects.map((o) => o.kind),
      objects.map((o) => o.name),
      objects.map((o) => known.get(`${o.kind}/${o.name}`) ?? null),
    ],
  );
}

/** What the inventory of a database says. */
export type Inventory =
  /** No ledger: the reconciler never initialised this database, or tore it down already. */
  | { readonly state: 'no-ledger' }
  /** A ledger without an inventory: initialised by a version that did not record one. */
  | { readonly state: 'missing' }
  | {
      readonly state: 'recorded';
      /** The objects recorded as created by the reconciler (not pre-existing). */
      readonly created: readonly CatalogObject[];
      /** Objects of MIGRATION_OBJECTS without a row: kept, as if pre-existing. */
      readonly unrecorded: readonly CatalogObject[];
    };

/**
 * Reads the inventory.
 * @param ledgerTable - the ledger's qualified name (to tell "no ledger" from "no inventory")
 */
export async function readInventory(
  client: DatabaseClient,
  ledgerTable: string,
): Promise<Inventory> {
  const { rows: tables } = await client.query<{ ledger: boolean; inventory: boolean }>(
    'SELECT to_regclass($1) IS NOT NULL AS ledger, to_regclass($2) IS NOT NULL AS inventory',
    [ledgerTable, INVENTORY_TABLE],
  );
  if (!tables[0]?.ledger) return { state: 'no-ledger' };
  if (!tables[0].inventory) return { state: 'missing' };
  const { rows } = await client.query<{ kind: ObjectKind; name: string; existed: boolean }>(
    `SELECT kind, name, existed FROM ${INVENTORY_TABLE}`,
  );
  const recorded = new Set(rows.map((r) => `${r.kind}/${r.name}`));
  return {
    state: 'recorded',
    created: rows.filter((r) => !r.existed).map(({ kind, name }) => ({ kind, name })),
    unrecorded: migrationObjects().filter((o) => !recorded.has(`${o.kind}/${o.name}`)),
  };
}
