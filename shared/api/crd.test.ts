import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { supabaseProjectCrd, supabaseProjectOpenApiSchema } from './crd.ts';
import { CRD_YAML_PATH, renderCrdYaml } from './crd-yaml.ts';
import type { JsonSchema } from './structural-schema.ts';

test('the checked-in CRD is what the generator produces now', async () => {
  const checkedIn = await readFile(new URL(`../../${CRD_YAML_PATH}`, import.meta.url), 'utf8');
  assert.ok(
    checkedIn === renderCrdYaml(),
    `${CRD_YAML_PATH} is out of date with shared/api/: run npm run generate:crd`,
  );
});

/** Every schema node with its path. */
function* nodes(schema: JsonSchema, path = ''): Generator<[string, JsonSchema]> {
  yield [path, schema];
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  for (const [name, child] of Object.entries(properties)) yield* nodes(child, `${path}.${name}`);
  if (typeof schema.items === 'object') yield* nodes(schema.items as JsonSchema, `${path}[]`);
  if (typeof schema.additionalProperties === 'object') {
    yield* nodes(schema.additionalProperties as JsonSchema, `${path}[*]`);
  }
}

test('the schema is structural: a type on every node, nothing Kubernetes refuses', () => {
  for (const [path, node] of nodes(supabaseProjectOpenApiSchema())) {
    const typed = typeof node.type === 'string' || node['x-kubernetes-int-or-string'] === true;
    assert.ok(typed, `${path} has no type`);
    for (const key of ['$id', '$schema', 'patternProperties', 'const']) {
      assert.ok(!(key in node), `${path} has ${key}`);
    }
    assert.notEqual(node.additionalProperties, false, `${path} has additionalProperties: false`);
    assert.ok(!('x-kubernetes-preserve-unknown-fields' in node), `${path} keeps unknown fields`);
  }
});

test('every CEL rule has a message', () => {
  let rules = 0;
  for (const [path, node] of nodes(supabaseProjectOpenApiSchema())) {
    const validations = (node['x-kubernetes-validations'] ?? []) as { message?: string }[];
    for (const rule of validations) {
      rules += 1;
      assert.ok(
        rule.message && rule.message.length > 20,
        `a rule at ${path || '.'} lacks a message`,
      );
    }
  }
  assert.ok(rules > 10);
});

test('component images are not schema defaults (they are resolved at build time)', () => {
  for (const [path, node] of nodes(supabaseProjectOpenApiSchema())) {
    if (path.endsWith('.image')) assert.equal(node.default, undefined, path);
  }
});

test('the CRD has its identity and the printer columns', () => {
  const crd = supabaseProjectCrd();
  assert.equal(crd.metadata.name, 'supabaseprojects.supabase.reconciler.dev');
  const spec = crd.spec as { versions: { additionalPrinterColumns: { name: string }[] }[] };
  const columns = spec.versions[0]?.additionalPrinterColumns.map((c) => c.name);
  assert.deepEqual(columns, ['Phase', 'Ready', 'Components', 'Age', 'Message']);
});
