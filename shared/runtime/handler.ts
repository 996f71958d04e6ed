/**
 * The contract between the runtime and a function's phase logic: a handler receives one
 * validated CloudEvent and a context, and its result decides the answer (a reply event, an
 * empty 2xx, or an error mapped by errors.ts).
 */
import type { Span } from '@opentelemetry/api';
import type { CloudEvent } from 'cloudevents';
import type { Logger } from '../telemetry/logger.ts';
import type { EventOutcome, MetricsRecorder } from '../telemetry/metrics-recorder.ts';

/** What the runtime gives a handler besides the event. */
export interface EventContext {
  /** A child logger carrying the event's id, type and subject (and the trace ids). */
  readonly logger: Logger;
  /** The `process <type>` span, active while the handler runs. */
  readonly span: Span;
  /** The function's metrics, for API and SQL call timings. */
  readonly metrics: MetricsRecorder;
}

/** Outcomes a handler reports by acknowledging an event without a reply. */
export type AcknowledgedOutcome = Extract<
  EventOutcome,
  'dropped_stale' | 'dropped_own_write' | 'failed_permanent' | 'malformed'
>;

/**
 * An event that was handled without a reply for a reason worth counting: dropped as stale or
 * as our own write (rules 2 and 3), a permanent failure already reported as a condition
 * (rule 6), or an unusable event a sink must not refuse (the dead-letter sink: an event it
 * answers 4xx is lost for good). Answered with 202 and no body, so the broker neither retries
 * nor forwards.
 */
export interface Acknowledgement {
  readonly kind: 'acknowledgement';
  readonly outcome: AcknowledgedOutcome;
  /** Why, in a sentence for the log (no secret values). */
  readonly reason: string;
}

/**
 * Builds an `Acknowledgement`.
 * @example return acknowledge('dropped_stale', `generation ${event.generation} < ${current}`);
 */
export function acknowledge(outcome: AcknowledgedOutcome, reason: string): Acknowledgement {
  return { kind: 'acknowledgement', outcome, reason };
}

/**
 * What a handler returns: a CloudEvent to reply with (200, binary mode; the runtime stamps
 * its `traceparent`), an `Acknowledgement`, or `undefined` (processed, nothing to say: 204).
 * Throwing ends the request with the status errors.ts maps the error to.
 */
export type HandlerResult = CloudEvent<unknown> | Acknowledgement | undefined;

/** A function's phase logic as the runtime calls it. */
export type EventHandler = (
  event: CloudEvent<unknown>,
  context: EventContext,
) => Promise<HandlerResult>;

/** Whether a handler result is an `Acknowledgement`. */
export function isAcknowledgement(result: HandlerResult): result is Acknowledgement {
  return (
    typeof result === 'object' && (result as Partial<Acknowledgement>).kind === 'acknowledgement'
  );
}
