/**
 * Translates what the Kubernetes client throws into the reconciler's error kinds
 * (shared/runtime/errors.ts), at this boundary, so no raw API status code travels further.
 */
import {
  ConflictError,
  PermanentError,
  RateLimitedError,
  ReconcilerError,
  TransientError,
} from '../runtime/errors.ts';
import { REASON } from '../api/reasons.ts';

/** The parts of a client-node ApiException this module reads (it is not imported here). */
interface ApiExceptionLike {
  readonly code: number;
  readonly body: unknown;
}

function isApiException(error: unknown): error is ApiExceptionLike & Error {
  return (
    error instanceof Error &&
    typeof (error as Partial<ApiExceptionLike>).code === 'number' &&
    'body' in error
  );
}

/**
 * The HTTP status of an API server error, or undefined for anything else (a network error).
 * @param error - anything the client threw
 */
export function apiStatusCode(error: unknown): number | undefined {
  return isApiException(error) ? error.code : undefined;
}

/**
 * The API server's own explanation (`Status.message`), never the raw body or headers: a
 * request's body can hold data that must not be repeated (a Secret being written).
 */
function statusMessage(error: ApiExceptionLike): string {
  let body = error.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body) as unknown;
    } catch {
      return `HTTP ${error.code}`;
    }
  }
  const message = (body as { message?: unknown } | null)?.message;
  return typeof message === 'string' && message.length > 0 ? message : `HTTP ${error.code}`;
}

/**
 * Maps a client error to a ReconcilerError. 404 is not mapped here: callers decide whether
 * "not found" means "already gone, succeed" (the usual case) or a problem.
 * @param error - anything the client threw
 * @param action - what was attempted, e.g. `get SupabaseProject team-a/demo`
 * @returns the translated error (the original is kept as `cause`)
 */
export function translateApiError(error: unknown, action: string): ReconcilerError {
  if (error instanceof ReconcilerError) return error;
  if (!isApiException(error)) {
    // Connection refused, reset, DNS, TLS, timeouts: the API server may be back soon.
    return new TransientError(`${action}: the Kubernetes API server could not be reached`, {
      cause: error,
    });
  }
  const message = `${action}: ${statusMessage(error)}`;
  switch (true) {
    case error.code === 409:
      return new ConflictError(message, { cause: error });
    case error.code === 429:
      return new RateLimitedError(message, { cause: error });
    case error.code === 401:
      return new PermanentError(REASON.Unauthorized, message, { cause: error });
    case error.code === 403:
      return new PermanentError(REASON.Forbidden, message, { cause: error });
    case error.code === 400 || error.code === 422:
      return new PermanentError(REASON.Invalid, message, { cause: error });
    case error.code >= 500 || error.code === 408:
      return new TransientError(message, { cause: error });
    default:
      return new PermanentError(REASON.ApiError, message, { cause: error });
  }
}
