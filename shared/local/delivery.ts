/**
 * Knative's delivery spec (`spec.delivery` of a Broker or Trigger, knative-facts.md §3.6-3.7):
 * how often a failed delivery is retried, how long to wait in between, how long one attempt may
 * take, and where an event goes when every attempt failed.
 */
import { isRetriedStatus } from '../runtime/errors.ts';

/** A reference to an addressable object (Knative's `duckv1.KReference`). */
export interface DestinationRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

/** Knative's Destination: a `ref` to resolve, a `uri`, or both (the uri relative to the ref). */
export interface Destination {
  readonly ref?: DestinationRef;
  readonly uri?: string;
}

/** How the wait between attempts grows. */
export type BackoffPolicy = 'exponential' | 'linear';

/** How events travel to a subscriber: `binary` (Knative's default) or `json` (structured). */
export type DeliveryFormat = 'binary' | 'json';

/** A parsed `delivery` block. Durations in milliseconds. */
export interface DeliverySpec {
  /** Retries after the first attempt (Knative: unset means 0). */
  readonly retry: number;
  readonly backoffPolicy?: BackoffPolicy;
  readonly backoffDelayMs?: number;
  /** Bound of one attempt, from sending to the end of the answer. */
  readonly timeoutMs?: number;
  readonly deadLetterSink?: Destination;
  readonly format?: DeliveryFormat;
}

/** What a Trigger without `delivery` and a Broker without one leave: one attempt, no sink. */
export const NO_DELIVERY_SPEC: DeliverySpec = Object.freeze({ retry: 0 });

/**
 * The delivery a Trigger's events get: its own when it has one, which replaces the Broker's
 * entirely (not merged: a Trigger with only a deadLetterSink has 0 retries), else the
 * Broker's (knative-facts.md §3.7).
 */
export function effectiveDelivery(
  trigger: DeliverySpec | undefined,
  broker: DeliverySpec | undefined,
): DeliverySpec {
  return trigger ?? broker ?? NO_DELIVERY_SPEC;
}

/**
 * The wait before retry `n` (0 for the first retry): exponential `delay·2ⁿ`, linear `delay·n`
 * (so the first linear retry is immediate), no wait when the policy or the delay is unset —
 * Knative's `kncloudevents` retry config.
 */
export function backoffMs(spec: DeliverySpec, retryIndex: number): number {
  const delay = spec.backoffDelayMs;
  if (delay === undefined || spec.backoffPolicy === undefined) return 0;
  return spec.backoffPolicy === 'exponential' ? delay * 2 ** retryIndex : delay * retryIndex;
}

/** Every wait of a delivery spec, in order: the schedule of its retries. */
export function backoffSchedule(spec: DeliverySpec): number[] {
  return Array.from({ length: spec.retry }, (_, n) => backoffMs(spec, n));
}

/**
 * Whether a failed attempt is tried again (Knative's SelectiveRetry): transport errors and
 * timeouts (no status), 5xx, 404, 408, 409 and 429; never another 4xx.
 */
export function isRetriedFailure(status: number | undefined): boolean {
  return status === undefined || isRetriedStatus(status);
}

const DURATION =
  /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/**
 * Parses an ISO-8601 duration as Knative writes them (`PT0.5S`, `PT1M30S`, `P1D`).
 * Years and months are refused: their length depends on the calendar.
 * @returns milliseconds, or `undefined` when `text` is no such duration
 */
export function parseIsoDuration(text: string): number | undefined {
  const match = DURATION.exec(text);
  if (!match || text === 'P' || text.endsWith('T')) return undefined;
  const [, weeks, days, hours, minutes, seconds] = match;
  const part = (value: string | undefined, ms: number): number =>
    value === undefined ? 0 : Number(value) * ms;
  return Math.round(
    part(weeks, 604_800_000) +
      part(days, 86_400_000) +
      part(hours, 3_600_000) +
      part(minutes, 60_000) +
      part(seconds, 1000),
  );
}
