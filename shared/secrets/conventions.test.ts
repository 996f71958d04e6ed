/**
 * The key-encoding convention, proven the way the services will apply it: for each
 * component that verifies JWTs, build its environment from a generated Secret exactly as
 * deploy-components will (bindings + settings), derive the key as that service does, and
 * verify both API keys with it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { jwtVerify } from 'jose';
import { COMPONENTS } from '../api/components.ts';
import { OWNED_ENV } from '../api/owned-env.ts';
import { signApiKey } from './api-keys.ts';
import {
  componentSecretEnv,
  JWT_SECRET_ENV,
  JWT_SECRET_SETTINGS,
  JWT_VERIFIERS,
  verificationKey,
  type SecretEnvBinding,
} from './conventions.ts';
import { cryptoKeyGenerator } from './generate.ts';
import { JWT_SECRET_KEYS, REQUIRED_JWT_SECRET_KEYS } from './names.ts';
import type { Sensitive } from './sensitive.ts';

async function generatedSecret(): Promise<Map<string, Sensitive>> {
  const now = new Date();
  const secret = cryptoKeyGenerator.generate('jwtSecret');
  return new Map([
    [JWT_SECRET_KEYS.jwtSecret, secret],
    [JWT_SECRET_KEYS.anonKey, await signApiKey(secret, 'anon', now)],
    [JWT_SECRET_KEYS.serviceRoleKey, await signApiKey(secret, 'service_role', now)],
  ]);
}

describe('every JWT verifier accepts both generated keys with the bytes it will use', () => {
  for (const verifier of JWT_VERIFIERS) {
    test(`${verifier.component} ${verifier.env}`, async () => {
      const data = await generatedSecret();
      const env = componentSecretEnv(verifier.component, data);
      const key = verificationKey(verifier, env);
      for (const [name, role] of [
        [JWT_SECRET_KEYS.anonKey, 'anon'],
        [JWT_SECRET_KEYS.serviceRoleKey, 'service_role'],
      ] as const) {
        const token = data.get(name);
        assert.ok(token);
        const { payload } = await jwtVerify(token.reveal(), key, { algorithms: ['HS256'] });
        assert.equal(payload.role, role);
      }
    });
  }

  test('the model would catch a mismatch: PostgREST told the secret is base64 refuses the keys', async () => {
    const data = await generatedSecret();
    const postgrest = JWT_VERIFIERS.find((v) => v.component === 'postgrest');
    assert.ok(postgrest);
    const env = { ...componentSecretEnv('postgrest', data), PGRST_JWT_SECRET_IS_BASE64: 'true' };
    const anon = data.get(JWT_SECRET_KEYS.anonKey)?.reveal() ?? '';
    await assert.rejects(jwtVerify(anon, verificationKey(postgrest, env)), /signature/);
  });
});

describe('the env tables agree with the API', () => {
  test('every bound variable and setting is one the CRD reserves (extraEnv cannot override it)', () => {
    for (const component of COMPONENTS) {
      const owned: readonly string[] = OWNED_ENV[component];
      const bound = (JWT_SECRET_ENV[component] as readonly SecretEnvBinding[]).map((b) => b.env);
      const settings = Object.keys(
        (JWT_SECRET_SETTINGS as Partial<Record<string, object>>)[component] ?? {},
      );
      for (const env of [...bound, ...settings])
        assert.ok(owned.includes(env), `${component}.${env} is in OWNED_ENV`);
    }
  });

  test('every verifier reads a variable bound to jwt-secret, and every key is used', () => {
    for (const verifier of JWT_VERIFIERS) {
      const binding = (JWT_SECRET_ENV[verifier.component] as readonly SecretEnvBinding[]).find(
        (b) => b.env === verifier.env,
      );
      assert.equal(
        binding?.key,
        JWT_SECRET_KEYS.jwtSecret,
        `${verifier.component}.${verifier.env}`,
      );
    }
    const used = new Set(
      Object.values(JWT_SECRET_ENV).flatMap((list: readonly SecretEnvBinding[]) =>
        list.map((b) => b.key),
      ),
    );
    assert.deepEqual(
      REQUIRED_JWT_SECRET_KEYS.filter((k) => !used.has(k)),
      [],
    );
  });
});
