/**
 * SCRAM-SHA-256 password verifiers (RFC 5802 / RFC 7677, stored in PostgreSQL's format,
 * RFC 5803). Setting a role's password as a verifier, as psql's \password does, means the
 * plaintext never travels to the server, so it cannot end up in the server's statement log.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import type { Sensitive } from '../secrets/sensitive.ts';

/** PostgreSQL's default iteration count (scram_iterations). */
const ITERATIONS = 4096;

/**
 * Builds the verifier PostgreSQL stores for a password:
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`.
 * @param password - the password (wrapped: only revealed here)
 * @param salt - 16 random bytes unless given (tests)
 */
export function scramVerifier(password: Sensitive, salt: Buffer = randomBytes(16)): string {
  // PostgreSQL applies SASLprep to the password; for the ASCII passwords the reconciler
  // handles that is the identity. Non-ASCII passwords still work: the server does the same
  // normalisation when it verifies, and falls back to the raw bytes when SASLprep fails.
  const salted = pbkdf2Sync(password.reveal().normalize('NFKC'), salt, ITERATIONS, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
