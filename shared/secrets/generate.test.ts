import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cryptoKeyGenerator,
  entropyBits,
  GENERATED_LENGTHS,
  randomUrlSafeString,
  type GeneratedKind,
} from './generate.ts';

test('every kind has its length, URL-safe characters, and differs on every call', () => {
  for (const kind of Object.keys(GENERATED_LENGTHS) as GeneratedKind[]) {
    const values = Array.from({ length: 20 }, () => cryptoKeyGenerator.generate(kind).reveal());
    for (const value of values) {
      assert.equal(value.length, GENERATED_LENGTHS[kind], kind);
      assert.match(value, /^[A-Za-z0-9_-]+$/, kind);
    }
    assert.equal(new Set(values).size, values.length, `${kind}: no repeats`);
  }
});

test('the lengths meet what each consumer needs', () => {
  // Widened to number: the point is to state the requirement, not to let the compiler check it.
  const lengths: Readonly<Record<GeneratedKind, number>> = GENERATED_LENGTHS;
  assert.ok(entropyBits(GENERATED_LENGTHS.jwtSecret) >= 256, 'JWT secret: at least 256 bits');
  assert.ok(lengths.jwtSecret >= 32, 'PostgREST: at least 32 characters');
  assert.equal(GENERATED_LENGTHS.realtimeDbEncKey, 16, 'AES-128 key: exactly 16 bytes');
  assert.ok(lengths.realtimeSecretKeyBase >= 64, 'Phoenix: at least 64 bytes');
  assert.ok(entropyBits(GENERATED_LENGTHS.dashboardPassword) >= 128);
});

test('randomUrlSafeString refuses a useless length', () => {
  assert.throws(() => randomUrlSafeString(0), RangeError);
  assert.equal(randomUrlSafeString(1).reveal().length, 1);
});
