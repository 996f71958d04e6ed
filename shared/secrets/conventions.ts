/**
 * The one key-encoding convention, and which environment variable of which component reads
 * which key of the Secret `<project>-jwt`. deploy-components builds its `secretKeyRef`s from
 * these tables, and the tests verify the generated keys through them, so the code that signs
 * and the configuration that verifies cannot drift apart.
 *
 * Convention (upstream Supabase's): `jwt-secret` is a plain string and every service uses
 * its UTF-8 bytes as the HS256 key. The reference operator signed with the base64-decoded
 * bytes while handing services the text and telling only PostgREST to decode it (facts
 * §4.4, gap 19), so tokens minted by one service failed in another. Here PostgREST is told
 * explicitly that the secret is not base64.
 */
import type { ComponentName } from '../api/components.ts';
import { JWT_SECRET_KEYS, type JwtSecretKey } from './names.ts';
import type { Sensitive } from './sensitive.ts';

/** How a service turns the text of its JWT-secret variable into HMAC key bytes. */
export type SecretDecoding = 'utf8' | 'base64';

/** The convention of this reconciler: every service uses the text's UTF-8 bytes. */
export const JWT_SECRET_DECODING: SecretDecoding = 'utf8';

/** One environment variable filled from a key of the Secret `<project>-jwt`. */
export interface SecretEnvBinding {
  readonly env: string;
  readonly key: JwtSecretKey;
}

const K = JWT_SECRET_KEYS;

/**
 * Every variable each component reads from the Secret `<project>-jwt`. Kong compares the API
 * keys as opaque strings (key-auth); the others verify JWTs with `jwt-secret`.
 */
export const JWT_SECRET_ENV = {
  kong: [
    { env: 'SUPABASE_ANON_KEY', key: K.anonKey },
    { env: 'SUPABASE_SERVICE_KEY', key: K.serviceRoleKey },
  ],
  auth: [{ env: 'GOTRUE_JWT_SECRET', key: K.jwtSecret }],
  postgrest: [{ env: 'PGRST_JWT_SECRET', key: K.jwtSecret }],
  realtime: [
    { env: 'API_JWT_SECRET', key: K.jwtSecret },
    { env: 'METRICS_JWT_SECRET', key: K.jwtSecret },
    // Its own values, no longer the JWT secret and a public constant (gap 23).
    { env: 'SECRET_KEY_BASE', key: K.realtimeSecretKeyBase },
    { env: 'DB_ENC_KEY', key: K.realtimeDbEncKey },
  ],
  storageApi: [
    { env: 'ANON_KEY', key: K.anonKey },
    { env: 'SERVICE_KEY', key: K.serviceRoleKey },
    { env: 'AUTH_JWT_SECRET', key: K.jwtSecret },
  ],
  meta: [{ env: 'CRYPTO_KEY', key: K.pgMetaCryptoKey }],
  studio: [
    { env: 'SUPABASE_ANON_KEY', key: K.anonKey },
    { env: 'NEXT_PUBLIC_SUPABASE_ANON_KEY', key: K.anonKey },
    { env: 'SUPABASE_SERVICE_KEY', key: K.serviceRoleKey },
    { env: 'AUTH_JWT_SECRET', key: K.jwtSecret },
    { env: 'PG_META_CRYPTO_KEY', key: K.pgMetaCryptoKey },
  ],
} as const satisfies Record<ComponentName, readonly SecretEnvBinding[]>;

/**
 * Literal variables that fix how a component decodes the secret; deploy-components sets
 * them beside the bindings. PostgREST would otherwise follow whatever a user's extraEnv or
 * an image default says (the reference operator set `true`).
 */
export const JWT_SECRET_SETTINGS = {
  postgrest: { PGRST_JWT_SECRET_IS_BASE64: 'false' },
} as const satisfies Partial<Record<ComponentName, Readonly<Record<string, string>>>>;

/** A component's environment, as far as the verification model reads it. */
export type ComponentEnv = Readonly<Record<string, string | undefined>>;

/** A component that verifies JWTs, and how it derives the key from its environment. */
export interface JwtVerifier {
  readonly component: ComponentName;
  /** The variable carrying `jwt-secret`. */
  readonly env: string;
  /**
   * How the service decodes that variable, given its whole environment: a model of the
   * service's own code, so that a wrong companion setting shows up as a failed verification.
   */
  readonly decoding: (env: ComponentEnv) => SecretDecoding;
  /** Where the service does it, for the reader who wants to check the model. */
  readonly source: string;
}

const utf8 = (): SecretDecoding => 'utf8';

/** Every component that verifies JWTs signed with `jwt-secret`. */
export const JWT_VERIFIERS: readonly JwtVerifier[] = [
  {
    component: 'auth',
    env: 'GOTRUE_JWT_SECRET',
    decoding: utf8,
    source: 'supabase/auth: []byte(config.JWT.Secret) as the HS256 key',
  },
  {
    component: 'postgrest',
    env: 'PGRST_JWT_SECRET',
    decoding: (env) =>
      env.PGRST_JWT_SECRET_IS_BASE64?.toLowerCase() === 'true' ? 'base64' : 'utf8',
    source: 'PostgREST: jwt-secret-is-base64 (default false) decides whether the text is decoded',
  },
  {
    component: 'realtime',
    env: 'API_JWT_SECRET',
    decoding: utf8,
    source: 'supabase/realtime: Joken HS256 signer over the string',
  },
  {
    component: 'realtime',
    env: 'METRICS_JWT_SECRET',
    decoding: utf8,
    source: 'supabase/realtime: Joken HS256 signer over the string',
  },
  {
    component: 'storageApi',
    env: 'AUTH_JWT_SECRET',
    decoding: utf8,
    source: 'supabase/storage: jsonwebtoken/jose over the string',
  },
  {
    component: 'studio',
    env: 'AUTH_JWT_SECRET',
    decoding: utf8,
    source: 'supabase/studio: jose over new TextEncoder().encode(secret)',
  },
];

/**
 * The variables a component gets from the Secret `<project>-jwt` and the settings beside
 * them, as its container would see them. For tests and for checks of a live Secret.
 * @param component - the component
 * @param data - the Secret's keys
 * @returns variable name to text (a key absent from the Secret gives no variable)
 */
export function componentSecretEnv(
  component: ComponentName,
  data: ReadonlyMap<string, Sensitive>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { env: name, key } of JWT_SECRET_ENV[component] as readonly SecretEnvBinding[]) {
    const value = data.get(key);
    if (value !== undefined) env[name] = value.reveal();
  }
  const settings: Readonly<Record<string, string>> =
    (JWT_SECRET_SETTINGS as Partial<Record<ComponentName, Readonly<Record<string, string>>>>)[
      component
    ] ?? {};
  return { ...env, ...settings };
}

/**
 * The HMAC key bytes a text gives under a decoding.
 * @param text - the secret as text
 * @param decoding - how to read it
 */
export function decodeSecret(text: string, decoding: SecretDecoding): Uint8Array {
  return decoding === 'utf8' ? new TextEncoder().encode(text) : Buffer.from(text, 'base64');
}

/**
 * The key bytes a verifier derives from its environment, as the service would.
 * @param verifier - the component and variable
 * @param env - the component's environment (see componentSecretEnv)
 * @throws Error when the variable is absent
 */
export function verificationKey(verifier: JwtVerifier, env: ComponentEnv): Uint8Array {
  const text = env[verifier.env];
  if (text === undefined) throw new Error(`${verifier.component} has no ${verifier.env}`);
  return decodeSecret(text, verifier.decoding(env));
}

/**
 * The HMAC key this reconciler signs API keys with: the secret's bytes under the convention.
 * @param secret - the value of `jwt-secret`
 */
export function signingKey(secret: Sensitive): Uint8Array {
  return decodeSecret(secret.reveal(), JWT_SECRET_DECODING);
}
