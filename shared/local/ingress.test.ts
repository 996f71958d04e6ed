import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CloudEvent } from 'cloudevents';
import {
  ARRIVAL_TIME_EXTENSION,
  DEFAULT_MAX_TTL,
  nextTtl,
  stampArrival,
  TTL_EXTENSION,
  withTtl,
} from './ingress.ts';

const event = (extensions: Record<string, unknown> = {}): CloudEvent<unknown> =>
  new CloudEvent<unknown>({ type: 't', source: '/s', data: { a: 1 }, ...extensions });

describe('broker ingress: TTL and arrival time', () => {
  test('an event without a TTL starts at MAX_TTL (255)', () => {
    assert.equal(DEFAULT_MAX_TTL, 255);
    assert.equal(nextTtl(event(), 255), 255);
    assert.equal(nextTtl(event(), 7), 7);
  });

  test('a carried TTL is decremented, as text (binary mode) or number (structured)', () => {
    assert.equal(nextTtl(event({ [TTL_EXTENSION]: '255' }), 255), 254);
    assert.equal(nextTtl(event({ [TTL_EXTENSION]: 10 }), 255), 9);
    assert.equal(nextTtl(event({ [TTL_EXTENSION]: '2' }), 255), 1);
  });

  test('a TTL that reaches 0 is refused as exhausted', () => {
    for (const ttl of ['1', '0', '-3', 1]) {
      const result = nextTtl(event({ [TTL_EXTENSION]: ttl }), 255);
      assert.ok(typeof result === 'object', String(ttl));
      assert.equal(result.problem, 'exhausted');
      assert.match(result.message, /knativebrokerttl is exhausted/);
    }
  });

  test('a TTL that is no integer is refused, naming the extension', () => {
    for (const ttl of ['abc', '1.5', '', 'ten']) {
      const result = nextTtl(event({ [TTL_EXTENSION]: ttl }), 255);
      assert.ok(typeof result === 'object', ttl);
      assert.equal(result.problem, 'invalid');
      assert.match(result.message, /knativebrokerttl must be an integer/);
    }
  });

  test('the held event has no TTL and this pass arrival time; the rest is kept', () => {
    const original = event({ [TTL_EXTENSION]: '9', [ARRIVAL_TIME_EXTENSION]: 'old', kind: 'X' });
    const now = new Date('2026-06-20T09:41:09.200Z');
    const held = stampArrival(original, now);
    assert.equal(held[TTL_EXTENSION], undefined);
    assert.equal(held[ARRIVAL_TIME_EXTENSION], '2026-06-20T09:41:09.200Z');
    assert.equal(held.kind, 'X');
    assert.equal(held.id, original.id);
    assert.deepEqual(held.data, { a: 1 });
    assert.equal(withTtl(held, 42)[TTL_EXTENSION], '42');
  });
});
