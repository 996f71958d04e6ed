/**
 * Dropping the server-wide roles init-db created, for the Delete deletion policy. Roles belong
 * to the whole server and may serve another project's database on it: while any other
 * database holds objects or privileges of any of them (pg_shdepend), all of them are kept and
 * the databases named; otherwise each goes only when PostgreSQL agrees (DROP ROLE fails with
 * 2BP01 when something still depends on it: kept, with the server's detail).
 *
 * In this database a role's privileges (the grants init-db made in `public`, default
 * privileges) are revoked first with DROP OWNED, which needs the privileges of the role: a
 * database user who is not a superuser but created the role (ADMIN OPTION) grants itself
 * membership for that moment and takes it back if the role stays. A role that owns objects in
 * this database outside what teardown dropped (a user's table) is kept untouched: DROP OWNED
 * would drop them.
 */
import type { DatabaseClient } from './connect.ts';

/** What happened to one role. */
export type RoleOutcome =
  | { readonly role: string; readonly dropped: true }
  | { readonly role: string; readonly dropped: false; readonly why: string };

const DEPENDENT_OBJECTS = '2BP01';

/**
 * Drops each role if it exists and nothing else needs it, each in its own transaction.
 * @param roles - roles init-db created (the inventory says so)
 * @throws what node-postgres throws when the connection fails (translate at the caller); a
 *   statement the server refuses keeps that role, with the server's message
 */
export async function dropCreatedRoles(
  client: DatabaseClient,
  roles: readonly string[],
): Promise<RoleOutcome[]> {
  // The services need the roles together: while another database uses any of them, every
  // one stays (a role no object depends on may still be named by that project's services).
  const users = await otherUsers(client, roles);
  if (users) return roles.map((role) => ({ role, dropped: false, why: users }));
  const outcomes: RoleOutcome[] = [];
  for (const role of roles) {
    const outcome = await dropRole(client, role);
    if (outcome) outcomes.push(outcome);
  }
  return outcomes;
}

async function dropRole(client: DatabaseClient, role: string): Promise<RoleOutcome | undefined> {
  const { rows } = await client.query<{
    present: boolean;
    me: boolean;
    inherits: boolean;
    v16: boolean;
  }>(
    `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS present,
            $1 IN (current_user, session_user) AS me,
            EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)
              AND pg_has_role(current_user, $1, 'USAGE') AS inherits,
            current_setting('server_version_num')::int >= 160000 AS v16`,
    [role],
  );
  const state = rows[0];
  if (!state?.present) return undefined;
  if (state.me) return { role, dropped: false, why: 'it is the database user itself' };
  const id = client.escapeIdentifier(role);
  await client.query('BEGIN');
  try {
    const owned = await ownedHere(client, role);
    if (owned.length > 0) {
      await client.query('ROLLBACK');
      return {
        role,
        dropped: false,
        why: `it owns objects in this database that are not init-db's: ${owned.join(', ')}`,
      };
    }
    if (!state.inherits) {
      await client.query(`GRANT ${id} TO CURRENT_USER${state.v16 ? ' WITH INHERIT TRUE' : ''}`);
    }
    await client.query(`DROP OWNED BY ${id}`);
    await client.query('SAVEPOINT drop_role');
    try {
      await client.query(`DROP ROLE ${id}`);
    } catch (error) {
      const e = error as { code?: string; detail?: string };
      if (e.code !== DEPENDENT_OBJECTS) throw error;
      await client.query('ROLLBACK TO SAVEPOINT drop_role');
      if (!state.inherits) await client.query(`REVOKE ${id} FROM CURRENT_USER`);
      await client.query('COMMIT');
      const detail = (e.detail ?? '').split('\n').join('; ');
      return {
        role,
        dropped: false,
        why: `other databases of the server depend on it (${detail || 'see the server log'})`,
      };
    }
    await client.query('COMMIT');
    return { role, dropped: true };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    const e = error as { code?: string; message?: string };
    // A refusal of the server (a missing right, say) keeps this role and goes on with the next;
    // a lost connection ends the teardown (it is retried).
    if (!e.code || !/^[0-9A-Z]{5}$/.test(e.code) || /^(08|53|57)/.test(e.code)) throw error;
    return { role, dropped: false, why: `${e.message ?? 'refused'} (SQLSTATE ${e.code})` };
  }
}

/**
 * Which other databases of the server hold objects or privileges of these roles, as the reason
 * to keep them, or undefined when none does.
 */
async function otherUsers(
  client: DatabaseClient,
  roles: readonly string[],
): Promise<string | undefined> {
  const { rows } = await client.query<{ database: string; roles: string }>(
    `SELECT coalesce(d.datname, '(the server itself)') AS database,
            string_agg(DISTINCT r.rolname, ', ' ORDER BY r.rolname) AS roles
     FROM pg_shdepend s
     JOIN pg_roles r ON r.oid = s.refobjid
     LEFT JOIN pg_database d ON d.oid = s.dbid
     WHERE s.refclassid = 'pg_authid'::regclass
       AND r.rolname = ANY($1::text[])
       AND s.dbid <> (SELECT oid FROM pg_database WHERE datname = current_database())
     GROUP BY 1
     ORDER BY 1`,
    [roles],
  );
  if (rows.length === 0) return undefined;
  const uses = rows.map((r) => `database ${r.database} uses ${r.roles}`).join('; ');
  return `other databases of the server still use init-db's roles (${uses})`;
}

/** Objects of this database the role owns (what teardown dropped no longer counts). */
async function ownedHere(client: DatabaseClient, role: string): Promise<string[]> {
  const { rows } = await client.query<{ object: string }>(
    `SELECT pg_describe_object(s.classid, s.objid, s.objsubid) AS object
     FROM pg_shdepend s
     WHERE s.deptype = 'o'
       AND s.refclassid = 'pg_authid'::regclass
       AND s.refobjid = (SELECT oid FROM pg_roles WHERE rolname = $1)
       AND s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
     ORDER BY 1
     LIMIT 10`,
    [role],
  );
  return rows.map((r) => r.object);
}
