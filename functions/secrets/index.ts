/** The secrets function's entry point: wiring only. */
import { apiKeyPolicyOf, secretsSchema } from '../../shared/config/secrets.ts';
import { kubeEventRecorder } from '../../shared/k8s/events.ts';
import { functionKubeOptions } from '../../shared/k8s/observe.ts';
import { kubeSecretStore } from '../../shared/k8s/secrets.ts';
import { kubeProjectStore } from '../../shared/reconcile/project-store.ts';
import { recordingTransitions } from '../../shared/reconcile/transition-events.ts';
import { defineFunction, runFunction } from '../../shared/runtime/run-function.ts';
import { cryptoKeyGenerator } from '../../shared/secrets/generate.ts';
import { createSecretsHandler } from './handler.ts';

/** secrets, for its own process (below) and for the local runtime (functions/index.ts). */
export const secrets = defineFunction({
  name: 'secrets',
  schema: secretsSchema,
  setup: ({ config, telemetry, logger }) => {
    const kube = functionKubeOptions(config.functionName, telemetry.metrics);
    const events = kubeEventRecorder({ ...kube, component: config.functionName });
    return createSecretsHandler({
      projects: recordingTransitions(kubeProjectStore(kube), events, logger),
      secrets: kubeSecretStore(kube),
      generator: cryptoKeyGenerator,
      clock: () => new Date(),
      policy: apiKeyPolicyOf(config.secrets),
      events,
      functionName: config.functionName,
    });
  },
});

if (import.meta.main) await runFunction(secrets);
