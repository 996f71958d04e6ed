/**
 * One request to the API server as every store makes it: timed, reported to the metrics
 * observer, and its error translated at this boundary.
 */
import type { ApiCallObserver } from './custom-objects.ts';
import { apiStatusCode, translateApiError } from './errors.ts';

/** What a request is, for metrics and for the error message. */
export interface ApiCallSpec {
  readonly verb: 'get' | 'list' | 'update' | 'patch' | 'create' | 'delete';
  /** The resource's plural, e.g. `secrets` (a metrics label). */
  readonly resource: string;
  /** What was attempted, e.g. `get Secret team-a/demo-db` (the start of an error message). */
  readonly action: string;
  readonly observe?: ApiCallObserver | undefined;
}

/**
 * Runs one request. With `absentOn404`, a 404 resolves to undefined (the object does not
 * exist: usually "already gone, succeed"); otherwise it is an error like any other.
 * @throws ReconcilerError translated from the client's error
 */
export async function apiCall<R>(
  spec: ApiCallSpec & { readonly absentOn404: true },
  request: () => Promise<R>,
): Promise<R | undefined>;
export async function apiCall<R>(spec: ApiCallSpec, request: () => Promise<R>): Promise<R>;
export async function apiCall<R>(
  spec: ApiCallSpec & { readonly absentOn404?: boolean },
  request: () => Promise<R>,
): Promise<R | undefined> {
  const started = performance.now();
  let code: number | 'error' = 200;
  try {
    return await request();
  } catch (error) {
    code = apiStatusCode(error) ?? 'error';
    if (code === 404 && spec.absentOn404) return undefined;
    throw translateApiError(error, spec.action);
  } finally {
    spec.observe?.({
      verb: spec.verb,
      resource: spec.resource,
      code,
      seconds: (performance.now() - started) / 1000,
    });
  }
}
