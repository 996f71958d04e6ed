import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forcedEvent, leftBehind, reportEvent, skippedEvent, workMessage } from './messages.ts';

const report = { claimReleased: false, dropped: [], kept: [] };

test('Retain: a Normal DatabaseRetained, Warning when something was kept', () => {
  const plain = reportEvent('Retain', { ...report, claimReleased: true }, 'app');
  assert.deepEqual([plain.type, plain.reason], ['Normal', 'DatabaseRetained']);
  assert.match(plain.message, /database "app" kept as it is; this project's claim .* released$/);
  const kept = reportEvent(
    'Retain',
    { ...report, kept: ["the login roles' claim: refused"] },
    'app',
  );
  assert.equal(kept.type, 'Warning');
});

test('Delete: what was dropped and kept; no ledger is nothing to drop; no inventory is a Warning', () => {
  const done = reportEvent(
    'Delete',
    { ...report, inventory: 'recorded', dropped: ['schema auth', 'role anon'] },
    'app',
  );
  assert.deepEqual([done.type, done.reason], ['Normal', 'DatabaseDeleted']);
  assert.match(done.message, /dropped schema auth, role anon$/);
  const partly = reportEvent(
    'Delete',
    { ...report, inventory: 'recorded', kept: ['roles anon: other databases'] },
    'app',
  );
  assert.equal(partly.type, 'Warning');
  assert.match(partly.message, /dropped nothing; kept: roles anon: other databases$/);
  const twoKept = reportEvent(
    'Delete',
    {
      ...report,
      inventory: 'recorded',
      kept: ['schema auth: your table', 'role anon: other databases'],
    },
    'app',
  );
  assert.match(twoKept.message, /; kept: schema auth: your table; role anon: other databases$/);
  const none = reportEvent('Delete', { ...report, inventory: 'no-ledger' }, 'app');
  assert.match(none.message, /holds no ledger .*nothing to drop/);
  const unknown = reportEvent('Delete', { ...report, inventory: 'missing' }, 'app');
  assert.deepEqual([unknown.type, unknown.reason], ['Warning', 'DatabaseCleanupSkipped']);
  assert.match(unknown.message, /nothing was dropped \(as Retain\)/);
});

test('what a skipped or forced deletion leaves behind names the objects and how to release the claim', () => {
  assert.match(leftBehind('Retain', 'app'), /database "app" is kept/);
  assert.match(leftBehind('Delete'), /schemas extensions, auth, storage, realtime/);
  assert.match(leftBehind('Delete'), /roles anon, authenticated/);
  for (const event of [
    forcedEvent('Delete'),
    skippedEvent('Retain', 'the Secret is gone', 'app'),
  ]) {
    assert.deepEqual([event.type, event.reason], ['Warning', 'DatabaseCleanupSkipped']);
    assert.match(event.message, /COMMENT ON ROLE authenticator IS NULL/);
  }
  assert.match(forcedEvent('Retain').message, /supabase\.reconciler\.dev\/force-delete/);
});

test("Progressing's message while finalize works says what the policy does to the database", () => {
  assert.match(workMessage('Retain'), /^deleting: deletionPolicy Retain keeps the database;/);
  assert.match(
    workMessage('Delete'),
    /^deleting: deletionPolicy Delete drops what init-db created/,
  );
});

test('a forced deletion, with no database name at hand, speaks of "the database"', () => {
  assert.match(forcedEvent('Retain').message, /: the database is kept \(deletionPolicy Retain\);/);
  assert.match(
    forcedEvent('Delete').message,
    /nothing was dropped: the database keeps what init-db created/,
  );
});
