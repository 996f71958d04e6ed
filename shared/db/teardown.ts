/**
 * What deleting a SupabaseProject does to its database (`spec.database.deletionPolicy`).
 *
 * Both policies release the login roles' claim when it names the project (role-passwords.ts),
 * so another project on the server may take the roles over. `Retain` stops there: every
 * object and row stays. `Delete` drops exactly what init-db created, as the inventory recorded
 * with the ledger says (inventory.ts): the objects of MIGRATION_OBJECTS that did not exist
 * before, then the ledger itself; never anything else.
 *
 * - Schemas are dropped with CASCADE (the services' own tables go with them), but first every
 *   object outside what is dropped that depends on it is looked for (dependents.ts): a user's
 *   view on auth.users, a foreign key to it, a policy calling auth.uid(). If there is one,
 *   nothing is dropped and the PermanentError `DependentObjects` lists them.
 * - Roles belong to the whole server: each goes only if PostgreSQL lets it (drop-roles.ts);
 *   one that another database still uses is kept and reported.
 * - A database initialised before the inventory existed cannot tell init-db's objects from
 *   the user's: nothing is dropped, and the report says so (`inventory: 'missing'`).
 *
 * Everything runs under the migration lock, so an init-db run cannot interleave; each step is
 * idempotent, so a teardown cut short is finished by the next attempt (the ledger, which holds
 * the inventory, goes last).
 */
import { REASON } from '../api/reasons.ts';
import type { DeletionPolicy } from '../api/types.ts';
import type { ObjectKey } from '../k8s/objects.ts';
import { PermanentError } from '../runtime/errors.ts';
import { connectDatabase, type ConnectOptions, type DatabaseClient } from './connect.ts';
import { findDependents, type DropSet } from './dependents.ts';
import { dropCreatedRoles, type RoleOutcome } from './drop-roles.ts';
import { translateDbError } from './errors.ts';
import {
  MIGRATION_OBJECTS,
  objectName,
  presentObjects,
  readInventory,
  type Inventory,
  type ObjectKind,
} from './inventory.ts';
import { INVENTORY_TABLE, LEDGER_SCHEMA, LEDGER_TABLE } from './ledger.ts';
import { withMigrationLock } from './migrations.ts';
import { CLAIM_ROLE, releaseClaim } from './role-passwords.ts';
import type { DatabaseTarget } from './target.ts';

/** What a teardown did. */
export interface TeardownReport {
  /** Whether this project's claim on the login roles was released (false: it held none). */
  readonly claimReleased: boolean;
  /** Delete only: what the inventory said (`missing`: nothing could be dropped). */
  readonly inventory?: Inventory['state'];
  /** Objects dropped, e.g. `schema auth`, `role anon`. */
  readonly dropped: readonly string[];
  /** Objects init-db created that were kept, each with why. */
  readonly kept: readonly string[];
}

/** Options of teardownDatabase. */
export interface TeardownOptions extends ConnectOptions {
  /** How long to wait for a running init-db's migration lock (then TransientError). */
  readonly lockTimeoutMs?: number;
}

/**
 * Carries out a deletion policy on the project's database.
 * @param target - the database and the Secret's credentials
 * @param project - the project being deleted (its claim on the login roles is released)
 * @throws ReconcilerError: TransientError when the database cannot be reached (retry);
 *   PermanentError for refused credentials, a missing database, `DependentObjects`, or a
 *   statement the server refuses
 */
export async function teardownDatabase(
  target: DatabaseTarget,
  project: ObjectKey,
  policy: DeletionPolicy,
  options: TeardownOptions,
): Promise<TeardownReport> {
  const client = await connectDatabase(target, options);
  try {
    const kept: string[] = [];
    let claimReleased = false;
    try {
      claimReleased = await releaseClaim(client, project);
    } catch (error) {
      const translated = translateDbError(error, target, "release the login roles' claim");
      if (!(translated instanceof PermanentError)) throw translated;
      // A user who may not comment on the role cannot release it: say so, go on.
      kept.push(`the login roles' claim (comment on role ${CLAIM_ROLE}): ${translated.message}`);
    }
    if (policy === 'Retain') return { claimReleased, dropped: [], kept };
    const deleted = await withMigrationLock(client, target, options.lockTimeoutMs, () =>
      dropCreated(client, target),
    );
    return { claimReleased, ...deleted, kept: [...kept, ...deleted.kept] };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function dropCreated(
  client: DatabaseClient,
  target: DatabaseTarget,
): Promise<Omit<TeardownReport, 'claimReleased'>> {
  const inventory = await step(target, 'read the inventory', () =>
    readInventory(client, LEDGER_TABLE),
  );
  if (inventory.state !== 'recorded') {
    return { inventory: inventory.state, dropped: [], kept: [] };
  }
  // Only names of the current list: they are constants, never text read from the database.
  const created = inventory.created.filter((o) => MIGRATION_OBJECTS[o.kind].includes(o.name));
  const present = await step(target, 'look up the objects init-db created', () =>
    presentObjects(client, [...created, ...inventory.unrecorded]),
  );
  const mine = created.filter((o) => present.has(objectName(o)));
  const names = (kind: ObjectKind) => mine.filter((o) => o.kind === kind).map((o) => o.name);
  const schemas = names('schema').filter((s) => s !== LEDGER_SCHEMA);
  const outside = (qualified: string) => !schemas.includes(qualified.split('.')[0] ?? '');
  const drop: DropSet = {
    schemas,
    extensions: names('extension'),
    types: names('type').filter(outside),
    functions: names('function').filter(outside),
    publications: names('publication'),
  };

  await step(target, 'drop the objects init-db created', () => dropObjects(client, drop));
  const roles = await step(target, 'drop the roles init-db created', () =>
    dropCreatedRoles(client, names('role')),
  );
  await step(target, `drop the ledger ${LEDGER_TABLE}`, () =>
    names('schema').includes(LEDGER_SCHEMA)
      ? client.query(`DROP SCHEMA IF EXISTS ${LEDGER_SCHEMA} CASCADE`)
      : client.query(`DROP TABLE IF EXISTS ${LEDGER_TABLE}, ${INVENTORY_TABLE}`),
  );

  const dropped = [
    ...drop.publications.map((n) => `publication ${n}`),
    ...drop.functions.map((n) => `function ${n}`),
    ...drop.types.map((n) => `type ${n}`),
    ...drop.extensions.map((n) => `extension ${n}`),
    ...names('schema').map((n) => `schema ${n}`),
    ...roles.filter((r) => r.dropped).map((r) => `role ${r.role}`),
  ];
  const kept = [
    ...keptRoles(roles),
    ...inventory.unrecorded
      .filter((o) => present.has(objectName(o)))
      .map((o) => `${objectName(o)}: not in the inventory (listed after it was taken)`),
  ];
  return { inventory: 'recorded', dropped, kept };
}

/**
 * Drops the database's own objects in one transaction, after checking in it that nothing
 * outside depends on them.
 * @throws PermanentError DependentObjects (nothing dropped)
 */
async function dropObjects(client: DatabaseClient, drop: DropSet): Promise<void> {
  const id = (name: string) => client.escapeIdentifier(name);
  await client.query('BEGIN');
  try {
    const dependents = await findDependents(client, drop);
    if (dependents.length > 0) {
      const shown = dependents.slice(0, 10).map((d) => `${d.object} (on ${d.dependsOn})`);
      const more = dependents.length > 10 ? ` and ${dependents.length - 10} more` : '';
      throw new PermanentError(
        REASON.DependentObjects,
        `deletionPolicy Delete would drop objects that objects of yours depend on: ${shown.join('; ')}${more}. Nothing was dropped. Drop or change those objects (or move them off init-db's schemas), then touch the project (any annotation change) to try again; or set the annotation supabase.reconciler.dev/force-delete to delete the project and leave the database as it is`,
      );
    }
    for (const name of drop.publications)
      await client.query(`DROP PUBLICATION IF EXISTS ${id(name)}`);
    // Types and functions are schema-qualified constants of MIGRATION_OBJECTS.
    for (const name of drop.functions) await client.query(`DROP FUNCTION IF EXISTS ${name}`);
    for (const name of drop.types) await client.query(`DROP TYPE IF EXISTS ${name} CASCADE`);
    for (const name of drop.extensions) {
      await client.query(`DROP EXTENSION IF EXISTS ${id(name)} CASCADE`);
    }
    for (const name of drop.schemas)
      await client.query(`DROP SCHEMA IF EXISTS ${id(name)} CASCADE`);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** The roles kept, one entry per reason: `roles anon, authenticated: why`. */
function keptRoles(outcomes: readonly RoleOutcome[]): string[] {
  const byWhy = new Map<string, string[]>();
  for (const outcome of outcomes) {
    if (!outcome.dropped) byWhy.set(outcome.why, [...(byWhy.get(outcome.why) ?? []), outcome.role]);
  }
  return [...byWhy].map(
    ([why, roles]) => `${roles.length > 1 ? 'roles' : 'role'} ${roles.join(', ')}: ${why}`,
  );
}

/** Runs a step, translating its errors (ReconcilerErrors pass through). */
async function step<T>(target: DatabaseTarget, action: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw translateDbError(error, target, action);
  }
}
