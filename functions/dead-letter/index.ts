/** dead-letter's entry point: wiring only (the project store, HTTP). */
import { kubeEventRecorder } from '../../shared/k8s/events.ts';
import { functionKubeOptions } from '../../shared/k8s/observe.ts';
import { kubeProjectStore } from '../../shared/reconcile/project-store.ts';
import { recordingTransitions } from '../../shared/reconcile/transition-events.ts';
import { defineFunction, runFunction } from '../../shared/runtime/run-function.ts';
import { createDeadLetterHandler } from './handler.ts';

/** dead-letter, for its own process (below) and for the local runtime (functions/index.ts). */
export const deadLetter = defineFunction({
  name: 'dead-letter',
  // A dead letter this sink refuses is lost for good: unreadable requests are answered 202
  // (counted and logged as malformed), not 400.
  acknowledgeMalformed: true,
  setup: ({ config, telemetry, logger }) => {
    const kube = functionKubeOptions(config.functionName, telemetry.metrics);
    const events = kubeEventRecorder({ ...kube, component: config.functionName });
    return createDeadLetterHandler({
      // RetriesExhausted is a transition of Progressing: a Warning Event on the project too.
      projects: recordingTransitions(kubeProjectStore(kube), events, logger),
      now: () => new Date(),
    });
  },
});

if (import.meta.main) await runFunction(deadLetter);
