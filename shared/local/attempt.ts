/**
 * One delivery attempt of the local broker: POST the event to a subscriber as Knative's
 * broker-filter does (knative-facts.md §3.4, §3.8) and classify its answer:
 * - 2xx with an empty body: delivered;
 * - 2xx with a CloudEvent (binary or structured): delivered, and the reply goes back into the
 *   broker;
 * - 2xx with any other body, or a CloudEvent that cannot be read: a failure with 502 semantics
 *   (retried), the bug behind Knative issues #6394, #7515;
 * - any other status: a failure with that status; no answer (refused, reset, timed out): a
 *   failure without a status (retried, dead-lettered as 500).
 */
import { HTTP, type CloudEvent } from 'cloudevents';
import { MAX_BODY_BYTES } from '../runtime/app.ts';
import { readCloudEvent } from '../runtime/receive.ts';
import type { DeliveryFormat } from './delivery.ts';

/** How an attempt ended. */
export type AttemptResult =
  | { readonly kind: 'delivered' }
  | { readonly kind: 'replied'; readonly reply: CloudEvent<unknown> }
  | {
      readonly kind: 'failed';
      /** The subscriber's status (502 for an unusable 2xx answer), undefined without one. */
      readonly status: number | undefined;
      /** The body of the failing answer (what the dead letter carries). */
      readonly body: Buffer;
      /** Why, for the log. */
      readonly why: string;
    }
  /** The broker is shutting down and gave up waiting. */
  | { readonly kind: 'abandoned' };

/** What one attempt needs. */
export interface AttemptRequest {
  readonly url: string;
  /** The event as subscribers see it (no `knativebrokerttl`). */
  readonly event: CloudEvent<unknown>;
  readonly format: DeliveryFormat;
  /** `Kn-Namespace`: the Trigger's namespace. */
  readonly namespace: string;
  readonly timeoutMs: number;
  /** Aborted when the broker stops waiting for deliveries (drain timeout). */
  readonly shutdown: AbortSignal;
}

/** POSTs the event and classifies the answer; never throws. */
export async function attemptDelivery(request: AttemptRequest): Promise<AttemptResult> {
  const { url, event, timeoutMs, shutdown } = request;
  const message = request.format === 'json' ? HTTP.structured(event) : HTTP.binary(event);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) headers[name] = String(value);
  headers.prefer = 'reply';
  headers['kn-namespace'] = request.namespace;
  // Knative carries the trace on W3C headers hop by hop; here the only context is the event's
  // own distributed-tracing extension, so the subscriber's transport span joins its trace.
  for (const name of ['traceparent', 'tracestate'] as const) {
    const value = event[name];
    if (typeof value === 'string') headers[name] = value;
  }
  const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), shutdown]);
  let status: number;
  let responseHeaders: Record<string, string>;
  let body: Buffer;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers,
      body: bodyOf(message.body),
      signal,
    });
    status = response.status;
    responseHeaders = Object.fromEntries(response.headers);
    body = await readBounded(response);
  } catch (error) {
    if (shutdown.aborted) return { kind: 'abandoned' };
    const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
    return {
      kind: 'failed',
      status: undefined,
      body: Buffer.alloc(0),
      why: timedOut ? `no answer within ${timeoutMs} ms` : transportProblem(error),
    };
  }
  if (status < 200 || status > 299)
    return { kind: 'failed', status, body, why: `the subscriber answered ${status}` };
  return classifySuccess(responseHeaders, body);
}

/** A 2xx answer: nothing, a reply event, or something that is neither (502). */
function classifySuccess(headers: Record<string, string>, body: Buffer): AttemptResult {
  if (!looksLikeCloudEvent(headers)) {
    if (body.length === 0) return { kind: 'delivered' };
    return {
      kind: 'failed',
      status: 502,
      body,
      why: 'the subscriber answered 2xx with a body that is not a CloudEvent; answer with an empty body or a CloudEvent',
    };
  }
  try {
    const reply = readCloudEvent({
      headers,
      body: body.length === 0 ? undefined : body.toString('utf8'),
    });
    return { kind: 'replied', reply };
  } catch (error) {
    return {
      kind: 'failed',
      status: 502,
      body,
      why: `the subscriber's reply is not a valid CloudEvent: ${error instanceof Error ? error.message : 'unreadable'}`,
    };
  }
}

/** Binary mode (`ce-` headers) or structured mode (its content type). */
function looksLikeCloudEvent(headers: Record<string, string>): boolean {
  return (
    'ce-specversion' in headers ||
    'ce-id' in headers ||
    (headers['content-type'] ?? '').toLowerCase().startsWith('application/cloudevents')
  );
}

function bodyOf(body: unknown): string | Uint8Array {
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  return body === undefined || body === null ? '' : JSON.stringify(body);
}

/** The answer's body, cut at the largest event the runtime accepts. */
async function readBounded(response: Response): Promise<Buffer> {
  if (!response.body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    chunks.push(chunk);
    size += chunk.length;
    // Leaving the loop cancels the stream (the iterator's return).
    if (size > MAX_BODY_BYTES) break;
  }
  return Buffer.concat(chunks);
}

function transportProblem(error: unknown): string {
  const cause =
    error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  const code = typeof cause?.code === 'string' ? ` (${cause.code})` : '';
  return `the connection failed${code}`;
}
