/** Connection URLs: every part encoded, the right user, sslmode only when declared. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Sensitive } from '../../shared/secrets/sensitive.ts';
import { collectConnectionUrls, renderConnectionUrl } from './connection-urls.ts';

const database = {
  host: 'db.example.com',
  port: 5432,
  database: 'my db',
  user: 'admin@corp',
  password: new Sensitive(`p'a"s@s:w/o%r d`),
  sslMode: 'verify-full' as const,
};

test('a hostile password, user and database name parse back exactly', () => {
  const url = new URL(
    renderConnectionUrl(
      { key: 'meta', scheme: 'postgresql', role: 'database-user', sslmode: true },
      database,
    ).reveal(),
  );
  assert.equal(url.protocol, 'postgresql:');
  assert.equal(decodeURIComponent(url.username), 'admin@corp');
  assert.equal(decodeURIComponent(url.password), `p'a"s@s:w/o%r d`);
  assert.equal(url.hostname, 'db.example.com');
  assert.equal(url.port, '5432');
  assert.equal(decodeURIComponent(url.pathname.slice(1)), 'my db');
  assert.equal(url.searchParams.get('sslmode'), 'verify-full');
});

test('a login role connects as itself; no sslmode unless declared; IPv6 in brackets', () => {
  const text = renderConnectionUrl(
    { key: 'auth', scheme: 'postgres', role: 'supabase_auth_admin', sslmode: false },
    { ...database, host: 'fd00::1' },
  ).reveal();
  const url = new URL(text);
  assert.equal(url.username, 'supabase_auth_admin');
  assert.equal(url.hostname, '[fd00::1]');
  assert.equal(url.search, '');
});

test('a key declared twice must be declared the same way', () => {
  const spec = { key: 'a', scheme: 'postgres', role: 'authenticator', sslmode: true } as const;
  assert.deepEqual(collectConnectionUrls([[spec], [spec]]), [spec]);
  assert.throws(() => collectConnectionUrls([[spec], [{ ...spec, sslmode: false }]]), /"a"/);
});
