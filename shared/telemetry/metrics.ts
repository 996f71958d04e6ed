/**
 * The OpenTelemetry instruments behind `MetricsRecorder`. Names follow controller-runtime
 * and client-go where those define one, so dashboards written for Kubernetes controllers
 * work unchanged; the rest follow the same `<subsystem>_<noun>_<unit|total>` shape.
 */
import type { Meter } from '@opentelemetry/api';
import type { EventOutcome, MetricsRecorder } from './metrics-recorder.ts';

/** Metric names, in one place (tests and dashboards refer to them). */
export const METRIC_NAMES = Object.freeze({
  events: 'supabase_reconciler_events_total',
  reconcileTotal: 'controller_runtime_reconcile_total',
  reconcileErrors: 'controller_runtime_reconcile_errors_total',
  terminalReconcileErrors: 'controller_runtime_terminal_reconcile_errors_total',
  reconcileTime: 'controller_runtime_reconcile_time_seconds',
  apiRequests: 'rest_client_requests_total',
  apiRequestDuration: 'rest_client_request_duration_seconds',
  dbOperations: 'db_client_operations_total',
  dbOperationDuration: 'db_client_operation_duration_seconds',
  resyncProjects: 'supabase_reconciler_resync_projects_total',
  deadLetters: 'supabase_reconciler_dead_letters_total',
});

// controller-runtime's reconcile_time_seconds buckets, thinned: phases take milliseconds
// (a dropped event) to a minute (waiting on a migration).
const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10, 20, 30, 60,
];
// client-go's rest_client_request_duration_seconds buckets.
const API_BUCKETS = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60];
const DB_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** controller-runtime's `result` label for an outcome. */
function reconcileResult(outcome: EventOutcome): 'success' | 'error' {
  return outcome === 'processed' || outcome === 'dropped_stale' || outcome === 'dropped_own_write'
    ? 'success'
    : 'error';
}

/**
 * Creates the recorder for one function.
 * @param meter - the meter of the function's MeterProvider
 * @param controller - the function name (controller-runtime's `controller` label)
 */
export function createMetricsRecorder(meter: Meter, controller: string): MetricsRecorder {
  const events = meter.createCounter(METRIC_NAMES.events, {
    description: 'CloudEvents received, by type and outcome',
  });
  const reconcileTotal = meter.createCounter(METRIC_NAMES.reconcileTotal, {
    description: 'Total number of reconciliations per controller',
  });
  const reconcileErrors = meter.createCounter(METRIC_NAMES.reconcileErrors, {
    description: 'Total number of reconciliation errors per controller',
  });
  const terminalErrors = meter.createCounter(METRIC_NAMES.terminalReconcileErrors, {
    description: 'Total number of terminal (not retried) reconciliation errors per controller',
  });
  const reconcileTime = meter.createHistogram(METRIC_NAMES.reconcileTime, {
    description: 'Length of time per reconciliation (one phase) per controller',
    unit: 's',
    advice: { explicitBucketBoundaries: RECONCILE_BUCKETS },
  });
  const apiRequests = meter.createCounter(METRIC_NAMES.apiRequests, {
    description: 'Number of Kubernetes API requests, partitioned by status code and method',
  });
  const apiDuration = meter.createHistogram(METRIC_NAMES.apiRequestDuration, {
    description: 'Kubernetes API request latency in seconds, broken down by verb',
    unit: 's',
    advice: { explicitBucketBoundaries: API_BUCKETS },
  });
  const dbOperations = meter.createCounter(METRIC_NAMES.dbOperations, {
    description: 'PostgreSQL operations, by operation and result',
  });
  const dbDuration = meter.createHistogram(METRIC_NAMES.dbOperationDuration, {
    description: 'PostgreSQL operation duration in seconds, by operation',
    unit: 's',
    advice: { explicitBucketBoundaries: DB_BUCKETS },
  });
  const resyncProjects = meter.createCounter(METRIC_NAMES.resyncProjects, {
    description: 'Projects a resync tick handled, by outcome (emitted, skipped, failed)',
  });
  const deadLetters = meter.createCounter(METRIC_NAMES.deadLetters, {
    description: 'Dead letters received, by outcome and the function that gave up',
  });

  return {
    event(type, outcome, seconds) {
      events.add(1, { controller, type, outcome });
      const result = reconcileResult(outcome);
      reconcileTotal.add(1, { controller, result });
      if (result === 'error') reconcileErrors.add(1, { controller });
      if (
        outcome === 'failed_permanent' ||
        outcome === 'malformed' ||
        outcome === 'unauthenticated'
      )
        terminalErrors.add(1, { controller });
      reconcileTime.record(seconds, { controller });
    },
    apiCall(verb, code, seconds) {
      // client-go labels a request that got no response with code "<error>".
      apiRequests.add(1, { code: code === undefined ? '<error>' : String(code), method: verb });
      apiDuration.record(seconds, { verb });
    },
    dbCall(operation, ok, seconds) {
      dbOperations.add(1, { operation, result: ok ? 'success' : 'error' });
      dbDuration.record(seconds, { operation });
    },
    resyncProjects(outcome, count) {
      // Zero is recorded too, so every outcome's series exists from the first tick.
      resyncProjects.add(count, { controller, outcome });
    },
    deadLetter(outcome, failedFunction) {
      deadLetters.add(1, { controller, outcome, function: failedFunction });
    },
  };
}
