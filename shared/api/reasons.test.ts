import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { EVENT_REASON, REASON, SECRET_REASONS } from './reasons.ts';

const CAMEL_CASE = /^[A-Z][A-Za-z0-9]*$/;

test('every reason is CamelCase and named by its own value', () => {
  for (const [key, value] of [...Object.entries(REASON), ...Object.entries(EVENT_REASON)]) {
    assert.equal(value, key);
    assert.match(value, CAMEL_CASE);
  }
});

test('an Event reason is not also a condition reason (one meaning per word)', () => {
  const conditionReasons = new Set<string>(Object.values(REASON));
  for (const reason of Object.values(EVENT_REASON)) assert.ok(!conditionReasons.has(reason));
});

test('the Secret reasons are condition reasons', () => {
  for (const reason of SECRET_REASONS) assert.ok(Object.values<string>(REASON).includes(reason));
});

test('every reason is documented where it is listed', async () => {
  const source = await readFile(new URL('./reasons.ts', import.meta.url), 'utf8');
  for (const reason of [...Object.values(REASON), ...Object.values(EVENT_REASON)]) {
    // A doc comment (one line or several) right above the entry.
    assert.match(
      source,
      new RegExp(`/\\*\\*(?:(?!\\*/)[\\s\\S])*\\*/\\n  ${reason}: '${reason}'`),
      reason,
    );
  }
});
