import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMPONENTS } from './components.ts';
import { DEFAULT_IMAGES, resolveImage } from './default-images.ts';
import { IMAGE_REFERENCE_PATTERN } from './schema/cel.ts';
import type { SupabaseProjectSpec } from './types.ts';

const spec: SupabaseProjectSpec = {
  projectId: 'demo',
  database: { secretRef: { name: 'db' } },
  storage: { secretRef: { name: 's3' } },
};

test('an unpinned component runs the default image of this release', () => {
  for (const component of COMPONENTS) {
    assert.equal(resolveImage({ spec }, component), DEFAULT_IMAGES[component]);
  }
});

test('a component present in the spec without an image still gets the default', () => {
  const project = { spec: { ...spec, kong: { replicas: 2 } } };
  assert.equal(resolveImage(project, 'kong'), 'kong/kong:3.9.1');
});

test('a pinned image wins over the default', () => {
  const project = { spec: { ...spec, auth: { image: 'registry.example.com/gotrue:v9' } } };
  assert.equal(resolveImage(project, 'auth'), 'registry.example.com/gotrue:v9');
  assert.equal(resolveImage(project, 'kong'), DEFAULT_IMAGES.kong);
});

test('every default image passes the CRD image rule', () => {
  const pattern = new RegExp(IMAGE_REFERENCE_PATTERN);
  for (const image of Object.values(DEFAULT_IMAGES)) assert.match(image, pattern);
});
