/** init-db's entry point: wiring only. */
import { initDbSchema } from '../../shared/config/init-db.ts';
import { instrumentPostgres } from '../../shared/db/connect.ts';
import { initialiseDatabase } from '../../shared/db/initialise.ts';
import { kubeEventRecorder } from '../../shared/k8s/events.ts';
import { functionKubeOptions } from '../../shared/k8s/observe.ts';
import { kubeSecretStore } from '../../shared/k8s/secrets.ts';
import { createEgressPolicy } from '../../shared/net/egress.ts';
import { kubeProjectStore } from '../../shared/reconcile/project-store.ts';
import { recordingTransitions } from '../../shared/reconcile/transition-events.ts';
import { defineFunction, runFunction } from '../../shared/runtime/run-function.ts';
import { handleInitDb, type InitDbDeps } from './handler.ts';

/** init-db, for its own process (below) and for the local runtime (functions/index.ts). */
export const initDb = defineFunction({
  name: 'init-db',
  schema: initDbSchema,
  setup: ({ config, telemetry, logger }) => {
    instrumentPostgres((name, exports) => {
      telemetry.instrumentModule(name, exports);
    });
    const kube = functionKubeOptions(config.functionName, telemetry.metrics);
    const events = kubeEventRecorder({ ...kube, component: config.functionName });
    const egress = createEgressPolicy(config.egress);
    const deps: InitDbDeps = {
      projects: recordingTransitions(kubeProjectStore(kube), events, logger),
      secrets: kubeSecretStore(kube),
      initialise: async (target, project) => {
        const started = performance.now();
        try {
          const result = await initialiseDatabase(target, project, {
            egress,
            applicationName: 'supabase-reconciler/init-db',
          });
          telemetry.metrics.dbCall('initialise', true, (performance.now() - started) / 1000);
          return result;
        } catch (error) {
          telemetry.metrics.dbCall('initialise', false, (performance.now() - started) / 1000);
          throw error;
        }
      },
    };
    return (event, context) => handleInitDb(event, deps, context);
  },
});

if (import.meta.main) await runFunction(initDb);
