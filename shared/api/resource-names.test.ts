import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMPONENTS } from './components.ts';
import {
  AUXILIARY_NAME_SUFFIXES,
  auxiliaryResourceName,
  componentResourceName,
  DERIVED_NAME_SUFFIXES,
  LONGEST_DERIVED_NAME_SUFFIX,
  MAX_PROJECT_NAME_LENGTH,
  projectNameProblem,
} from './resource-names.ts';

const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

test('the longest suffix sets the name limit: 63 - len("-storage-api") = 51', () => {
  assert.equal(LONGEST_DERIVED_NAME_SUFFIX.length, 12);
  assert.equal(MAX_PROJECT_NAME_LENGTH, 51);
});

test('every name derived from a name of the maximum length is a DNS-1035 label', () => {
  const name = `p${'x'.repeat(MAX_PROJECT_NAME_LENGTH - 1)}`;
  assert.equal(projectNameProblem(name), undefined);
  const derived = [
    ...COMPONENTS.map((c) => componentResourceName(name, c)),
    ...Object.keys(AUXILIARY_NAME_SUFFIXES).map((k) =>
      auxiliaryResourceName(name, k as keyof typeof AUXILIARY_NAME_SUFFIXES),
    ),
  ];
  assert.equal(derived.length, DERIVED_NAME_SUFFIXES.length);
  for (const resource of derived) {
    assert.ok(resource.length <= 63, `${resource} is ${resource.length} characters`);
    assert.match(resource, DNS_1035_LABEL);
  }
});

test('component names', () => {
  assert.equal(componentResourceName('demo', 'storageApi'), 'demo-storage-api');
  assert.equal(componentResourceName('demo', 'postgrest'), 'demo-postgrest');
  assert.equal(auxiliaryResourceName('demo', 'jwt'), 'demo-jwt');
});

test('suffixes are unique, so two objects never share a name', () => {
  assert.equal(new Set(DERIVED_NAME_SUFFIXES).size, DERIVED_NAME_SUFFIXES.length);
});

const problems: readonly [string, RegExp | undefined][] = [
  ['demo', undefined],
  ['a', undefined],
  ['my-project-2', undefined],
  [`a${'b'.repeat(MAX_PROJECT_NAME_LENGTH)}`, /is 52 characters long; at most 51/],
  ['2demo', /must start with a lower-case letter/],
  ['demo.v2', /must start with a lower-case letter/],
  ['Demo', /must start with a lower-case letter/],
  ['demo-', /ending with a letter or digit/],
  ['', /must start with a lower-case letter/],
];
for (const [name, problem] of problems) {
  test(`projectNameProblem(${JSON.stringify(name)})`, () => {
    const found = projectNameProblem(name);
    if (problem) assert.match(found ?? '', problem);
    else assert.equal(found, undefined);
  });
}
