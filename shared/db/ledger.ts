/**
 * Where the reconciler keeps its own records in a project's database: the schema, the
 * migration ledger, and the inventory of what existed before the first migration (which the
 * Delete deletion policy reads to drop only what init-db created).
 */

/** The reconciler's own schema. */
export const LEDGER_SCHEMA = 'supabase_reconciler';

/** The migration ledger: one row per applied migration. */
export const LEDGER_TABLE = `${LEDGER_SCHEMA}.schema_migrations`;

/**
 * Which of the objects the migrations create existed before the reconciler first touched the
 * database (shared/db/inventory.ts).
 */
export const INVENTORY_TABLE = `${LEDGER_SCHEMA}.pre_existing_objects`;
