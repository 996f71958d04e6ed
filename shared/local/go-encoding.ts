/**
 * The two encodings Knative's Go adapters put on the wire, reproduced so that the local
 * sources send what the real ones send (knative-facts.md, last section):
 *
 * - the event data: Go's `encoding/json` of the object as a map (the adapter's
 *   `*unstructured.Unstructured`): compact, keys sorted at every level, and `<`, `>`, `&`,
 *   U+2028, U+2029 escaped as `\u003c`... (Go escapes them for safe embedding in HTML). The
 *   API server encodes a custom resource the same way, so the body equals a GET of the same
 *   resourceVersion byte for byte (without the GET's final newline).
 * - `time`: Go's RFC 3339 with nanoseconds (`time.RFC3339Nano`), trailing zeros of the
 *   fraction dropped (8-9 digits as measured, none when the fraction is zero).
 */

/** Characters Go's `encoding/json` escapes beyond what JSON.stringify does. */
const GO_HTML_ESCAPES = /[<>&\u2028\u2029]/g;

/**
 * Encodes a JSON value as Go's `json.Marshal` of a `map[string]interface{}` does.
 * Keys are compared by UTF-16 code unit, which equals Go's byte order for every key outside
 * the supplementary planes (Kubernetes keys are ASCII).
 * @param value - plain JSON data (as JSON.parse returns it)
 */
export function goJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)).replace(
    GO_HTML_ESCAPES,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort())
    sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  return sorted;
}

/**
 * The current time as Go's `time.Now().UTC().Format(time.RFC3339Nano)` writes it. JavaScript's
 * clock has millisecond resolution; the digits below the millisecond come from the monotonic
 * clock, so the value has Go's shape and is never earlier than the wall clock's millisecond.
 * @param nowMs - the wall clock in ms (tests fix it)
 * @param subMillisecondNs - nanoseconds within that millisecond, 0-999999
 */
export function rfc3339Nano(
  nowMs = Date.now(),
  subMillisecondNs = Number(process.hrtime.bigint() % 1_000_000n),
): string {
  const iso = new Date(nowMs).toISOString(); // 2026-06-20T09:41:07.512Z
  const ms = iso.slice(20, 23);
  const fraction = `${ms}${String(subMillisecondNs).padStart(6, '0')}`.replace(/0+$/, '');
  return `${iso.slice(0, 19)}${fraction === '' ? '' : `.${fraction}`}Z`;
}
