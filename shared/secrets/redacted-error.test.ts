import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TransientError } from '../runtime/errors.ts';
import { describeError } from '../telemetry/logger.ts';
import { RedactedError } from './redacted-error.ts';

const password = 'p@ss/w0rd';

/** An error as a driver throws it: the secret in the message and in arbitrary fields. */
function rawError(): Error {
  const error = Object.assign(new Error(`login with ${password} failed`), {
    code: '08006',
    detail: `sent ${encodeURIComponent(password)}`,
    internalQuery: { text: password },
  });
  return new Error('outer', { cause: error });
}

test('a scrubbed copy keeps name, code and text fields, every secret masked, nothing else', () => {
  const copy = RedactedError.of(rawError().cause, [password]);
  assert.equal(copy.originalName, 'Error');
  assert.equal(copy.message, 'login with *** failed');
  assert.equal(copy.code, '08006');
  assert.deepEqual(copy.fields, { code: '08006', detail: 'sent ***' });
  assert.ok(!String(copy.stack).includes(password));
  assert.equal((copy as unknown as { detail: string }).detail, 'sent ***');
});

test('nested causes are copied too', () => {
  const copy = RedactedError.of(rawError(), [password]);
  assert.ok(copy.cause instanceof RedactedError);
  assert.equal(copy.cause.message, 'login with *** failed');
});

test('the logger prints a scrubbed cause, and of any other cause only its type and code', () => {
  const scrubbed = new TransientError('down', {
    cause: RedactedError.of(rawError().cause, [password]),
  });
  const raw = new TransientError('down', { cause: rawError().cause });
  const printedScrubbed = JSON.stringify(describeError(scrubbed));
  assert.match(printedScrubbed, /login with \*\*\* failed/);
  assert.match(printedScrubbed, /"code":"08006"/);
  const printedRaw = describeError(raw);
  assert.deepEqual(printedRaw.cause, {
    type: 'Error',
    code: '08006',
    message: '[not shown: a cause not scrubbed by the boundary that caught it]',
  });
  for (const printed of [printedScrubbed, JSON.stringify(printedRaw)])
    assert.ok(!printed.includes(password) && !printed.includes(encodeURIComponent(password)));
});
