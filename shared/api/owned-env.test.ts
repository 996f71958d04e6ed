import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMPONENTS } from './components.ts';
import { DEFAULTED_ENV, OWNED_ENV, ownedEnvConflicts } from './owned-env.ts';
import { ENV_VAR_NAME_PATTERN } from './schema/cel.ts';

test('a variable is either owned or defaulted, never both, and never listed twice', () => {
  for (const component of COMPONENTS) {
    const owned: readonly string[] = OWNED_ENV[component];
    const defaulted: readonly string[] = DEFAULTED_ENV[component];
    assert.equal(new Set(owned).size, owned.length, `${component} owned has duplicates`);
    assert.equal(new Set(defaulted).size, defaulted.length, `${component} defaulted duplicates`);
    for (const name of defaulted) assert.ok(!owned.includes(name), `${component} ${name}`);
  }
});

test('every listed name is a valid variable name', () => {
  const pattern = new RegExp(ENV_VAR_NAME_PATTERN);
  for (const component of COMPONENTS) {
    for (const name of [...OWNED_ENV[component], ...DEFAULTED_ENV[component]]) {
      assert.match(name, pattern);
    }
  }
});

test('connection secrets are owned wherever the component connects to PostgreSQL', () => {
  assert.ok(OWNED_ENV.auth.includes('DB_PASSWORD'));
  assert.ok(OWNED_ENV.realtime.includes('DATABASE_URL'));
  assert.ok(OWNED_ENV.storageApi.includes('AWS_SECRET_ACCESS_KEY'));
  assert.ok(OWNED_ENV.meta.includes('PG_META_DB_PASSWORD'));
  assert.ok(OWNED_ENV.studio.includes('POSTGRES_PASSWORD'));
});

test('ownedEnvConflicts names the owned variables in the order given', () => {
  assert.deepEqual(
    ownedEnvConflicts('auth', ['GOTRUE_SITE_URL', 'GOTRUE_JWT_SECRET', 'FOO', 'DB_HOST']),
    ['GOTRUE_JWT_SECRET', 'DB_HOST'],
  );
  assert.deepEqual(ownedEnvConflicts('kong', ['KONG_NGINX_PROXY_PROXY_BUFFERS']), []);
});
