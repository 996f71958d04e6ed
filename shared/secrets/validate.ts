/**
 * Checks the content of a Secret `<project>-jwt` key by key: the same rules decide whether a
 * user's Secret is usable and which keys of our own Secret must be made again.
 */
import {
  API_KEY_ROLES,
  checkApiKey,
  jwtSecretProblem,
  type ApiKeyPolicy,
  type ApiKeyRole,
} from './api-keys.ts';
import { JWT_SECRET_KEYS, REQUIRED_JWT_SECRET_KEYS, type JwtSecretKey } from './names.ts';
import type { Sensitive } from './sensitive.ts';

/** Phoenix refuses a SECRET_KEY_BASE shorter than 64 bytes. */
export const MIN_REALTIME_SECRET_KEY_BASE_BYTES = 64;

/** Realtime encrypts with AES-128 in ECB mode and takes DB_ENC_KEY's bytes as the key. */
export const REALTIME_DB_ENC_KEY_BYTES = 16;

/** The API keys and the role each must carry. */
export const API_KEY_ROLE_OF = {
  [JWT_SECRET_KEYS.anonKey]: API_KEY_ROLES.anon,
  [JWT_SECRET_KEYS.serviceRoleKey]: API_KEY_ROLES.serviceRole,
} as const satisfies Partial<Record<JwtSecretKey, ApiKeyRole>>;

/** The keys signed with `jwt-secret`. */
export const SIGNED_KEYS = Object.keys(API_KEY_ROLE_OF) as (keyof typeof API_KEY_ROLE_OF)[];

/** Problems by key: a phrase that follows the key's name and names no value. */
export type KeyProblems = ReadonlyMap<JwtSecretKey, string>;

function lengthProblem(value: Sensitive, check: (bytes: number) => string | undefined) {
  return check(Buffer.byteLength(value.reveal(), 'utf8'));
}

/**
 * Finds what is wrong with each key of a Secret `<project>-jwt`.
 * When `jwt-secret` itself is unusable, the API keys are not checked against it (their
 * problem is the secret's).
 * @param data - the Secret's keys
 * @param now - the current time (for expiry)
 * @param policy - the validity an API key must have left
 * @returns the problems, in the order of REQUIRED_JWT_SECRET_KEYS (empty: the Secret is good)
 */
export async function inspectJwtSecretData(
  data: ReadonlyMap<string, Sensitive>,
  now: Date,
  policy: Pick<ApiKeyPolicy, 'minValiditySeconds'>,
): Promise<KeyProblems> {
  const problems = new Map<JwtSecretKey, string>();
  const present = (key: JwtSecretKey): Sensitive | undefined => {
    const value = data.get(key);
    if (value === undefined || value.isBlank()) {
      problems.set(key, value === undefined ? 'is missing' : 'is empty');
      return undefined;
    }
    return value;
  };
  for (const key of REQUIRED_JWT_SECRET_KEYS) present(key);

  const secret = data.get(JWT_SECRET_KEYS.jwtSecret);
  const secretProblem =
    secret && !problems.has(JWT_SECRET_KEYS.jwtSecret) ? jwtSecretProblem(secret) : undefined;
  if (secretProblem) problems.set(JWT_SECRET_KEYS.jwtSecret, secretProblem);
  if (secret && !problems.has(JWT_SECRET_KEYS.jwtSecret)) {
    for (const key of SIGNED_KEYS) {
      const token = data.get(key);
      if (!token || problems.has(key)) continue;
      const problem = await checkApiKey(token, secret, {
        role: API_KEY_ROLE_OF[key],
        now,
        minValiditySeconds: policy.minValiditySeconds,
      });
      if (problem) problems.set(key, problem.phrase);
    }
  }

  const base = data.get(JWT_SECRET_KEYS.realtimeSecretKeyBase);
  if (base && !problems.has(JWT_SECRET_KEYS.realtimeSecretKeyBase)) {
    const problem = lengthProblem(base, (n) =>
      n < MIN_REALTIME_SECRET_KEY_BASE_BYTES
        ? `is ${n} characters long; Realtime (Phoenix) needs at least ${MIN_REALTIME_SECRET_KEY_BASE_BYTES}`
        : undefined,
    );
    if (problem) problems.set(JWT_SECRET_KEYS.realtimeSecretKeyBase, problem);
  }
  const enc = data.get(JWT_SECRET_KEYS.realtimeDbEncKey);
  if (enc && !problems.has(JWT_SECRET_KEYS.realtimeDbEncKey)) {
    const problem = lengthProblem(enc, (n) =>
      n === REALTIME_DB_ENC_KEY_BYTES
        ? undefined
        : `is ${n} characters long; Realtime uses it as an AES-128 key and needs exactly ${REALTIME_DB_ENC_KEY_BYTES}`,
    );
    if (problem) problems.set(JWT_SECRET_KEYS.realtimeDbEncKey, problem);
  }
  // Report in the fixed key order, whatever order the checks ran in.
  return new Map(
    REQUIRED_JWT_SECRET_KEYS.flatMap((key) => {
      const phrase = problems.get(key);
      return phrase === undefined ? [] : [[key, phrase] as const];
    }),
  );
}

/**
 * One sentence listing the problems, each as `<key> <phrase>`.
 * @param problems - from inspectJwtSecretData (or any key → phrase map)
 */
export function describeKeyProblems(problems: ReadonlyMap<string, string>): string {
  return [...problems].map(([key, phrase]) => `${key} ${phrase}`).join('; ');
}
