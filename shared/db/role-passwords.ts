/**
 * Keeps the passwords of the services' login roles equal to the database Secret's password.
 *
 * Those roles (authenticator, supabase_auth_admin, supabase_storage_admin) belong to the whole
 * PostgreSQL server, not to one database, so two projects whose databases share a server share
 * them. The decision is made from the real credential: a login as each role with the Secret's
 * password. Which project set the password is recorded on the server itself, as a comment on
 * the authenticator role, so a second project with another password is told so in a
 * condition instead of silently overwriting the first project's password (and the two never
 * flip-flop); a password changed by hand is repaired by the project that owns the roles.
 */
import type { ObjectKey } from '../k8s/objects.ts';
import { PermanentError, ReconcilerError, TransientError } from '../runtime/errors.ts';
import { connectDatabase, type ConnectOptions, type DatabaseClient } from './connect.ts';
import { scramVerifier } from './scram.ts';
import type { DatabaseTarget } from './target.ts';
import { REASON } from '../api/reasons.ts';

/** The roles the Supabase services log in as, besides the database Secret's own user. */
export const SERVICE_LOGIN_ROLES = [
  'authenticator',
  'supabase_auth_admin',
  'supabase_storage_admin',
] as const;

/** The role whose comment records which project set the login roles' password. */
export const CLAIM_ROLE = SERVICE_LOGIN_ROLES[0];

/** How the claim comment starts; anything else on the role is not ours. */
const CLAIM_PREFIX = 'supabase-reconciler: ';

/** Which project set the login roles' password, as recorded on the server. */
export interface LoginRoleClaim {
  /** `<namespace>/<name>` of the SupabaseProject. */
  readonly project: string;
  /** Its database, for the message. */
  readonly database: string;
}

/** Options of syncRolePasswords. */
export interface SyncOptions extends ConnectOptions {
  /** The roles to keep in step (default: SERVICE_LOGIN_ROLES). */
  readonly roles?: readonly string[];
}

/** SQLSTATEs of two transactions writing one catalog row at once: try again. */
const CONCURRENT_WRITE = new Set(['XX000', '23505', '40001', '40P01']);

/**
 * Makes each login role accept the Secret's password, unless another project's password is
 * what they carry. Runs after the migrations (the roles exist).
 * @param client - a connected client of the database user
 * @param target - the database and the Secret's credentials (logins are tried with them)
 * @param project - the project this run is for (recorded as the claim)
 * @returns the roles whose password this run changed (empty when every login worked)
 * @throws PermanentError `LoginRolesClaimed` when another project's password is in place
 */
export async function syncRolePasswords(
  client: DatabaseClient,
  target: DatabaseTarget,
  project: ObjectKey,
  options: SyncOptions,
): Promise<string[]> {
  const roles = options.roles ?? SERVICE_LOGIN_ROLES;
  const me: LoginRoleClaim = {
    project: `${project.namespace}/${project.name}`,
    database: target.database,
  };
  // Two first runs on a fresh server may write at once; PostgreSQL then refuses one of them
  // ("tuple concurrently updated"), and its next look finds the other's result.
  for (let attempt = 1; ; attempt++) {
    try {
      return await syncOnce(client, target, roles, me, options);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (attempt >= 3 || !code || !CONCURRENT_WRITE.has(code)) throw error;
    }
  }
}

async function syncOnce(
  client: DatabaseClient,
  target: DatabaseTarget,
  roles: readonly string[],
  me: LoginRoleClaim,
  options: ConnectOptions,
): Promise<string[]> {
  const refused = await rolesRefusing(target, roles, options);
  const claim = await readClaim(client);
  if (refused.length === 0) {
    // The password is right. Record who set it the first time, so that a later project with
    // another password meets a claim instead of a server it may take over.
    if (!claim) await writeClaim(client, me);
    return [];
  }
  if (claim && claim.project !== me.project) {
    return refuseOrAccept(target, roles, claim, options);
  }

  await client.query('BEGIN');
  try {
    // Look again inside the transaction: another project may have claimed the roles since
    // (with the same password, which is fine, or with another one, which is not).
    const current = await readClaim(client);
    if (current && current.project !== me.project) {
      await client.query('ROLLBACK');
      return await refuseOrAccept(target, roles, current, options);
    }
    for (const role of refused) {
      // A verifier, not the password: see scram.ts. Identifiers cannot be parameters.
      await client.query(
        `ALTER ROLE ${client.escapeIdentifier(role)} WITH LOGIN PASSWORD ${client.escapeLiteral(scramVerifier(target.password))}`,
      );
    }
    await writeClaim(client, me);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  return refused;
}

/**
 * Another project owns the roles. If they accept this project's password too (both use the
 * same one, the only way two projects share a server), there is nothing to do; otherwise
 * this project is told whose password they carry.
 * @throws PermanentError LoginRolesClaimed
 */
async function refuseOrAccept(
  target: DatabaseTarget,
  roles: readonly string[],
  claim: LoginRoleClaim,
  options: ConnectOptions,
): Promise<string[]> {
  if ((await rolesRefusing(target, roles, options)).length === 0) return [];
  throw claimedBy(claim, target, roles);
}

/**
 * The roles that do not accept the Secret's password, found by logging in as each.
 * @throws PermanentError when the server refuses such logins for another reason (pg_hba.conf)
 * @throws TransientError when the server cannot be reached
 */
async function rolesRefusing(
  target: DatabaseTarget,
  roles: readonly string[],
  options: ConnectOptions,
): Promise<string[]> {
  const results = await Promise.all(
    roles.map(async (role) => ((await acceptsPassword(target, role, options)) ? [] : [role])),
  );
  return results.flat();
}

async function acceptsPassword(
  target: DatabaseTarget,
  role: string,
  options: ConnectOptions,
): Promise<boolean> {
  try {
    const client = await connectDatabase({ ...target, user: role }, options);
    await client.end().catch(() => undefined);
    return true;
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    // Wrong password; or a role that may not log in yet (LOGIN is set with the password).
    if (cause?.code === '28P01') return false;
    if (cause?.code === '28000' && (cause.message ?? '').includes('not permitted to log in')) {
      return false;
    }
    if (error instanceof PermanentError) {
      throw new PermanentError(
        REASON.LoginRoleRefused,
        `logging in as ${role}, as the Supabase services do, failed: ${error.message.replace(/^.*?: /, '')}. The services connect as ${role} with the database Secret's password: allow it in pg_hba.conf`,
        { cause: error },
      );
    }
    throw error instanceof ReconcilerError
      ? error
      : new TransientError(`logging in as ${role} failed`, { cause: error });
  }
}

/** The claim recorded on the server, if any (a comment that is not ours is no claim). */
export async function readClaim(client: DatabaseClient): Promise<LoginRoleClaim | undefined> {
  const { rows } = await client.query<{ comment: string | null }>(
    `SELECT shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = $1`,
    [CLAIM_ROLE],
  );
  const comment = rows[0]?.comment;
  if (!comment?.startsWith(CLAIM_PREFIX)) return undefined;
  try {
    const parsed = JSON.parse(comment.slice(CLAIM_PREFIX.length)) as Partial<LoginRoleClaim>;
    if (typeof parsed.project !== 'string' || typeof parsed.database !== 'string') return undefined;
    return { project: parsed.project, database: parsed.database };
  } catch {
    return undefined;
  }
}

/**
 * Releases the claim if it names `project` (finalize: the project is being deleted, so another
 * project may take the login roles over). A claim of another project, or none, is left as it
 * is: the comment is cleared only if it still is the one just read, checked in the same
 * statement, so a claim another project wrote meanwhile survives.
 * @returns whether a claim of this project was released
 * @throws what node-postgres throws (translate at the caller)
 */
export async function releaseClaim(client: DatabaseClient, project: ObjectKey): Promise<boolean> {
  const { rows } = await client.query<{ comment: string | null }>(
    `SELECT shobj_description(oid, 'pg_authid') AS comment FROM pg_roles WHERE rolname = $1`,
    [CLAIM_ROLE],
  );
  const comment = rows[0]?.comment;
  const claim = await readClaim(client);
  if (!comment || claim?.project !== `${project.namespace}/${project.name}`) return false;
  const role = client.escapeLiteral(CLAIM_ROLE);
  await client.query(`DO $release$
BEGIN
  IF shobj_description((SELECT oid FROM pg_roles WHERE rolname = ${role}), 'pg_authid') = ${client.escapeLiteral(comment)} THEN
    COMMENT ON ROLE ${client.escapeIdentifier(CLAIM_ROLE)} IS NULL;
  END IF;
END
$release$`);
  return true;
}

async function writeClaim(client: DatabaseClient, claim: LoginRoleClaim): Promise<void> {
  const text = `${CLAIM_PREFIX}${JSON.stringify({ project: claim.project, database: claim.database })}`;
  await client.query(
    `COMMENT ON ROLE ${client.escapeIdentifier(CLAIM_ROLE)} IS ${client.escapeLiteral(text)}`,
  );
}

function claimedBy(
  claim: LoginRoleClaim,
  target: DatabaseTarget,
  roles: readonly string[],
): PermanentError {
  return new PermanentError(
    REASON.LoginRolesClaimed,
    `the login roles ${roles.join(', ')} of the PostgreSQL server ${target.host}:${target.port} carry the password of project ${claim.project} (database ${claim.database}), and Supabase's roles belong to the whole server: ` +
      `give this project's database Secret the same password as ${claim.project}'s, or give this project a server of its own. ` +
      `If ${claim.project} no longer uses this server, release the roles with COMMENT ON ROLE ${CLAIM_ROLE} IS NULL, and this project takes them over`,
  );
}
