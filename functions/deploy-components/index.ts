/** The deploy-components function's entry point: wiring only. */
import { COMPONENT_APPLY_ORDER, COMPONENT_BUILDERS } from '../../shared/components/index.ts';
import { kubeObjectApplier } from '../../shared/k8s/apply.ts';
import { kubeEventRecorder } from '../../shared/k8s/events.ts';
import { observeApiCalls } from '../../shared/k8s/observe.ts';
import { kubeSecretStore } from '../../shared/k8s/secrets.ts';
import { kubeProjectStore } from '../../shared/reconcile/project-store.ts';
import { recordingTransitions } from '../../shared/reconcile/transition-events.ts';
import { defineFunction, runFunction } from '../../shared/runtime/run-function.ts';
import { createDeployComponentsHandler } from './handler.ts';

/** deploy-components, for its own process (below) and for the local runtime (functions/index.ts). */
export const deployComponents = defineFunction({
  name: 'deploy-components',
  setup: ({ config, telemetry, logger }) => {
    const observe = observeApiCalls(telemetry.metrics);
    const events = kubeEventRecorder({ observe, component: config.functionName });
    return createDeployComponentsHandler({
      projects: recordingTransitions(kubeProjectStore({ observe }), events, logger),
      secrets: kubeSecretStore({ observe }),
      objects: kubeObjectApplier({ observe }),
      events,
      builders: COMPONENT_BUILDERS,
      order: COMPONENT_APPLY_ORDER,
      clock: () => new Date(),
      functionName: config.functionName,
    });
  },
});

if (import.meta.main) await runFunction(deployComponents);
