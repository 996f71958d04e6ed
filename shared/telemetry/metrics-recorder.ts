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
}

/** A recorder that records nothing (tests, or a layer used outside a function). */
export const noMetrics: MetricsRecorder = Object.freeze({
  event: () => undefined,
  apiCall: () => undefined,
  dbCall: () => undefined,
});
