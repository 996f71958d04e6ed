import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isConcurrentCatalogWrite } from './errors.ts';

test('a collision on a shared catalog row is recognised, a real conflict is not', () => {
  const cases: [unknown, boolean][] = [
    [{ code: '23505', constraint: 'pg_db_role_setting_databaseid_rol_index' }, true],
    [{ code: '23505', constraint: 'pg_authid_rolname_index' }, true],
    [{ code: 'XX000', message: 'tuple concurrently updated' }, true],
    [{ code: '40001' }, true],
    [{ code: '40P01' }, true],
    // A unique violation on a user's (or our ledger's) own index is a real problem.
    [{ code: '23505', constraint: 'users_email_key' }, false],
    [{ code: '23505' }, false],
    [{ code: 'XX000', message: 'could not open file' }, false],
    [{ code: '42501' }, false],
    [new Error('ECONNRESET'), false],
    [null, false],
  ];
  for (const [error, expected] of cases) {
    assert.equal(isConcurrentCatalogWrite(error), expected, JSON.stringify(error));
  }
});
