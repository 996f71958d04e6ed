/**
 * Connects the Kubernetes stores' call observer to a function's metrics, so every store
 * reports rest_client_* metrics the same way without importing OpenTelemetry.
 */
import type { MetricsRecorder } from '../telemetry/metrics-recorder.ts';
import type { ApiCallObserver } from './custom-objects.ts';

/** An ApiCallObserver that records each call in `metrics`. */
export function observeApiCalls(metrics: MetricsRecorder): ApiCallObserver {
  return (call) => {
    metrics.apiCall(call.verb, call.code === 'error' ? undefined : call.code, call.seconds);
  };
}
