/** The deploy-components function's entry point: wiring only. */
import { COMPONENT_APPLY_ORDER, COMPONENT_BUILDERS } from '../../shared/components/index.ts';
import { kubeObjectApplier } from '../../shared/k8s/apply.ts';
import { kubeEventRecorder } from '../../shared/k8s/events.ts';
import { functionKubeOptions } from '../../shared/k8s/observe.ts';
import { kubeSecretStore } from '../../shared/k8s/secrets.ts';
import { kubeProjectStore } from '../../shared/reconcile/project-store.ts';
import { recordingTransitions } from '../../shared/reconcile/transition-events.ts';
import { defineFunction, runFunction } from '../../shared/runtime/run-function.ts';
import { createDeployComponentsHandler } from './handler.ts';

/** deploy-components, for its own process (below) and for the local runtime (functions/index.ts). */
export const deployComponents = defineFunction({
  name: 'deploy-components',
  setup: ({ config, telemetry, logger }) => {
    const kube = functionKubeOptions(config.functionName, telemetry.metrics);
    const events = kubeEventRecorder({ ...kube, component: config.functionName });
    return createDeployComponentsHandler({
      projects: recordingTransitions(kubeProjectStore(kube), events, logger),
      secrets: kubeSecretStore(kube),
      objects: kubeObjectApplier(kube),
      events,
      builders: COMPONENT_BUILDERS,
      order: COMPONENT_APPLY_ORDER,
      clock: () => new Date(),
      functionName: config.functionName,
    });
  },
});

if (import.meta.main) await runFunction(deployComponents);
