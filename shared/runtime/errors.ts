/**
 * The error kinds of the reconciler and the one place that maps them to HTTP status codes,
 * following the Knative Eventing data-plane rules for what a broker retries
 * (knative/specs specs/eventing/data-plane.md; eventing's SelectiveRetry retries transport
 * errors, 5xx, 404, 408, 409 and 429, and nothing else):
 *
 * | error                 | status | broker                                   |
 * | --------------------- | ------ | ---------------------------------------- |
 * | MalformedEventError   | 400    | not retried                              |
 * | UnauthenticatedError  | 401    | not retried (the sender is not the Broker) |
 * | PermanentError        | 422    | not retried; goes to the dead-letter sink |
 * | ConflictError         | 409    | retried with backoff                     |
 * | RateLimitedError      | 429    | retried with backoff                     |
 * | TransientError        | 503    | retried with backoff                     |
 * | anything else         | 500    | retried with backoff                     |
 *
 * Messages of these errors may be shown to a user (in a condition or a 400 response body) and
 * so must never contain a secret value. Lower layers translate their own errors (an API
 * server status, a SQLSTATE, a socket error) into these kinds at the shared boundary, so no
 * raw `code` ever reaches a layer that could mistake it for an HTTP status.
 */

import type { Reason } from '../api/reasons.ts';

/** Base class: an error whose kind decides the delivery semantics. */
export abstract class ReconcilerError extends Error {
  /** HTTP status the function answers with when this error ends the request. */
  abstract readonly status: number;
  /** Whether the broker will deliver the event again. */
  abstract readonly retried: boolean;
}

/**
 * The request is not a valid CloudEvent, or not one this function understands. The message
 * says precisely what is wrong and is sent back in the 400 response.
 */
export class MalformedEventError extends ReconcilerError {
  override readonly name = 'MalformedEventError';
  readonly status = 400;
  readonly retried = false;
}

/**
 * The request does not carry a valid token of an allowed sender (Knative Eventing's OIDC
 * authentication of deliveries). The body says only that; why a token failed is logged.
 */
export class UnauthenticatedError extends ReconcilerError {
  override readonly name = 'UnauthenticatedError';
  readonly status = 401;
  readonly retried = false;
}

/**
 * A problem that delivering the event again cannot fix (invalid spec, missing Secret key,
 * authentication refused). Phases normally report these as a condition and answer 2xx;
 * one that escapes a handler ends the request with 422, which is not retried.
 * `reason` is a CamelCase condition reason.
 */
export class PermanentError extends ReconcilerError {
  override readonly name = 'PermanentError';
  readonly status = 422;
  readonly retried = false;
  /** CamelCase condition reason, e.g. `SecretKeyMissing` (shared/api/reasons.ts). */
  readonly reason: Reason;
  constructor(reason: Reason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/** A lost optimistic-concurrency race (resourceVersion, 409 from the API server). */
export class ConflictError extends ReconcilerError {
  override readonly name = 'ConflictError';
  readonly status = 409;
  readonly retried = true;
}

/** A dependency asked us to slow down (429 from the API server or S3). */
export class RateLimitedError extends ReconcilerError {
  override readonly name = 'RateLimitedError';
  readonly status = 429;
  readonly retried = true;
}

/** A problem that may go away by itself: timeout, connection refused, a 5xx upstream. */
export class TransientError extends ReconcilerError {
  override readonly name = 'TransientError';
  readonly status = 503;
  readonly retried = true;
}

/**
 * The HTTP status for an error that ended a request. Unknown errors are 500 (retried): a
 * bug or an unforeseen failure must not silently drop an event.
 * @param error - anything thrown
 * @returns the status code to answer with
 */
export function toHttpStatus(error: unknown): number {
  return error instanceof ReconcilerError ? error.status : 500;
}

/**
 * Whether the broker retries an answer with this status (Knative SelectiveRetry).
 * @param status - an HTTP status code
 */
export function isRetriedStatus(status: number): boolean {
  return status >= 500 || status === 404 || status === 408 || status === 409 || status === 429;
}
