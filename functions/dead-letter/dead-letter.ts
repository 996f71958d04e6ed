/**
 * Reading what the broker adds to an event whose delivery it gave up on (knative-facts.md
 * §3.8): `knativeerrordest` (the subscriber's URL), `knativeerrorcode` (its last HTTP status;
 * 500 when no answer came) and `knativeerrordata` (the base64 of its last answer's body, cut to
 * 1024 characters). The body is one of our functions' answers, which never hold a secret, but
 * it is treated as untrusted text: bounded, and with control characters escaped.
 */
import type { CloudEventV1 } from 'cloudevents';

/** The dead-letter extensions, read. */
export interface DeadLetter {
  /** The subscriber that failed. */
  readonly destination: string;
  /** Its last HTTP status (500 for a transport error). */
  readonly code: number;
  /** Its last answer's body, decoded, cleaned and bounded (may be empty). */
  readonly answer: string;
}

/** Why a dead letter cannot be read (for the log; never quotes the event). */
export interface DeadLetterProblem {
  readonly problem: string;
}

/** How much of the failing answer a message quotes. */
export const MAX_ANSWER_QUOTE = 300;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Reads the dead-letter extensions of `event`.
 * @returns the extensions, or what is wrong with them
 */
export function readDeadLetter(event: CloudEventV1<unknown>): DeadLetter | DeadLetterProblem {
  const destination = event.knativeerrordest;
  if (typeof destination !== 'string' || destination.trim() === '')
    return { problem: 'extension knativeerrordest (the failed subscriber) is missing' };
  const code = readCode(event.knativeerrorcode);
  if (code === undefined)
    return { problem: 'extension knativeerrorcode is missing or not an HTTP status' };
  const data = event.knativeerrordata ?? '';
  if (typeof data !== 'string') return { problem: 'extension knativeerrordata is not text' };
  const answer = decodeAnswer(data);
  if (answer === undefined) return { problem: 'extension knativeerrordata is not base64' };
  return { destination, code, answer };
}

/** Whether a read dead letter is a problem. */
export function isProblem(value: DeadLetter | DeadLetterProblem): value is DeadLetterProblem {
  return 'problem' in value;
}

/** Binary mode carries the code as text, structured mode may carry a number. */
function readCode(value: unknown): number | undefined {
  const code = typeof value === 'string' && /^[0-9]{1,3}$/.test(value) ? Number(value) : value;
  return typeof code === 'number' && Number.isInteger(code) && code >= 100 && code <= 599
    ? code
    : undefined;
}

/**
 * The failing answer as bounded, printable text.
 * @returns undefined when `data` is not base64 (a cut at 1024 characters keeps it base64:
 *   1024 is a multiple of 4)
 */
export function decodeAnswer(data: string): string | undefined {
  const trimmed = data.trim();
  if (!BASE64.test(trimmed) || trimmed.length % 4 === 1) return undefined;
  // Cut first, so a hostile body costs nothing to escape; a cut UTF-8 sequence decodes to U+FFFD.
  const text = Buffer.from(trimmed, 'base64')
    .toString('utf8')
    .slice(0, MAX_ANSWER_QUOTE * 2);
  const printable = escapeControls(text.trim());
  return printable.length <= MAX_ANSWER_QUOTE
    ? printable
    : `${printable.slice(0, MAX_ANSWER_QUOTE)}… (cut)`;
}

/**
 * Escapes C0 and C1 control characters, and the Unicode line separators and bidirectional
 * controls that could make a condition message read differently from what it holds.
 */
export function escapeControls(text: string): string {
  return text.replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    (char) => {
      if (char === '\n') return '\\n';
      if (char === '\r') return '\\r';
      if (char === '\t') return '\\t';
      return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
    },
  );
}

/**
 * The summary a person reads on the project, e.g. `validate-deps gave up on generation 3 after
 * the broker's retries: last answer 503: Service Unavailable`.
 * @param failedFunction - the function that gave up (or a description when unknown)
 */
export function deadLetterMessage(
  failedFunction: string,
  generation: number,
  letter: DeadLetter,
): string {
  const answer = letter.answer === '' ? '' : `: ${letter.answer}`;
  const transport = letter.code === 500 && letter.answer === '' ? ' (or no answer at all)' : '';
  return `${failedFunction} gave up on generation ${generation} after the broker's retries: last answer ${letter.code}${transport}${answer}`;
}
