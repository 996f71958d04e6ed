import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  backoffMs,
  backoffSchedule,
  effectiveDelivery,
  isRetriedFailure,
  NO_DELIVERY_SPEC,
  parseIsoDuration,
} from './delivery.ts';

describe('delivery spec', () => {
  test('ISO-8601 durations as Knative writes them, in milliseconds', () => {
    const cases: [string, number][] = [
      ['PT0.5S', 500],
      ['PT0.2S', 200],
      ['PT1S', 1000],
      ['PT0.005S', 5],
      ['PT1M30S', 90_000],
      ['PT2H', 7_200_000],
      ['P1D', 86_400_000],
      ['P1W', 604_800_000],
      ['P1DT1S', 86_401_000],
    ];
    for (const [text, ms] of cases) assert.equal(parseIsoDuration(text), ms, text);
  });

  test('what is no duration (or a calendar-dependent one) is refused', () => {
    for (const text of [
      '',
      'P',
      'PT',
      '1S',
      'PT1',
      'P1Y',
      'P1M',
      'PT-1S',
      'pt1s',
      'PT1S ',
      '500ms',
    ])
      assert.equal(parseIsoDuration(text), undefined, JSON.stringify(text));
  });

  test('exponential backoff waits delay·2ⁿ before retry n: Knative default ≈ 205 s in all', () => {
    const knativeDefault = {
      retry: 10,
      backoffPolicy: 'exponential',
      backoffDelayMs: 200,
    } as const;
    assert.deepEqual(
      backoffSchedule(knativeDefault),
      [200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 51_200, 102_400],
    );
    assert.equal(
      backoffSchedule(knativeDefault).reduce((a, b) => a + b, 0),
      204_600,
    );
  });

  test('the Broker of deploy/: 1, 2, 4, 8, 16 s', () => {
    assert.deepEqual(
      backoffSchedule({ retry: 5, backoffPolicy: 'exponential', backoffDelayMs: 1000 }),
      [1000, 2000, 4000, 8000, 16_000],
    );
  });

  test('linear backoff waits delay·n: the first retry is immediate', () => {
    assert.deepEqual(
      backoffSchedule({ retry: 4, backoffPolicy: 'linear', backoffDelayMs: 10 }),
      [0, 10, 20, 30],
    );
  });

  test('no policy or no delay: retries without waiting', () => {
    assert.deepEqual(backoffSchedule({ retry: 3, backoffDelayMs: 100 }), [0, 0, 0]);
    assert.deepEqual(backoffSchedule({ retry: 2, backoffPolicy: 'exponential' }), [0, 0]);
    assert.equal(backoffMs({ retry: 0 }, 5), 0);
  });

  test("a Trigger's delivery replaces the Broker's entirely, never merged", () => {
    const broker = {
      retry: 5,
      backoffPolicy: 'exponential',
      backoffDelayMs: 1000,
      deadLetterSink: { uri: 'http://dls' },
    } as const;
    const trigger = { retry: 0, deadLetterSink: { uri: 'http://other' } };
    assert.equal(effectiveDelivery(trigger, broker), trigger);
    assert.equal(effectiveDelivery(undefined, broker), broker);
    assert.equal(effectiveDelivery(undefined, undefined), NO_DELIVERY_SPEC);
    assert.equal(NO_DELIVERY_SPEC.retry, 0);
  });

  test('retried: no answer, 5xx, 404, 408, 409, 429; never another 4xx or a 2xx', () => {
    for (const status of [undefined, 500, 502, 503, 504, 404, 408, 409, 429])
      assert.equal(isRetriedFailure(status), true, String(status));
    for (const status of [400, 401, 403, 410, 413, 422, 200, 202])
      assert.equal(isRetriedFailure(status), false, String(status));
  });
});
