/**
 * Random key material from the operating system's CSPRNG, as text of URL-safe characters
 * (base64url without padding: `A-Z a-z 0-9 - _`). Text, because every service reads these
 * values from environment variables as strings; URL-safe, because some end up in URLs,
 * YAML (Kong's declarative config quotes them) and shell-expanded env.
 */
import { randomBytes } from 'node:crypto';
import { Sensitive } from './sensitive.ts';

/** Each base64url character carries 6 bits. */
const BITS_PER_CHARACTER = 6;

/**
 * Lengths of generated values, in characters, and why.
 *
 * - `jwtSecret`: 64 characters = 384 bits. HS256 wants at least 256 bits of key; PostgREST
 *   refuses secrets shorter than 32 characters.
 * - `pgMetaCryptoKey`: 43 characters = 258 bits (the reference operator uses 32 bytes).
 * - `realtimeSecretKeyBase`: 86 characters. Phoenix requires at least 64 bytes.
 * - `realtimeDbEncKey`: exactly 16 characters: Realtime uses the bytes as an AES-128 key,
 *   which must be 16 bytes (96 bits of randomness in 16 URL-safe characters).
 * - `dashboardPassword`: 32 characters = 192 bits.
 */
export const GENERATED_LENGTHS = {
  jwtSecret: 64,
  pgMetaCryptoKey: 43,
  realtimeSecretKeyBase: 86,
  realtimeDbEncKey: 16,
  dashboardPassword: 32,
} as const;

/** What kind of value a generator makes (one per entry of GENERATED_LENGTHS). */
export type GeneratedKind = keyof typeof GENERATED_LENGTHS;

/** Makes new random values. Injectable so tests can observe or pin what was generated. */
export interface KeyGenerator {
  /**
   * A new random value of the given kind.
   * @param kind - which value (decides the length)
   */
  generate(kind: GeneratedKind): Sensitive;
}

/**
 * A random string of URL-safe characters from the CSPRNG.
 * @param length - number of characters (each carries 6 bits)
 * @returns the string, wrapped so it never prints
 */
export function randomUrlSafeString(length: number): Sensitive {
  if (!Number.isSafeInteger(length) || length <= 0)
    throw new RangeError(`length must be a positive integer, got ${length}`);
  const bytes = randomBytes(Math.ceil((length * BITS_PER_CHARACTER) / 8));
  return new Sensitive(bytes.toString('base64url').slice(0, length));
}

/**
 * Bits of randomness in a generated value of the given length.
 * @param length - characters of a string made by randomUrlSafeString
 */
export function entropyBits(length: number): number {
  return length * BITS_PER_CHARACTER;
}

/** The generator every function uses: CSPRNG strings of the lengths in GENERATED_LENGTHS. */
export const cryptoKeyGenerator: KeyGenerator = Object.freeze({
  generate: (kind: GeneratedKind) => randomUrlSafeString(GENERATED_LENGTHS[kind]),
});
