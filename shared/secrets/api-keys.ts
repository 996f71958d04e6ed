/**
 * Supabase's API keys: HS256 JWTs carrying a Postgres role, signed with the project's JWT
 * secret (under the convention of conventions.ts). Signing and checking both go through
 * jose; nothing here builds or parses a JWT by hand.
 *
 * The keys live for years on purpose: they are configuration (Kong's key-auth compares
 * them, clients embed them), not sessions. Signing them with GoTrue's session expiry made
 * another operator's keys expire after an hour (landscape §2, SCK PR#236).
 */
import { compactVerify, decodeJwt, decodeProtectedHeader, errors, SignJWT } from 'jose';
import { decodeSecret, signingKey } from './conventions.ts';
import { Sensitive } from './sensitive.ts';

/** The roles of the two API keys (Postgres roles PostgREST switches to). */
export const API_KEY_ROLES = { anon: 'anon', serviceRole: 'service_role' } as const;

/** A role an API key carries. */
export type ApiKeyRole = (typeof API_KEY_ROLES)[keyof typeof API_KEY_ROLES];

/** `iss` of the keys, as upstream's key generator writes it. */
export const API_KEY_ISSUER = 'supabase';

/** The only algorithm the keys use (every service verifies HS256 with the shared secret). */
export const API_KEY_ALGORITHM = 'HS256';

/** Ten years (3650 days), the reference operator's lifetime. */
export const DEFAULT_API_KEY_LIFETIME_SECONDS = 3650 * 24 * 60 * 60;

/** A key that expires sooner than this is renewed (ours) or reported (a user's). */
export const DEFAULT_API_KEY_MIN_VALIDITY_SECONDS = 30 * 24 * 60 * 60;

/**
 * The fewest characters (UTF-8 bytes) a JWT secret may have: PostgREST refuses shorter
 * secrets, and HS256 is specified with a key of at least 256 bits (RFC 7518 §3.2).
 */
export const MIN_JWT_SECRET_BYTES = 32;

/** How long keys live and how much validity an existing key must have left. */
export interface ApiKeyPolicy {
  readonly lifetimeSeconds: number;
  readonly minValiditySeconds: number;
}

/** The default policy: ten years, renewed or reported 30 days before expiry. */
export const DEFAULT_API_KEY_POLICY: ApiKeyPolicy = Object.freeze({
  lifetimeSeconds: DEFAULT_API_KEY_LIFETIME_SECONDS,
  minValiditySeconds: DEFAULT_API_KEY_MIN_VALIDITY_SECONDS,
});

const seconds = (date: Date): number => Math.floor(date.getTime() / 1000);

/**
 * Signs an API key: `{role, iss: "supabase", iat, exp}`, header `{alg: HS256, typ: JWT}`.
 * @param secret - the value of `jwt-secret`
 * @param role - `anon` or `service_role`
 * @param now - the issue time
 * @param lifetimeSeconds - from `iat` to `exp`
 * @returns the compact JWT, wrapped so it never prints
 */
export async function signApiKey(
  secret: Sensitive,
  role: ApiKeyRole,
  now: Date,
  lifetimeSeconds: number = DEFAULT_API_KEY_LIFETIME_SECONDS,
): Promise<Sensitive> {
  const iat = seconds(now);
  const token = await new SignJWT({ role })
    .setProtectedHeader({ alg: API_KEY_ALGORITHM, typ: 'JWT' })
    .setIssuer(API_KEY_ISSUER)
    .setIssuedAt(iat)
    .setExpirationTime(iat + lifetimeSeconds)
    .sign(signingKey(secret));
  return new Sensitive(token);
}

/**
 * What is wrong with the JWT secret itself, in words without its value.
 * @param secret - the value of `jwt-secret`
 * @returns a phrase to follow the key's name, or undefined when it is usable
 */
export function jwtSecretProblem(secret: Sensitive): string | undefined {
  if (secret.isBlank()) return 'is empty';
  const bytes = Buffer.byteLength(secret.reveal(), 'utf8');
  if (bytes < MIN_JWT_SECRET_BYTES) {
    return `is ${bytes} characters long; at least ${MIN_JWT_SECRET_BYTES} are required (PostgREST refuses shorter secrets and HS256 needs a 256-bit key)`;
  }
  return undefined;
}

/** Why an API key is not usable. */
export type ApiKeyProblemKind =
  | 'malformed'
  | 'algorithm'
  | 'signature'
  | 'decodedSecret'
  | 'role'
  | 'issuer'
  | 'expired'
  | 'expiresSoon';

/** One problem of an API key, with a phrase that names no value. */
export interface ApiKeyProblem {
  readonly kind: ApiKeyProblemKind;
  /** Follows the key's name in a message, e.g. `anon-key has expired`. */
  readonly phrase: string;
}

/** What an API key must be. */
export interface ApiKeyExpectation {
  readonly role: ApiKeyRole;
  readonly now: Date;
  readonly minValiditySeconds: number;
}

/** Claim values safe to repeat in a message: well-known role names, nothing a user typed. */
const NAMEABLE_ROLES = new Set(['anon', 'service_role', 'authenticated', 'supabase_admin']);

async function verifies(token: string, key: Uint8Array): Promise<boolean> {
  try {
    await compactVerify(token, key, { algorithms: [API_KEY_ALGORITHM] });
    return true;
  } catch (error) {
    if (error instanceof errors.JWSSignatureVerificationFailed) return false;
    throw error;
  }
}

/**
 * Checks an API key the way the services will use it: HS256, signed with the secret's
 * UTF-8 bytes, the expected role, issued by `supabase`, and valid long enough. A key
 * without `exp` never expires and passes the expiry check.
 * @param token - the key
 * @param secret - the value of `jwt-secret` (assumed usable: see jwtSecretProblem)
 * @param expected - role, the current time and the validity an existing key must have left
 * @returns the first problem found, or undefined when the key is good
 */
export async function checkApiKey(
  token: Sensitive,
  secret: Sensitive,
  expected: ApiKeyExpectation,
): Promise<ApiKeyProblem | undefined> {
  const jwt = token.reveal().trim();
  let alg: unknown;
  let claims: Record<string, unknown>;
  try {
    alg = decodeProtectedHeader(jwt).alg;
    claims = decodeJwt(jwt);
  } catch {
    return {
      kind: 'malformed',
      phrase: 'is not a JWT (three base64url parts with a JSON payload)',
    };
  }
  if (alg !== API_KEY_ALGORITHM) {
    const named =
      typeof alg === 'string' && /^[A-Za-z0-9]{2,10}$/.test(alg) ? alg : 'another algorithm';
    return {
      kind: 'algorithm',
      phrase: `is signed with ${named}; the services expect ${API_KEY_ALGORITHM}`,
    };
  }
  try {
    if (!(await verifies(jwt, signingKey(secret)))) {
      // The reference operator signed with the base64-decoded secret (facts §4.4): name
      // that case, since a Secret made for it is the likeliest pre-created one.
      const decoded = decodeSecret(secret.reveal(), 'base64');
      return decoded.length > 0 && (await verifies(jwt, decoded))
        ? {
            kind: 'decodedSecret',
            phrase:
              'is signed with the base64-decoded jwt-secret (the reference operator’s convention), but every component here uses jwt-secret as text; re-sign it with the text',
          }
        : { kind: 'signature', phrase: 'does not verify with jwt-secret (wrong signature)' };
    }
  } catch {
    return { kind: 'malformed', phrase: 'is not a valid JWS' };
  }
  if (claims.role !== expected.role) {
    const named =
      typeof claims.role === 'string' && NAMEABLE_ROLES.has(claims.role)
        ? `role "${claims.role}"`
        : claims.role === undefined
          ? 'no role claim'
          : 'another role';
    return { kind: 'role', phrase: `carries ${named}; it must carry role "${expected.role}"` };
  }
  if (claims.iss !== API_KEY_ISSUER) {
    return { kind: 'issuer', phrase: `has an issuer (iss) other than "${API_KEY_ISSUER}"` };
  }
  if (claims.exp !== undefined) {
    if (typeof claims.exp !== 'number') {
      return { kind: 'malformed', phrase: 'has an exp claim that is not a number' };
    }
    const left = claims.exp - seconds(expected.now);
    if (left <= 0) {
      return { kind: 'expired', phrase: `expired on ${new Date(claims.exp * 1000).toISOString()}` };
    }
    if (left < expected.minValiditySeconds) {
      return {
        kind: 'expiresSoon',
        phrase: `expires on ${new Date(claims.exp * 1000).toISOString()}, in less than ${Math.round(expected.minValiditySeconds / 86_400)} days`,
      };
    }
  }
  return undefined;
}
