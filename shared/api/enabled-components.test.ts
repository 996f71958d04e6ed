import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enabledComponents, isComponentEnabled } from './enabled-components.ts';
import type { SupabaseProjectSpec } from './types.ts';

const spec: SupabaseProjectSpec = {
  projectId: 'demo',
  database: { secretRef: { name: 'db' } },
  storage: { secretRef: { name: 's3' } },
};

test('every component runs by default, Studio included', () => {
  assert.equal(enabledComponents(spec).length, 7);
});

test('studio.enabled false switches Studio off and nothing else', () => {
  const withoutStudio = { ...spec, studio: { enabled: false } };
  assert.equal(isComponentEnabled(withoutStudio, 'studio'), false);
  assert.deepEqual(enabledComponents(withoutStudio), [
    'kong',
    'auth',
    'realtime',
    'postgrest',
    'storageApi',
    'meta',
  ]);
});

test('replicas 0 scales a component to zero but keeps it enabled', () => {
  assert.equal(isComponentEnabled({ ...spec, realtime: { replicas: 0 } }, 'realtime'), true);
});
