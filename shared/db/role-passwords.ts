/**
 * Keeps the passwords of the services' login roles equal to the database Secret's password.
 * What was set last is tracked as a keyed fingerprint (HMAC-SHA-256 with a random key kept in
 * the database), never as the password, so a run whose password did not change alters no role.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Sensitive } from '../secrets/sensitive.ts';
import type { DatabaseClient } from './connect.ts';
import { LEDGER_SCHEMA } from './migrations.ts';
import { scramVerifier } from './scram.ts';

/** The roles the Supabase services log in as, besides the database Secret's own user. */
export const SERVICE_LOGIN_ROLES = [
  'authenticator',
  'supabase_auth_admin',
  'supabase_storage_admin',
] as const;

const STATE_TABLE = `${LEDGER_SCHEMA}.role_passwords`;
const KEY_TABLE = `${LEDGER_SCHEMA}.fingerprint_key`;

/**
 * Sets each login role's password where it differs from what was set last.
 * Runs after the migrations (the roles and the state tables of 0005 exist).
 * @param client - a connected client of the database user
 * @param password - the database Secret's password
 * @param roles - the roles to keep in step
 * @returns the roles whose password was changed
 */
export async function syncRolePasswords(
  client: DatabaseClient,
  password: Sensitive,
  roles: readonly string[] = SERVICE_LOGIN_ROLES,
): Promise<string[]> {
  // The tables come from migration 0005; the key is made on the first run.
  await client.query(`INSERT INTO ${KEY_TABLE} (key) VALUES ($1) ON CONFLICT (id) DO NOTHING`, [
    randomBytes(32),
  ]);
  const keyRow = await client.query<{ key: Buffer }>(`SELECT key FROM ${KEY_TABLE}`);
  const key = keyRow.rows[0]?.key;
  if (!key) throw new Error(`${KEY_TABLE} has no key`);
  const fingerprint = createHmac('sha256', key).update(password.reveal()).digest('hex');

  const { rows } = await client.query<{ role: string; fingerprint: string }>(
    `SELECT role, fingerprint FROM ${STATE_TABLE} WHERE role = ANY($1)`,
    [roles],
  );
  const known = new Map(rows.map((row) => [row.role, row.fingerprint]));
  const changed: string[] = [];
  for (const role of roles) {
    if (known.get(role) === fingerprint) continue;
    await client.query('BEGIN');
    try {
      // A verifier, not the password: see scram.ts. Identifiers cannot be parameters.
      await client.query(
        `ALTER ROLE ${client.escapeIdentifier(role)} WITH LOGIN PASSWORD ${client.escapeLiteral(scramVerifier(password))}`,
      );
      await client.query(
        `INSERT INTO ${STATE_TABLE} (role, fingerprint) VALUES ($1, $2)
         ON CONFLICT (role) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, updated_at = now()`,
        [role, fingerprint],
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
    changed.push(role);
  }
  return changed;
}
