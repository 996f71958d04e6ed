/**
 * The answering edge: a reply CloudEvent in binary mode, an empty 2xx, or an error status.
 * Errors become statuses here and only here, through errors.ts `toHttpStatus`.
 */
import { STATUS_CODES } from 'node:http';
import { HTTP, type CloudEvent } from 'cloudevents';
import type { Response } from 'express';
import type { EventOutcome } from '../telemetry/metrics-recorder.ts';
import { truncate } from './describe.ts';
import { isRetriedStatus, MalformedEventError, PermanentError, toHttpStatus } from './errors.ts';

/** Longest error body: a message that quotes its input must not grow with it. */
export const MAX_ERROR_BODY = 2048;

/** 200 with the event as `ce-*` headers and its data as the body (Knative's reply). */
export function sendReply(res: Response, event: CloudEvent<unknown>): void {
  const { headers, body } = HTTP.binary(event);
  res.status(200).set(headers as Record<string, string>);
  res.send(body);
}

/** 204 processed with nothing to say, or 202 acknowledged but not acted on. */
export function sendEmpty(res: Response, status: 202 | 204): void {
  res.status(status).end();
}

/**
 * Answers with the status the error maps to. The body is the error's message only for a
 * malformed event (the sender's mistake, which it needs to see); a permanent error adds its
 * condition reason; anything else gets the status text, because an internal message may
 * quote a dependency and the broker copies response bodies into dead-letter events.
 * @returns the status sent
 */
export function sendError(res: Response, error: unknown): number {
  const status = toHttpStatus(error);
  let body = STATUS_CODES[status] ?? 'Error';
  if (error instanceof MalformedEventError) body = truncate(error.message, MAX_ERROR_BODY);
  else if (error instanceof PermanentError) body = `${body}: ${error.reason}`;
  res.status(status).type('text/plain').send(body);
  return status;
}

/** The events-counter outcome of an error status. */
export function outcomeOfStatus(status: number): EventOutcome {
  if (status === 400) return 'malformed';
  if (status === 401) return 'unauthenticated';
  return isRetriedStatus(status) ? 'failed_retryable' : 'failed_permanent';
}
