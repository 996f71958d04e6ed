/** finalize's entry point: wiring only. */
import { finalizeSchema } from '../../shared/config/finalize.ts';
import { instrumentPostgres } from '../../shared/db/connect.ts';
import { teardownDatabase } from '../../shared/db/teardown.ts';
import { kubeEventRecorder } from '../../shared/k8s/events.ts';
import { functionKubeOptions } from '../../shared/k8s/observe.ts';
import { kubeSecretStore } from '../../shared/k8s/secrets.ts';
import { createEgressPolicy } from '../../shared/net/egress.ts';
import { kubeProjectStore } from '../../shared/reconcile/project-store.ts';
import { recordingTransitions } from '../../shared/reconcile/transition-events.ts';
import { defineFunction, runFunction } from '../../shared/runtime/run-function.ts';
import { handleFinalize, type FinalizeDeps } from './handler.ts';

/** finalize, for its own process (below) and for the local runtime (functions/index.ts). */
export const finalize = defineFunction({
  name: 'finalize',
  schema: finalizeSchema,
  setup: ({ config, telemetry, logger }) => {
    instrumentPostgres((name, exports) => {
      telemetry.instrumentModule(name, exports);
    });
    const kube = functionKubeOptions(config.functionName, telemetry.metrics);
    const events = kubeEventRecorder({ ...kube, component: config.functionName });
    const egress = createEgressPolicy(config.egress);
    const deps: FinalizeDeps = {
      projects: recordingTransitions(kubeProjectStore(kube), events, logger),
      secrets: kubeSecretStore(kube),
      events,
      teardown: async (target, project, policy) => {
        const started = performance.now();
        try {
          const report = await teardownDatabase(target, project, policy, {
            egress,
            applicationName: 'supabase-reconciler/finalize',
          });
          telemetry.metrics.dbCall('teardown', true, (performance.now() - started) / 1000);
          return report;
        } catch (error) {
          telemetry.metrics.dbCall('teardown', false, (performance.now() - started) / 1000);
          throw error;
        }
      },
    };
    return (event, context) => handleFinalize(event, deps, context);
  },
});

if (import.meta.main) await runFunction(finalize);
