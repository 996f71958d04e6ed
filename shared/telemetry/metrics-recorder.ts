/**
 * What handlers and the Kubernetes and PostgreSQL layers record, as a plain interface: those
 * layers call it without importing OpenTelemetry, and tests pass a fake.
 */

/**
 * How one received event ended (the `outcome` label of the events counter).
 *
 * - `processed`: the phase ran (with or without a reply);
 * - `dropped_stale`: a newer generation or another uid made the event irrelevant (rule 2);
 * - `dropped_own_write`: the update came from our own status write (rule 3);
 * - `failed_permanent`: delivering again cannot help (reported as a condition, or 4xx);
 * - `failed_retryable`: answered with a status the broker retries;
 * - `malformed`: not a CloudEvent this function can read (400);
 * - `unauthenticated`: refused before it was read: no valid token of an allowed sender (401).
 */
export type EventOutcome =
  | 'processed'
  | 'dropped_stale'
  | 'dropped_own_write'
  | 'failed_permanent'
  | 'failed_retryable'
  | 'malformed'
  | 'unauthenticated';

/** Every outcome, for tests and dashboards. */
export const EVENT_OUTCOMES: readonly EventOutcome[] = [
  'processed',
  'dropped_stale',
  'dropped_own_write',
  'failed_permanent',
  'failed_retryable',
  'malformed',
  'unauthenticated',
];

/**
 * What resync did with one project: `emitted` a reconcile request, `skipped` it (converged, or
 * failed too recently to retry), or `failed` to post the request.
 */
export type ResyncOutcome = 'emitted' | 'skipped' | 'failed';

/**
 * What the dead-letter sink did with one dead letter: `recorded` it on the project, dropped it
 * as `stale` (project gone, recreated or at a newer generation), acknowledged it without a
 * project because it was `malformed` (missing or invalid extensions, unreadable) or `foreign`
 * (about no SupabaseProject), or `failed` to record it because the API server refused the
 * write for good (RBAC); a write that may succeed later is retried, not counted here.
 */
export type DeadLetterOutcome = 'recorded' | 'stale' | 'malformed' | 'foreign' | 'failed';

/** Records the metrics of one function process. Every method is cheap and never throws. */
export interface MetricsRecorder {
  /**
   * One received event and how it ended; also feeds controller-runtime's reconcile metrics.
   * @param type - the CloudEvent type (`unknown` when the event could not be read)
   * @param outcome - how it ended
   * @param seconds - time from receipt to answer
   */
  event(type: string, outcome: EventOutcome, seconds: number): void;
  /**
   * One Kubernetes API request (client-go's rest_client_* metrics).
   * @param verb - HTTP method or Kubernetes verb, e.g. `GET`, `PATCH`
   * @param code - the HTTP status, or `undefined` when no response arrived
   * @param seconds - request latency
   */
  apiCall(verb: string, code: number | undefined, seconds: number): void;
  /**
   * One PostgreSQL statement or transaction.
   * @param operation - a low-cardinality name such as `SELECT` or `migrate`, never the SQL text
   * @param ok - whether it succeeded
   * @param seconds - its duration
   */
  dbCall(operation: string, ok: boolean, seconds: number): void;
  /**
   * Projects one resync tick handled.
   * @param outcome - what was done with them
   * @param count - how many (a tick records each outcome once)
   */
  resyncProjects(outcome: ResyncOutcome, count: number): void;
  /**
   * One dead letter.
   * @param outcome - what was done with it
   * @param failedFunction - the function that gave up: one of the reconciler's function names
   *   or `unknown`, never a value read unchecked from the event (label values stay bounded)
   */
  deadLetter(outcome: DeadLetterOutcome, failedFunction: string): void;
}

/** A recorder that records nothing (tests, or a layer used outside a function). */
export const noMetrics: MetricsRecorder = Object.freeze({
  event: () => undefined,
  apiCall: () => undefined,
  dbCall: () => undefined,
  resyncProjects: () => undefined,
  deadLetter: () => undefined,
});
