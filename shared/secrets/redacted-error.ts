/**
 * A scrubbed copy of a low-level error, kept as the `cause` of the reconciler's own errors in
 * place of the original: the original may carry a secret anywhere (a server that echoes the
 * password in its message, detail or hint; an SDK error holding the string it signed). The
 * copy has the original's name, message, stack and every field of text, number or boolean
 * value, each string with the secrets replaced by `***`; object fields (responses, sockets)
 * are dropped, and nested causes are copied the same way.
 *
 * The logger prints a cause only when it is one of these (shared/telemetry/logger.ts), so a
 * boundary that forgets to scrub shows a cause's type, not its text.
 */

const MASK = '***';
/** Longest string field kept (a response body in a field must not fill a log line). */
const FIELD_LIMIT = 2000;
const MAX_DEPTH = 5;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** A low-level error with every secret replaced, safe to keep as a cause and to log. */
export class RedactedError extends Error {
  /** The original's `name` (TypeError, DatabaseError, ...). */
  readonly originalName: string;
  /** The original's `code` when it had a textual one (SQLSTATE, ECONNREFUSED, ...). */
  readonly code: string | undefined;
  /** The original's text, number and boolean fields, scrubbed (code, detail, hint, ...). */
  readonly fields: Readonly<Record<string, string | number | boolean>>;

  /** Use `RedactedError.of`; the fields given here must already be scrubbed. */
  constructor(
    originalName: string,
    message: string,
    fields: Record<string, string | number | boolean>,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'RedactedError';
    this.originalName = originalName;
    this.fields = Object.freeze(fields);
    this.code = typeof fields.code === 'string' ? fields.code : undefined;
  }

  /**
   * A scrubbed copy of `error`.
   * @param error - anything thrown
   * @param secrets - the values to remove (empty ones are ignored); their URL-encoded forms
   *   are removed too
   */
  static of(error: unknown, secrets: readonly string[]): RedactedError {
    const needles = [
      ...new Set(secrets.flatMap((s) => (s === '' ? [] : [s, encodeURIComponent(s)]))),
    ]
      // Longest first, so a secret containing another is masked whole.
      .sort((a, b) => b.length - a.length);
    return copy(error, (text) => scrub(text, needles), 0);
  }
}

function scrub(text: string, needles: readonly string[]): string {
  let out = text;
  for (const needle of needles) out = out.split(needle).join(MASK);
  return out;
}

function copy(error: unknown, clean: (text: string) => string, depth: number): RedactedError {
  if (error === null || typeof error !== 'object') {
    return new RedactedError(typeof error, clean(String(error)), {});
  }
  const source = error as Record<string, unknown>;
  const name = typeof source.name === 'string' ? clean(source.name) : 'Error';
  const message = typeof source.message === 'string' ? clean(source.message) : '';
  const fields: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(source)) {
    if (!IDENTIFIER.test(key) || key === 'message' || key === 'name' || key === 'stack') continue;
    if (typeof value === 'string') fields[key] = clean(value.slice(0, FIELD_LIMIT));
    else if (typeof value === 'number' || typeof value === 'boolean') fields[key] = value;
  }
  const cause =
    'cause' in source && source.cause !== undefined && depth < MAX_DEPTH
      ? { cause: copy(source.cause, clean, depth + 1) }
      : undefined;
  const redacted = new RedactedError(name, message, fields, cause);
  // The original's stack shows where it was thrown; its first line repeats the message.
  redacted.stack = typeof source.stack === 'string' ? clean(source.stack) : `${name}: ${message}`;
  // Readers of well-known fields (`cause.code`) find them where the original had them.
  for (const [key, value] of Object.entries(fields))
    if (!(key in redacted)) Object.defineProperty(redacted, key, { value, enumerable: false });
  return redacted;
}
