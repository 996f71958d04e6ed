import assert from 'node:assert/strict';
import { test } from 'node:test';
import { celString, celStringList, IMAGE_REFERENCE_PATTERN } from './cel.ts';

const image = new RegExp(IMAGE_REFERENCE_PATTERN);
const digest = `sha256:${'a'.repeat(64)}`;

const images: readonly [string, boolean][] = [
  ['kong/kong:3.9.1', true],
  ['supabase/studio:2026.07.07-sha-a6a04f2', true],
  ['nginx:latest', true],
  [`supabase/gotrue@${digest}`, true],
  [`supabase/gotrue:v2.189.0@${digest}`, true],
  ['registry.example.com:5000/team/kong:3.9.1', true],
  ['localhost:5000/kong:1', true],
  ['localhost/kong:1', true],
  ['myregistry:5000/kong:1', true],
  ['Registry.Example.com/kong:1', true],
  ['kong/kong', false],
  ['registry.example.com:5000/team/kong', false],
  ['kong/kong:', false],
  ['Kong/kong:3.9.1', false],
  ['kong/kong:3.9.1 ', false],
  ['kong/kong@sha256:abc', false],
  ['', false],
];
for (const [reference, valid] of images) {
  test(`image ${JSON.stringify(reference)} is ${valid ? 'accepted' : 'refused'}`, () => {
    assert.equal(image.test(reference), valid);
  });
}

test('CEL string literals escape quotes and backslashes', () => {
  assert.equal(celString("it's"), "'it\\'s'");
  assert.equal(celString('a\\b'), "'a\\\\b'");
  assert.equal(celStringList(['A', 'B']), "['A', 'B']");
});
