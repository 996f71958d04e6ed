/** The health-aggregate function's entry point: wiring only. */
import { kubeDeploymentLister } from '../../shared/k8s/deployments.ts';
import { kubeEventRecorder } from '../../shared/k8s/events.ts';
import { functionKubeOptions } from '../../shared/k8s/observe.ts';
import { kubeProjectStore } from '../../shared/reconcile/project-store.ts';
import { recordingTransitions } from '../../shared/reconcile/transition-events.ts';
import { defineFunction, runFunction } from '../../shared/runtime/run-function.ts';
import { createHealthAggregateHandler } from './handler.ts';

/** health-aggregate, for its own process (below) and for the local runtime (functions/index.ts). */
export const healthAggregate = defineFunction({
  name: 'health-aggregate',
  setup: ({ config, telemetry, logger }) => {
    const kube = functionKubeOptions(config.functionName, telemetry.metrics);
    const events = kubeEventRecorder({ ...kube, component: config.functionName });
    return createHealthAggregateHandler({
      projects: recordingTransitions(kubeProjectStore(kube), events, logger),
      deployments: kubeDeploymentLister(kube),
      clock: () => new Date(),
    });
  },
});

if (import.meta.main) await runFunction(healthAggregate);
