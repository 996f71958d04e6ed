/** resync's entry point: wiring only (config, the project lister, the sink emitter, HTTP). */
import { resyncSchema } from '../../shared/config/resync.ts';
import { sinkEmitter } from '../../shared/events/emit.ts';
import { functionKubeOptions } from '../../shared/k8s/observe.ts';
import { kubeProjectStore } from '../../shared/reconcile/project-store.ts';
import { defineFunction, runFunction } from '../../shared/runtime/run-function.ts';
import { createResyncHandler } from './handler.ts';

/** resync, for its own process (below) and for the local runtime (functions/index.ts). */
export const resync = defineFunction({
  name: 'resync',
  // K_SINK is required: without a sink the function could only fail, so it does not start.
  schema: resyncSchema,
  setup: ({ config, telemetry }) =>
    createResyncHandler({
      name: config.functionName,
      projects: kubeProjectStore(functionKubeOptions(config.functionName, telemetry.metrics)),
      emit: sinkEmitter({ ...config.sink, tracer: telemetry.tracer }),
      now: () => new Date(),
      policy: {
        maxAgeSeconds: config.resync.maxAgeSeconds,
        failedRetrySeconds: config.resync.failedRetrySeconds,
      },
      concurrency: config.resync.concurrency,
      namespaces: config.resync.namespaces,
    }),
});

if (import.meta.main) await runFunction(resync);
