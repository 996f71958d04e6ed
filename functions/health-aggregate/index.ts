/** The health-aggregate function's entry point: wiring only. */
import { kubeDeploymentLister } from '../../shared/k8s/deployments.ts';
import { observeApiCalls } from '../../shared/k8s/observe.ts';
import { kubeProjectStore } from '../../shared/reconcile/project-store.ts';
import { runFunction } from '../../shared/runtime/run-function.ts';
import { createHealthAggregateHandler } from './handler.ts';

await runFunction({
  setup: ({ telemetry }) => {
    const observe = observeApiCalls(telemetry.metrics);
    return createHealthAggregateHandler({
      projects: kubeProjectStore({ observe }),
      deployments: kubeDeploymentLister({ observe }),
      clock: () => new Date(),
    });
  },
});
