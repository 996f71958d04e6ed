/**
 * Describing untrusted values in messages and logs: bounded in length, never recursive (a
 * 5,000-deep array must not overflow the stack), with control characters escaped. A
 * message that repeats its input must not let a sender choose the size of the answer.
 */

/** How much of a value a message quotes. */
export const QUOTE_LIMIT = 64;

/**
 * Shortens `text` to `limit` characters, saying how long it was.
 * @example truncate('x'.repeat(100), 10) === 'xxxxxxxxxx… (100 characters)'
 */
export function truncate(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}… (${text.length} characters)`;
}

/**
 * A short rendering of any value for a message: strings quoted (and truncated), numbers,
 * booleans and null as JSON, arrays and objects by their size only.
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(truncate(value, QUOTE_LIMIT));
    case 'number':
    case 'boolean':
      return String(value);
    case 'undefined':
      return 'nothing';
    case 'bigint':
      return truncate(`${value.toString()}n`, QUOTE_LIMIT);
    case 'object':
      if (value === null) return 'null';
      return Array.isArray(value)
        ? `an array of ${value.length} items`
        : `an object with ${Object.keys(value).length} keys`;
    default:
      return `a ${typeof value}`;
  }
}
