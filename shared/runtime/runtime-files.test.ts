import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { runtimeFile, runtimeRoot } from './runtime-files.ts';

test('from the sources the root is the repository; from a bundle, the bundle’s folder', () => {
  assert.equal(runtimeRoot('file:///repo/shared/runtime/runtime-files.ts').href, 'file:///repo/');
  assert.equal(runtimeRoot('file:///app/chunk-ABC123.mjs').href, 'file:///app/');
  assert.equal(runtimeRoot('file:///app/cli.mjs').href, 'file:///app/');
});

test('the migrations and the Trigger manifests are found from the sources', () => {
  assert.ok(existsSync(fileURLToPath(runtimeFile('shared/db/migrations/0001_extensions.sql'))));
  assert.ok(existsSync(fileURLToPath(runtimeFile('deploy/overlays/knative/triggers.yaml'))));
});
