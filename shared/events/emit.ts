/**
 * Posting CloudEvents out of band to the sink Knative's SinkBinding names (`K_SINK`), for a
 * function that emits more than the one event a reply can carry (resync).
 *
 * Each post is one PRODUCER span, a child of the active span (the function's `process`
 * span), and the event carries that span's context in its `traceparent` extension: the chain
 * the event starts continues the emitting function's trace (a reply gets the same from the
 * runtime). The W3C headers go on the request too, for Knative's own delivery trace
 * (knative-facts.md §7.2). Events are sent in binary mode, as Knative's own sources send them.
 */
import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  type Attributes,
  type Tracer,
} from '@opentelemetry/api';
import { CloudEvent, HTTP } from 'cloudevents';
import { TransientError } from '../runtime/errors.ts';
import { injectTraceparent } from '../telemetry/event-trace.ts';

/** Posts one event to the sink; resolves once the sink accepted it (2xx). */
export type EmitEvent = (event: CloudEvent<unknown>) => Promise<void>;

/** Where and how events are posted. */
export interface SinkEmitterOptions {
  /** The sink URL (`K_SINK`). */
  readonly url: string;
  /**
   * Extensions added to every event (`K_CE_OVERRIDES`). The event's own attributes win: the
   * configuration refuses overrides of the attributes the reconciler sets.
   */
  readonly extensions?: Readonly<Record<string, string>>;
  /** Bound of one post, from connecting to the answer's status line. */
  readonly timeoutMs: number;
  /** The function's tracer (its `send` spans). */
  readonly tracer: Tracer;
}

/**
 * Builds the emitter.
 * @throws (from the returned function) TransientError when the sink refuses the event,
 *   answers after the timeout, or cannot be reached: the caller decides what a lost event
 *   means (resync answers 5xx so the tick is retried)
 */
export function sinkEmitter(options: SinkEmitterOptions): EmitEvent {
  const { url, extensions = {}, timeoutMs, tracer } = options;
  return (event) =>
    tracer.startActiveSpan(
      `send ${event.type}`,
      { kind: SpanKind.PRODUCER, attributes: sendAttributes(event) },
      async (span) => {
        try {
          const withOverrides = new CloudEvent<unknown>({ ...extensions, ...event.toJSON() });
          // The active context is this span's: the event names it as the chain's parent.
          const { headers, body } = HTTP.binary(injectTraceparent(withOverrides));
          const outgoing: Record<string, string> = { ...(headers as Record<string, string>) };
          propagation.inject(context.active(), outgoing);
          const status = await post(url, outgoing, body as string, timeoutMs, event.type);
          span.setAttribute('http.response.status_code', status);
          if (status < 200 || status > 299)
            throw new TransientError(`the sink answered ${status} to a ${event.type} event`);
        } catch (error) {
          span.setStatus({
            code: SpanStatusCode.ERROR,
            message: error instanceof Error ? error.name : typeof error,
          });
          throw error;
        } finally {
          span.end();
        }
      },
    );
}

/** One POST, bounded; the answer's body is discarded (a sink's answer to an event is empty). */
async function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  type: string,
): Promise<number> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    // Read to the end so the connection is reused; bounded by the same signal.
    await response.arrayBuffer();
    return response.status;
  } catch (error) {
    // The URL is not repeated: K_SINK may carry user info.
    const why =
      error instanceof DOMException && error.name === 'TimeoutError'
        ? `no answer within ${timeoutMs} ms`
        : 'the connection failed';
    throw new TransientError(`posting a ${type} event to the sink failed: ${why}`, {
      cause: error,
    });
  }
}

function sendAttributes(event: CloudEvent<unknown>): Attributes {
  return {
    'cloudevents.event_id': event.id,
    'cloudevents.event_source': event.source,
    'cloudevents.event_type': event.type,
    ...(event.subject === undefined ? {} : { 'cloudevents.event_subject': event.subject }),
    'messaging.operation.type': 'send',
    'messaging.operation.name': 'send',
    'messaging.message.id': event.id,
  };
}
