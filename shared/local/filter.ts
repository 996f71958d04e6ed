/**
 * Trigger filters, evaluated as Knative's broker-filter does (knative-facts.md §3.3):
 * - `filter.attributes`: every listed attribute present and exactly equal (case-sensitive);
 *   the value `""` means "present and non-empty"; no attributes match everything.
 * - `filters` (CloudEvents Subscriptions API): a list ANDed together, each element one of
 *   `exact`, `prefix`, `suffix` (every pair must hold; the attribute must exist), `all`,
 *   `any`, `not`. `cesql` is not supported here: a manifest using it is refused when read.
 * Non-string attribute values compare by their string form (structured mode may carry an
 * extension as a number; binary mode always carries text).
 */
import type { CloudEventV1 } from 'cloudevents';

/** One Subscriptions API filter expression. */
export type SubscriptionsFilter =
  | { readonly exact: Readonly<Record<string, string>> }
  | { readonly prefix: Readonly<Record<string, string>> }
  | { readonly suffix: Readonly<Record<string, string>> }
  | { readonly all: readonly SubscriptionsFilter[] }
  | { readonly any: readonly SubscriptionsFilter[] }
  | { readonly not: SubscriptionsFilter };

/** A Trigger's filter: the legacy attribute map, or Subscriptions API filters (which win). */
export type TriggerFilter =
  | { readonly attributes: Readonly<Record<string, string>> }
  | { readonly filters: readonly SubscriptionsFilter[] };

/** An event's attribute as text, or `undefined` when the event does not carry it. */
function attributeText(event: CloudEventV1<unknown>, name: string): string | undefined {
  const value = (event as unknown as Record<string, unknown>)[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return value.toISOString();
  return undefined;
}

/** Whether `event` passes `filter`. */
export function matchesFilter(filter: TriggerFilter, event: CloudEventV1<unknown>): boolean {
  if ('filters' in filter) return filter.filters.every((f) => matchesExpression(f, event));
  return Object.entries(filter.attributes).every(([name, expected]) => {
    const actual = attributeText(event, name);
    if (actual === undefined) return false;
    return expected === '' ? actual !== '' : actual === expected;
  });
}

function matchesExpression(filter: SubscriptionsFilter, event: CloudEventV1<unknown>): boolean {
  if ('exact' in filter) return everyPair(filter.exact, event, (a, v) => a === v);
  if ('prefix' in filter) return everyPair(filter.prefix, event, (a, v) => a.startsWith(v));
  if ('suffix' in filter) return everyPair(filter.suffix, event, (a, v) => a.endsWith(v));
  if ('all' in filter) return filter.all.every((f) => matchesExpression(f, event));
  if ('any' in filter) return filter.any.some((f) => matchesExpression(f, event));
  return !matchesExpression(filter.not, event);
}

function everyPair(
  pairs: Readonly<Record<string, string>>,
  event: CloudEventV1<unknown>,
  test: (actual: string, expected: string) => boolean,
): boolean {
  return Object.entries(pairs).every(([name, expected]) => {
    const actual = attributeText(event, name);
    return actual !== undefined && test(actual, expected);
  });
}
