import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_API_KEY_POLICY } from '../secrets/api-keys.ts';
import { parseConfig } from './runtime-config.ts';
import { apiKeyPolicyOf, secretsSchema } from './secrets.ts';

const env = { FUNCTION_NAME: 'secrets' };

test('the defaults are the default API key policy: ten years, 30 days of margin', () => {
  const config = parseConfig(env, secretsSchema);
  assert.deepEqual(apiKeyPolicyOf(config.secrets), DEFAULT_API_KEY_POLICY);
});

test('a margin longer than the shortest lifetime is refused (keys would be re-signed forever)', () => {
  assert.throws(
    () => parseConfig({ ...env, SECRETS_API_KEY_MIN_VALIDITY_DAYS: '400' }, secretsSchema),
    /SECRETS_API_KEY_MIN_VALIDITY_DAYS must be an integer from 1 to 180/,
  );
  assert.throws(
    () => parseConfig({ ...env, SECRETS_API_KEY_LIFETIME_DAYS: '1' }, secretsSchema),
    /SECRETS_API_KEY_LIFETIME_DAYS must be an integer from 365/,
  );
});
