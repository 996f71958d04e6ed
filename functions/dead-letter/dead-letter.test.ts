import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CloudEvent } from 'cloudevents';
import type { ReceivedEvent } from '../../shared/events/parse.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import {
  deadLetterMessage,
  decodeAnswer,
  escapeControls,
  isProblem,
  MAX_ANSWER_QUOTE,
  readDeadLetter,
} from './dead-letter.ts';
import { consumerOf, FUNCTION_NAMES, functionOfDestination } from './failed-function.ts';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

function letter(extensions: Record<string, unknown>) {
  return new CloudEvent<unknown>(
    { type: 'x.y', source: '/s', ...extensions },
    false, // as HTTP.toEvent builds it: not validated
  );
}

describe('readDeadLetter', () => {
  test('reads the three extensions, binary (text) and structured (number) codes alike', () => {
    const dest = 'http://init-db.team-a.svc.cluster.local';
    for (const code of ['503', 503]) {
      assert.deepEqual(
        readDeadLetter(
          letter({ knativeerrordest: dest, knativeerrorcode: code, knativeerrordata: b64('busy') }),
        ),
        { destination: dest, code: 503, answer: 'busy' },
      );
    }
  });

  test('the HTTP status range is 100 to 599, both included', () => {
    const base = { knativeerrordest: 'http://a', knativeerrordata: '' };
    for (const code of ['100', 100, '599', 599]) {
      const read = readDeadLetter(letter({ ...base, knativeerrorcode: code }));
      assert.ok(!isProblem(read), String(code));
      assert.equal(read.code, Number(code));
    }
  });

  test('a code in text must be digits only, as the broker writes it', () => {
    // Number() would read each of these as a status; none is one the broker sends.
    for (const code of ['5e2', '+503', ' 503', '503 ', '0503', '503.0', '0x1f7']) {
      const read = readDeadLetter(
        letter({ knativeerrordest: 'http://a', knativeerrorcode: code, knativeerrordata: '' }),
      );
      assert.ok(isProblem(read), JSON.stringify(code));
      assert.match(read.problem, /knativeerrorcode/);
    }
  });

  test('no data, or empty data, is an empty answer', () => {
    const base = { knativeerrordest: 'http://a', knativeerrorcode: '500' };
    assert.deepEqual(readDeadLetter(letter(base)), {
      destination: 'http://a',
      code: 500,
      answer: '',
    });
    assert.deepEqual(readDeadLetter(letter({ ...base, knativeerrordata: '' })), {
      destination: 'http://a',
      code: 500,
      answer: '',
    });
  });

  test('missing or invalid extensions are problems, named without quoting the event', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ knativeerrorcode: '503' }, /knativeerrordest/],
      [{ knativeerrordest: ' ', knativeerrorcode: '503' }, /knativeerrordest/],
      [{ knativeerrordest: 'http://a' }, /knativeerrorcode/],
      [{ knativeerrordest: 'http://a', knativeerrorcode: 'five' }, /knativeerrorcode/],
      [{ knativeerrordest: 'http://a', knativeerrorcode: '99' }, /knativeerrorcode/],
      [{ knativeerrordest: 'http://a', knativeerrorcode: '600' }, /knativeerrorcode/],
      [{ knativeerrordest: 'http://a', knativeerrorcode: 503.5 }, /knativeerrorcode/],
      [
        { knativeerrordest: 'http://a', knativeerrorcode: '503', knativeerrordata: '%%%' },
        /base64/,
      ],
      // Structured mode can carry any JSON value as an extension.
      [
        { knativeerrordest: 'http://a', knativeerrorcode: '503', knativeerrordata: 42 },
        /knativeerrordata is not text/,
      ],
      [
        { knativeerrordest: 'http://a', knativeerrorcode: '503', knativeerrordata: 'abcde' },
        /base64/,
      ],
    ];
    for (const [extensions, expected] of cases) {
      const read = readDeadLetter(letter(extensions));
      assert.ok(isProblem(read), JSON.stringify(extensions));
      assert.match(read.problem, expected);
    }
  });
});

describe('decodeAnswer', () => {
  test('a body cut at 1024 base64 characters still decodes (a cut UTF-8 sequence too)', () => {
    const full = b64('é'.repeat(1000));
    const cut = full.slice(0, 1024);
    const answer = decodeAnswer(cut);
    assert.ok(answer !== undefined);
    assert.ok(answer.length <= MAX_ANSWER_QUOTE + 10);
    assert.match(answer, /^é+/);
  });

  test('blanks around the data and around the answer are dropped', () => {
    // A proxy's answer usually ends with a newline; a JSON string may be padded.
    assert.equal(decodeAnswer(` ${b64('no healthy upstream\n')}\n`), 'no healthy upstream');
    assert.equal(decodeAnswer(b64('\r\n  upstream connect error \t')), 'upstream connect error');
  });

  test('control characters are escaped, never passed on', () => {
    assert.equal(
      decodeAnswer(b64('line1\nline2\r\t\u0000\u001b[31mred\u202eevil\u2028end')),
      'line1\\nline2\\r\\t\\u0000\\u001b[31mred\\u202eevil\\u2028end',
    );
    assert.equal(escapeControls('plain: text'), 'plain: text');
  });

  test('a long answer is bounded and says so', () => {
    const answer = decodeAnswer(b64('x'.repeat(5000)));
    assert.equal(answer, `${'x'.repeat(MAX_ANSWER_QUOTE)}… (cut)`);
    // An answer of exactly the bound is quoted whole: nothing was cut.
    const whole = 'y'.repeat(MAX_ANSWER_QUOTE);
    assert.equal(decodeAnswer(b64(whole)), whole);
    // Escaping cannot grow it past the bound either.
    const escaped = decodeAnswer(b64('\u0001'.repeat(5000)));
    assert.ok(escaped !== undefined && escaped.length <= MAX_ANSWER_QUOTE + 10);
  });
});

describe('deadLetterMessage', () => {
  test('names the function, the generation and the last answer', () => {
    assert.equal(
      deadLetterMessage('validate-deps', 3, {
        destination: 'd',
        code: 503,
        answer: 'Service Unavailable',
      }),
      "validate-deps gave up on generation 3 after the broker's retries: last answer 503: Service Unavailable",
    );
    assert.equal(
      deadLetterMessage('init-db', 1, { destination: 'd', code: 500, answer: '' }),
      "init-db gave up on generation 1 after the broker's retries: last answer 500 (or no answer at all)",
    );
  });

  test('"no answer at all" only for a 500 without a body: the broker\'s mark of a transport error', () => {
    assert.equal(
      deadLetterMessage('secrets', 2, { destination: 'd', code: 503, answer: '' }),
      "secrets gave up on generation 2 after the broker's retries: last answer 503",
    );
    assert.equal(
      deadLetterMessage('secrets', 2, { destination: 'd', code: 500, answer: 'internal error' }),
      "secrets gave up on generation 2 after the broker's retries: last answer 500: internal error",
    );
  });
});

describe('the function that gave up', () => {
  test('from the subscriber URL: a Knative Service address, or a path on one Service', () => {
    const cases: [string, string | undefined][] = [
      ['http://init-db.team-a.svc.cluster.local', 'init-db'],
      ['http://init-db.team-a.svc.cluster.local/', 'init-db'],
      ['https://secrets.reconciler.example.com', 'secrets'],
      ['http://deploy-components.ns.svc:8080/?x=1', 'deploy-components'],
      ['http://reconciler.ns.svc.cluster.local/health-aggregate', 'health-aggregate'],
      ['http://broker-ingress.knative-eventing.svc.cluster.local/ns/default', undefined],
      ['http://10.0.0.7:8080', undefined],
      ['not a url', undefined],
      ['', undefined],
    ];
    for (const [destination, expected] of cases)
      assert.equal(functionOfDestination(destination), expected, destination);
  });

  test("from the event's type, as the Triggers route it", () => {
    const chain = (type: (typeof CHAIN_EVENT)[keyof typeof CHAIN_EVENT]): ReceivedEvent => ({
      kind: 'chain',
      type,
      key: { namespace: 'a', name: 'b' },
      uid: 'u',
      generation: 1,
    });
    assert.equal(consumerOf(chain(CHAIN_EVENT.reconcileRequested)), 'validate-deps');
    assert.equal(consumerOf(chain(CHAIN_EVENT.dependenciesValidated)), 'init-db');
    assert.equal(consumerOf(chain(CHAIN_EVENT.databaseInitialized)), 'secrets');
    assert.equal(consumerOf(chain(CHAIN_EVENT.secretsReady)), 'deploy-components');
    assert.equal(consumerOf(chain(CHAIN_EVENT.componentsDeployed)), 'health-aggregate');
    const resource = (
      action: 'add' | 'update' | 'delete',
      deletionTimestamp?: string,
    ): ReceivedEvent => ({
      kind: 'resource',
      action,
      key: { namespace: 'a', name: 'b' },
      object: {
        apiVersion: 'v',
        kind: 'k',
        metadata: {
          namespace: 'a',
          name: 'b',
          uid: 'u',
          resourceVersion: '1',
          ...(deletionTimestamp ? { deletionTimestamp } : {}),
        },
      },
    });
    assert.equal(consumerOf(resource('add')), 'validate-deps');
    assert.equal(consumerOf(resource('update')), 'validate-deps');
    assert.equal(consumerOf(resource('update', '2026-01-01T00:00:00Z')), 'finalize');
    assert.equal(consumerOf(resource('delete')), 'finalize');
    assert.equal(consumerOf({ kind: 'ping' }), 'resync');
    for (const name of ['validate-deps', 'init-db', 'secrets', 'deploy-components', 'finalize'])
      assert.ok(FUNCTION_NAMES.has(name));
  });
});
