/** dead-letter's entry point: wiring only (the project store, HTTP). */
import { observeApiCalls } from '../../shared/k8s/observe.ts';
import { kubeProjectStore } from '../../shared/reconcile/project-store.ts';
import { runFunction } from '../../shared/runtime/run-function.ts';
import { createDeadLetterHandler } from './handler.ts';

await runFunction({
  // A dead letter this sink refuses is lost for good: unreadable requests are answered 202
  // (counted and logged as malformed), not 400.
  acknowledgeMalformed: true,
  setup: ({ telemetry }) =>
    createDeadLetterHandler({
      projects: kubeProjectStore({ observe: observeApiCalls(telemetry.metrics) }),
      now: () => new Date(),
    }),
});
