import assert from 'node:assert/strict';
import { test } from 'node:test';
import Type from 'typebox';
import { toStructuralSchema, type JsonSchema } from './structural-schema.ts';

test('a union of literals becomes a typed enum', () => {
  const schema = Type.Union([Type.Literal('a'), Type.Literal('b')]);
  assert.deepEqual(toStructuralSchema(schema), { type: 'string', enum: ['a', 'b'] });
});

test('Type.Enum gets the type of its values', () => {
  assert.deepEqual(toStructuralSchema(Type.Enum(['x', 'y'], { default: 'x' })), {
    type: 'string',
    enum: ['x', 'y'],
    default: 'x',
  });
});

test('a record becomes additionalProperties; optional fields leave required', () => {
  const schema = Type.Object(
    { labels: Type.Optional(Type.Record(Type.String(), Type.String())), n: Type.Integer() },
    { $id: 'X', additionalProperties: false },
  );
  assert.deepEqual(toStructuralSchema(schema), {
    type: 'object',
    required: ['n'],
    properties: {
      labels: { type: 'object', additionalProperties: { type: 'string' } },
      n: { type: 'integer' },
    },
  });
});

test('int-or-string keeps its anyOf', () => {
  const schema = Type.Unsafe<number | string>({
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    'x-kubernetes-int-or-string': true,
  });
  assert.deepEqual(toStructuralSchema(schema), {
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    'x-kubernetes-int-or-string': true,
  });
});

test('constructs a structural schema cannot express are refused with their path', () => {
  const union = Type.Object({ v: Type.Union([Type.String(), Type.Integer()]) });
  assert.throws(() => toStructuralSchema(union, 'spec'), /spec\.v: anyOf is only allowed/);
  const untyped = Type.Object({ any: Type.Unknown() });
  assert.throws(() => toStructuralSchema(untyped, 'spec'), /spec\.any: .* needs a type/);
});

test('the input is not modified', () => {
  const schema = Type.Object({ a: Type.String() }, { $id: 'keep' }) as unknown as JsonSchema;
  toStructuralSchema(schema);
  assert.equal(schema.$id, 'keep');
});
