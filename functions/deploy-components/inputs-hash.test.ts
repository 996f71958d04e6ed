/** The inputs hash: what a pod template references, and what changes the hash. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fieldConflictsOf } from '../../shared/k8s/apply.ts';
import {
  INPUTS_HASH_ANNOTATION,
  inputsHash,
  podReferences,
  withInputsHash,
} from './inputs-hash.ts';

const template = {
  metadata: { labels: { app: 'x' } },
  spec: {
    containers: [
      {
        name: 'c',
        env: [
          { name: 'A', valueFrom: { secretKeyRef: { name: 'demo-jwt', key: 'jwt-secret' } } },
          { name: 'B', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k' } } },
          { name: 'C', value: 'literal' },
        ],
        envFrom: [{ secretRef: { name: 'whole' } }],
      },
    ],
    volumes: [{ name: 'v', configMap: { name: 'kong-config' } }],
  },
};
const consumed = { secretKeys: { 'demo-jwt/jwt-secret': 'h1' }, secrets: {}, configMaps: {} };

test('podReferences finds secretKeyRefs, whole Secrets and ConfigMaps', () => {
  assert.deepEqual(podReferences(template), {
    secretKeys: [{ name: 'demo-jwt', key: 'jwt-secret' }],
    secrets: ['whole'],
    configMaps: ['cm', 'kong-config'],
  });
});

test('the hash ignores its own annotation and key order, and follows every consumed value', () => {
  const hash = inputsHash(template, consumed);
  const annotated = withInputsHash({ spec: { template } }, hash).spec.template as {
    metadata: { annotations?: Record<string, string> };
  };
  assert.equal(annotated.metadata.annotations?.[INPUTS_HASH_ANNOTATION], hash);
  assert.equal(inputsHash(annotated, consumed), hash);
  assert.equal(inputsHash(structuredClone(template), { ...consumed }), hash);
  assert.notEqual(
    inputsHash(template, { ...consumed, secretKeys: { 'demo-jwt/jwt-secret': 'h2' } }),
    hash,
  );
  assert.notEqual(inputsHash({ ...template, metadata: { labels: { app: 'y' } } }, consumed), hash);
});

test('field-manager conflicts are read from the API server answer', () => {
  const error = Object.assign(new Error('HTTP-Code: 409'), {
    code: 409,
    body: JSON.stringify({
      details: {
        causes: [
          {
            reason: 'FieldManagerConflict',
            message: 'conflict with "kubectl-edit" using apps/v1',
            field: '.spec.replicas',
          },
          {
            reason: 'FieldManagerConflict',
            message:
              'conflict with "kubectl" with subresource "scale" using autoscaling/v1 at 2026-01-01T00:00:00Z',
            field: '.spec.replicas',
          },
          {
            reason: 'FieldManagerConflict',
            message: 'conflict with "argocd"',
            field: '.spec.template.spec.containers[name="c"].image',
          },
        ],
      },
    }),
  });
  assert.deepEqual(fieldConflictsOf(error), [
    { manager: 'kubectl-edit', operation: 'Update', field: '.spec.replicas' },
    { manager: 'kubectl', operation: 'Update', field: '.spec.replicas', subresource: 'scale' },
    {
      manager: 'argocd',
      operation: 'Apply',
      field: '.spec.template.spec.containers[name="c"].image',
    },
  ]);
  assert.equal(
    fieldConflictsOf(Object.assign(new Error('x'), { code: 409, body: '{}' })),
    undefined,
  );
  assert.equal(fieldConflictsOf(new Error('network')), undefined);
});
