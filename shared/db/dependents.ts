/**
 * Before the Delete deletion policy drops anything with CASCADE: which objects outside what it
 * drops depend on what it drops. A user's view on auth.users, a foreign key to auth.users, a
 * policy calling auth.uid(), a column default calling extensions.uuid_generate_v4(): CASCADE
 * would drop each of them silently (the view, the constraint, the policy, the default), so they
 * are found first and reported instead (teardown.ts drops nothing then).
 */
import type { DatabaseClient } from './connect.ts';

/** What is about to be dropped. */
export interface DropSet {
  /** Schemas dropped with CASCADE (everything in them goes). */
  readonly schemas: readonly string[];
  /** Extensions dropped (their member objects go). */
  readonly extensions: readonly string[];
  /** Schema-qualified types dropped on their own. */
  readonly types: readonly string[];
  /** Functions with argument types, dropped on their own. */
  readonly functions: readonly string[];
  readonly publications: readonly string[];
}

/** One object outside the drop set that depends on an object in it. */
export interface Dependent {
  /** e.g. `view public.members`, `policy own_rows on public.todos`. */
  readonly object: string;
  /** What it depends on, e.g. `table column auth.users.id, index auth.users_pkey`. */
  readonly dependsOn: string;
}

/**
 * The namespace of a pg_depend side, for the catalogs whose objects live in a schema (directly,
 * or through the table they belong to). Anything else is NULL: counted as outside, so an
 * unforeseen kind of dependent is reported rather than dropped.
 */
function namespaceOf(classId: string, objectId: string): string {
  const direct = (catalog: string, column: string) =>
    `WHEN '${catalog}'::regclass THEN (SELECT ${column} FROM ${catalog} WHERE oid = ${objectId})`;
  const viaTable = (catalog: string, column: string) =>
    `WHEN '${catalog}'::regclass THEN (SELECT c.relnamespace FROM ${catalog} x JOIN pg_class c ON c.oid = x.${column} WHERE x.oid = ${objectId})`;
  return `CASE ${classId}
    ${direct('pg_class', 'relnamespace')}
    ${direct('pg_proc', 'pronamespace')}
    ${direct('pg_type', 'typnamespace')}
    ${direct('pg_constraint', 'connamespace')}
    ${direct('pg_operator', 'oprnamespace')}
    ${direct('pg_opclass', 'opcnamespace')}
    ${direct('pg_opfamily', 'opfnamespace')}
    ${direct('pg_collation', 'collnamespace')}
    ${direct('pg_conversion', 'connamespace')}
    ${direct('pg_statistic_ext', 'stxnamespace')}
    ${direct('pg_ts_config', 'cfgnamespace')}
    ${direct('pg_ts_dict', 'dictnamespace')}
    ${viaTable('pg_attrdef', 'adrelid')}
    ${viaTable('pg_trigger', 'tgrelid')}
    ${viaTable('pg_rewrite', 'ev_class')}
    ${viaTable('pg_policy', 'polrelid')}
    WHEN 'pg_namespace'::regclass THEN ${objectId}
  END`;
}

/**
 * Finds the objects outside `drop` that have a normal dependency on something in it (what
 * DROP ... CASCADE would take with it). Extension membership and automatic links (a table's
 * membership in the publication) are not dependents: they go with what they belong to.
 * @returns the dependents (one per object, with everything it depends on), at most `limit`,
 *   in a stable order
 */
export async function findDependents(
  client: DatabaseClient,
  drop: DropSet,
  limit = 50,
): Promise<Dependent[]> {
  const { rows } = await client.query<{ object: string; depends_on: string }>(
    `WITH
      ns AS (SELECT oid FROM pg_namespace WHERE nspname = ANY($1::text[])),
      ext AS (SELECT oid FROM pg_extension WHERE extname = ANY($2::text[])),
      dropped (classid, objid) AS (
        SELECT 'pg_namespace'::regclass::oid, oid FROM ns
        UNION ALL SELECT 'pg_extension'::regclass::oid, oid FROM ext
        UNION ALL SELECT d.classid, d.objid FROM pg_depend d
          WHERE d.deptype = 'e' AND d.refclassid = 'pg_extension'::regclass
            AND d.refobjid IN (SELECT oid FROM ext)
        UNION ALL SELECT 'pg_type'::regclass::oid, t FROM unnest($3::text[]) n, to_regtype(n) t
          WHERE t IS NOT NULL
        UNION ALL SELECT 'pg_proc'::regclass::oid, p FROM unnest($4::text[]) n, to_regprocedure(n) p
          WHERE p IS NOT NULL
        UNION ALL SELECT 'pg_publication'::regclass::oid, oid FROM pg_publication
          WHERE pubname = ANY($5::text[])
      ),
      located AS (
        SELECT d.*,
          ${namespaceOf('d.classid', 'd.objid')} AS dep_ns,
          ${namespaceOf('d.refclassid', 'd.refobjid')} AS ref_ns
        FROM pg_depend d
        WHERE d.deptype = 'n'
      )
    SELECT
      -- A view depends through its rewrite rule: name the view.
      CASE WHEN l.classid = 'pg_rewrite'::regclass
        THEN (SELECT concat_ws(' ', i.type, i.identity)
              FROM pg_rewrite r, pg_identify_object('pg_class'::regclass, r.ev_class, 0) i
              WHERE r.oid = l.objid)
        ELSE concat_ws(' ', dep.type, dep.identity)
      END AS object,
      string_agg(DISTINCT concat_ws(' ', ref.type, ref.identity), ', ') AS depends_on
    FROM located l,
      pg_identify_object(l.classid, l.objid, l.objsubid) dep,
      pg_identify_object(l.refclassid, l.refobjid, l.refobjsubid) ref
    WHERE (l.ref_ns IN (SELECT oid FROM ns)
           OR (l.refclassid, l.refobjid) IN (SELECT classid, objid FROM dropped))
      AND NOT (coalesce(l.dep_ns IN (SELECT oid FROM ns), false)
               OR (l.classid, l.objid) IN (SELECT classid, objid FROM dropped))
    GROUP BY 1
    ORDER BY 1
    LIMIT $6`,
    [drop.schemas, drop.extensions, drop.types, drop.functions, drop.publications, limit],
  );
  return rows.map((r) => ({ object: r.object, dependsOn: r.depends_on }));
}
