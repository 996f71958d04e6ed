/**
 * Connects the Kubernetes stores' call observer to a function's metrics, so every store
 * reports rest_client_* metrics the same way without importing OpenTelemetry; and names the
 * function in its requests' User-Agent.
 */
import type { MetricsRecorder } from '../telemetry/metrics-recorder.ts';
import { functionUserAgent } from './client.ts';
import type { ApiCallObserver, KubeStoreOptions } from './custom-objects.ts';

/** An ApiCallObserver that records each call in `metrics`. */
export function observeApiCalls(metrics: MetricsRecorder): ApiCallObserver {
  return (call) => {
    metrics.apiCall(call.verb, call.code === 'error' ? undefined : call.code, call.seconds);
  };
}

/**
 * The options of one function's Kubernetes stores: its requests carry the User-Agent
 * `supabase-reconciler/<function>` (the API server's audit log names the function) and are
 * recorded in its metrics.
 * @param functionName - the function's name
 * @param metrics - the function's metrics
 */
export function functionKubeOptions(
  functionName: string,
  metrics: MetricsRecorder,
): KubeStoreOptions {
  return { observe: observeApiCalls(metrics), userAgent: functionUserAgent(functionName) };
}
