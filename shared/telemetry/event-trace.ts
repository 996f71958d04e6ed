/**
 * One reconciliation is one trace. The trace context travels in the CloudEvents
 * distributed-tracing extension (`traceparent`, `tracestate` attributes), not only in HTTP
 * headers, because the broker's hop-by-hop headers belong to Knative's own delivery trace
 * (or to no trace at all when Knative tracing is off). Each function continues the event's
 * trace, and stamps its reply with its own span so the next phase becomes its child.
 */
import {
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { CloudEvent } from 'cloudevents';

/** The extension attributes of the CloudEvents distributed-tracing extension. */
export const TRACEPARENT_ATTRIBUTE = 'traceparent';
/** Optional vendor data accompanying `traceparent`. */
export const TRACESTATE_ATTRIBUTE = 'tracestate';

let propagator: W3CTraceContextPropagator | undefined;
function w3c(): W3CTraceContextPropagator {
  propagator ??= new W3CTraceContextPropagator();
  return propagator;
}

/**
 * The trace context carried by an event's `traceparent` extension attribute.
 * @returns the context to continue, or `undefined` when the event carries none (or an
 *   invalid one, which is ignored rather than failing the event)
 */
export function eventTraceContext(event: CloudEvent<unknown>): Context | undefined {
  const traceparent = event[TRACEPARENT_ATTRIBUTE];
  if (typeof traceparent !== 'string') return undefined;
  const tracestate = event[TRACESTATE_ATTRIBUTE];
  const carrier: Record<string, string> = { traceparent };
  if (typeof tracestate === 'string') carrier.tracestate = tracestate;
  const extracted = w3c().extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
  return trace.getSpanContext(extracted) ? extracted : undefined;
}

/** The span attributes describing an event (OpenTelemetry's CloudEvents conventions). */
export function eventSpanAttributes(event: CloudEvent<unknown>): Attributes {
  const attributes: Attributes = {
    'cloudevents.event_id': event.id,
    'cloudevents.event_source': event.source,
    'cloudevents.event_type': event.type,
    'cloudevents.event_spec_version': event.specversion,
    // The messaging conventions' consumer attributes, so generic messaging views work too.
    'messaging.operation.type': 'process',
    'messaging.operation.name': 'process',
    'messaging.message.id': event.id,
  };
  if (event.subject !== undefined) attributes['cloudevents.event_subject'] = event.subject;
  return attributes;
}

/**
 * Runs `work` inside a CONSUMER span named `process <event type>`, active for the duration
 * (so logs, API and SQL spans attach to it).
 *
 * The parent is the event's `traceparent` extension when present, else `transportContext`
 * (the HTTP request's context, which the http instrumentation derived from the `traceparent`
 * header). When the event's context wins, the span links to the transport's span so the
 * broker's delivery trace stays reachable.
 *
 * A thrown error marks the span as failed with the error's class name only: the message may
 * quote a dependency and is logged, not exported.
 * @param tracer - the function's tracer
 * @param event - the received event
 * @param work - the phase, given the span
 * @param transportContext - the HTTP request's context (default: the active one)
 */
export async function withEventSpan<T>(
  tracer: Tracer,
  event: CloudEvent<unknown>,
  work: (span: Span) => Promise<T>,
  transportContext: Context = context.active(),
): Promise<T> {
  const fromEvent = eventTraceContext(event);
  const parent = fromEvent ?? transportContext;
  const links: Link[] = [];
  const transportSpan = trace.getSpanContext(transportContext);
  if (
    fromEvent &&
    transportSpan &&
    transportSpan.traceId !== trace.getSpanContext(fromEvent)?.traceId
  )
    links.push({ context: transportSpan, attributes: { 'link.reason': 'delivery' } });
  const span = tracer.startSpan(
    `process ${event.type}`,
    { kind: SpanKind.CONSUMER, attributes: eventSpanAttributes(event), links },
    parent,
  );
  return context.with(trace.setSpan(parent, span), async () => {
    try {
      return await work(span);
    } catch (error) {
      const kind = error instanceof Error ? error.name : typeof error;
      span.setAttribute('error.type', kind);
      span.setStatus({ code: SpanStatusCode.ERROR, message: kind });
      throw error;
    } finally {
      span.end();
    }
  });
}

/**
 * Returns `event` with its tracing extension set to the span context of `ctx` (by default
 * the active span, i.e. the function's `process` span), so the function that receives it
 * continues this trace as a child. Without a valid span context the event is returned
 * unchanged.
 */
export function injectTraceparent(
  event: CloudEvent<unknown>,
  ctx: Context = context.active(),
): CloudEvent<unknown> {
  const carrier: Record<string, string> = {};
  w3c().inject(ctx, carrier, defaultTextMapSetter);
  const traceparent = carrier.traceparent;
  if (traceparent === undefined) return event;
  // Rebuild rather than cloneWith: a stale tracestate must be removed, and cloneWith cannot
  // delete an attribute (undefined extension values are rejected).
  const attributes = Object.fromEntries(
    Object.entries(event.toJSON()).filter(([name]) => name !== TRACESTATE_ATTRIBUTE),
  );
  const tracestate = carrier.tracestate;
  return new CloudEvent<unknown>({
    ...attributes,
    [TRACEPARENT_ATTRIBUTE]: traceparent,
    ...(tracestate === undefined ? {} : { [TRACESTATE_ATTRIBUTE]: tracestate }),
  });
}
