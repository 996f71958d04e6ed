/**
 * Recognising the Secret `<project>-jwt` that the reference operator (STRRL/supabase-operator)
 * made, so that it is adopted only when it is unmistakably that Secret (facts §4.1): a
 * controller owner reference to a `supabase.strrl.dev` SupabaseProject of the same name, and
 * exactly the four keys it writes, `jwt-secret` being 32 random bytes in standard base64
 * (44 characters) and both API keys HS256 JWTs signed with those decoded bytes. Anything else
 * is someone else's Secret and is checked as such.
 */
import { compactVerify } from 'jose';
import { REFERENCE_API_GROUP, REFERENCE_KIND } from '../api/reference-operator.ts';
import { JWT_SECRET_KEYS } from './names.ts';
import type { Sensitive } from './sensitive.ts';

/** An owner reference, as much of it as recognition reads. */
export interface OwnerReferenceView {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly controller?: boolean;
}

/** A Secret, as much of it as recognition reads (shared/k8s SecretObject fits). */
export interface SecretView {
  readonly ownerReferences: readonly OwnerReferenceView[];
  readonly data: ReadonlyMap<string, Sensitive>;
}

/** The keys the reference operator writes, and nothing else. */
export const REFERENCE_JWT_SECRET_KEYS: readonly string[] = [
  JWT_SECRET_KEYS.jwtSecret,
  JWT_SECRET_KEYS.anonKey,
  JWT_SECRET_KEYS.serviceRoleKey,
  JWT_SECRET_KEYS.pgMetaCryptoKey,
];

/** Random bytes behind the reference's `jwt-secret`. */
const REFERENCE_SECRET_BYTES = 32;

/** Standard base64 with padding, as Go's base64.StdEncoding writes it. */
const STANDARD_BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The reference operator's controller reference on a Secret, if it has one for this project.
 * @param secret - the Secret as read
 * @param projectName - our project's name (the reference names the Secret after its own)
 */
export function referenceOwnerOf(
  secret: Pick<SecretView, 'ownerReferences'>,
  projectName: string,
): OwnerReferenceView | undefined {
  return secret.ownerReferences.find(
    (o) =>
      o.controller === true &&
      o.kind === REFERENCE_KIND &&
      o.apiVersion.startsWith(`${REFERENCE_API_GROUP}/`) &&
      o.name === projectName,
  );
}

async function signedWith(token: string, key: Uint8Array): Promise<boolean> {
  try {
    await compactVerify(token, key, { algorithms: ['HS256'] });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a Secret is the reference operator's `<project>-jwt` for this project, exactly as it
 * makes it. Reads the values only to check their form and signatures; reports nothing of them.
 * @param secret - the Secret as read
 * @param projectName - our project's name
 */
export async function isReferenceJwtSecret(
  secret: SecretView,
  projectName: string,
): Promise<boolean> {
  if (!referenceOwnerOf(secret, projectName)) return false;
  const keys = [...secret.data.keys()].sort();
  if (keys.join('\n') !== [...REFERENCE_JWT_SECRET_KEYS].sort().join('\n')) return false;
  const text = secret.data.get(JWT_SECRET_KEYS.jwtSecret)?.reveal() ?? '';
  if (!STANDARD_BASE64.test(text)) return false;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== REFERENCE_SECRET_BYTES || bytes.toString('base64') !== text) return false;
  for (const key of [JWT_SECRET_KEYS.anonKey, JWT_SECRET_KEYS.serviceRoleKey]) {
    const token = secret.data.get(key)?.reveal().trim() ?? '';
    if (!(await signedWith(token, bytes))) return false;
  }
  return true;
}
