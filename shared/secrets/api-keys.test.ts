import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import {
  API_KEY_ISSUER,
  checkApiKey,
  DEFAULT_API_KEY_LIFETIME_SECONDS,
  jwtSecretProblem,
  signApiKey,
  type ApiKeyProblemKind,
} from './api-keys.ts';
import { randomUrlSafeString } from './generate.ts';
import { Sensitive } from './sensitive.ts';

const now = new Date('2026-06-01T12:00:00Z');
const nowSeconds = now.getTime() / 1000;
const secret = randomUrlSafeString(64);
const expectAnon = { role: 'anon', now, minValiditySeconds: 30 * 86_400 } as const;

/** A token signed with arbitrary claims, header and key bytes. */
async function token(
  claims: Record<string, unknown>,
  key: Uint8Array = new TextEncoder().encode(secret.reveal()),
  alg = 'HS256',
): Promise<Sensitive> {
  return new Sensitive(await new SignJWT(claims).setProtectedHeader({ alg }).sign(key));
}

const good = {
  role: 'anon',
  iss: 'supabase',
  iat: nowSeconds,
  exp: nowSeconds + 10 * 365 * 86_400,
};

describe('signApiKey', () => {
  test('signs {role, iss, iat, exp ten years out} with HS256 over the secret text', async () => {
    const key = await signApiKey(secret, 'service_role', now);
    assert.deepEqual(decodeProtectedHeader(key.reveal()), { alg: 'HS256', typ: 'JWT' });
    assert.deepEqual(decodeJwt(key.reveal()), {
      role: 'service_role',
      iss: API_KEY_ISSUER,
      iat: nowSeconds,
      exp: nowSeconds + DEFAULT_API_KEY_LIFETIME_SECONDS,
    });
    assert.equal(DEFAULT_API_KEY_LIFETIME_SECONDS, 3650 * 86_400);
    assert.equal(
      await checkApiKey(key, secret, { ...expectAnon, role: 'service_role' }),
      undefined,
    );
    assert.equal(String(key), '[redacted]');
  });
});

describe('checkApiKey', () => {
  const cases: [string, () => Promise<Sensitive>, ApiKeyProblemKind | undefined, RegExp?][] = [
    ['a good key', () => token(good), undefined],
    ['a key without exp (never expires)', () => token({ ...good, exp: undefined }), undefined],
    [
      'a key signed with another secret',
      () => token(good, new TextEncoder().encode(randomUrlSafeString(64).reveal())),
      'signature',
      /does not verify with jwt-secret \(wrong signature\)/,
    ],
    [
      'a key signed with the base64-decoded secret (reference operator)',
      () => token(good, Buffer.from(secret.reveal(), 'base64')),
      'decodedSecret',
      /base64-decoded jwt-secret/,
    ],
    [
      'a key with the service role where anon is expected',
      () => token({ ...good, role: 'service_role' }),
      'role',
      /carries role "service_role"; it must carry role "anon"/,
    ],
    [
      'a key with a made-up role (not repeated)',
      () => token({ ...good, role: 'x-secret-role' }),
      'role',
      /carries another role/,
    ],
    ['a key with another issuer', () => token({ ...good, iss: 'supabase-demo' }), 'issuer'],
    [
      'an expired key',
      () => token({ ...good, exp: nowSeconds - 1 }),
      'expired',
      /expired on 2026-06-01T11:59:59/,
    ],
    [
      'a key expiring within the minimum validity',
      () => token({ ...good, exp: nowSeconds + 3600 }),
      'expiresSoon',
      /in less than 30 days/,
    ],
    [
      'a key signed with HS512',
      () => token(good, new TextEncoder().encode(secret.reveal()), 'HS512'),
      'algorithm',
      /signed with HS512; the services expect HS256/,
    ],
    ['not a JWT', () => Promise.resolve(new Sensitive('not-a-jwt')), 'malformed'],
  ];
  for (const [name, make, kind, phrase] of cases) {
    test(`${name}: ${kind ?? 'accepted'}`, async () => {
      const problem = await checkApiKey(await make(), secret, expectAnon);
      assert.equal(problem?.kind, kind);
      if (phrase) assert.match(problem?.phrase ?? '', phrase);
      if (problem) assert.ok(!problem.phrase.includes(secret.reveal()));
    });
  }
});

describe('jwtSecretProblem', () => {
  test('refuses an empty or short secret, saying how long it is and what is needed', () => {
    assert.equal(jwtSecretProblem(new Sensitive('  ')), 'is empty');
    assert.match(
      jwtSecretProblem(new Sensitive('x'.repeat(31))) ?? '',
      /is 31 characters long; at least 32/,
    );
    assert.equal(jwtSecretProblem(new Sensitive('x'.repeat(32))), undefined);
  });
});
