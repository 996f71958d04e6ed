/**
 * What the local broker's ingress does to an event before fan-out (knative-facts.md §3.5,
 * §3.8): the TTL that stops reply loops, and the arrival time subscribers see.
 */
import { CloudEvent } from 'cloudevents';

/** Knative's loop counter; stripped before subscribers, re-attached to their replies. */
export const TTL_EXTENSION = 'knativebrokerttl';
/** When the ingress received the event; overwritten on every pass. */
export const ARRIVAL_TIME_EXTENSION = 'knativearrivaltime';
/** broker-ingress's MAX_TTL default. */
export const DEFAULT_MAX_TTL = 255;

/** The ingress's answer. */
export type IngressResult =
  { readonly status: 202 } | { readonly status: 400 | 405 | 413 | 503; readonly message: string };

/** Why the ingress refuses an event's TTL. */
export interface TtlProblem {
  readonly problem: 'exhausted' | 'invalid';
  readonly message: string;
}

/**
 * The TTL an event continues with: `maxTtl` when it has none, else one less than it carries.
 * @returns the TTL, or why the event must be refused
 */
export function nextTtl(event: CloudEvent<unknown>, maxTtl: number): number | TtlProblem {
  const carried: unknown = event[TTL_EXTENSION];
  if (carried === undefined) return maxTtl;
  // Binary mode carries extensions as text, structured mode may carry a number.
  const ttl =
    typeof carried === 'string' && /^-?[0-9]{1,10}$/.test(carried) ? Number(carried) : carried;
  if (typeof ttl !== 'number' || !Number.isInteger(ttl))
    return { problem: 'invalid', message: `extension ${TTL_EXTENSION} must be an integer` };
  const next = ttl - 1;
  if (next <= 0)
    return {
      problem: 'exhausted',
      message: `extension ${TTL_EXTENSION} is exhausted: the event went through the broker too often (a reply loop?)`,
    };
  return next;
}

/**
 * The event as the broker holds it and subscribers see it: without the TTL (kept aside), with
 * the arrival time of this pass.
 */
export function stampArrival(event: CloudEvent<unknown>, now: Date): CloudEvent<unknown> {
  const attributes = Object.fromEntries(
    Object.entries(event.toJSON()).filter(([name]) => name !== TTL_EXTENSION),
  );
  return new CloudEvent<unknown>({ ...attributes, [ARRIVAL_TIME_EXTENSION]: now.toISOString() });
}

/** The event with a TTL attached (a reply on its way back in, a dead letter). */
export function withTtl(event: CloudEvent<unknown>, ttl: number): CloudEvent<unknown> {
  return event.cloneWith({ [TTL_EXTENSION]: String(ttl) });
}
