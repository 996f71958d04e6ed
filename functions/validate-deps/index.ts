/** validate-deps' entry point: wiring only (config, clients, probes, HTTP). */
import { validateDepsSchema } from '../../shared/config/validate-deps.ts';
import { instrumentPostgres, probeDatabase } from '../../shared/db/connect.ts';
import { kubeEventRecorder } from '../../shared/k8s/events.ts';
import { functionKubeOptions } from '../../shared/k8s/observe.ts';
import { kubeSecretStore } from '../../shared/k8s/secrets.ts';
import { createEgressPolicy } from '../../shared/net/egress.ts';
import { kubeProjectStore } from '../../shared/reconcile/index.ts';
import { recordingTransitions } from '../../shared/reconcile/transition-events.ts';
import { defineFunction, runFunction } from '../../shared/runtime/run-function.ts';
import { probeBucket } from '../../shared/s3/probe.ts';
import { createValidateDepsHandler } from './handler.ts';

/** validate-deps, for its own process (below) and for the local runtime (functions/index.ts). */
export const validateDeps = defineFunction({
  name: 'validate-deps',
  schema: validateDepsSchema,
  setup: ({ config, telemetry, logger }) => {
    instrumentPostgres((name, exports) => {
      telemetry.instrumentModule(name, exports);
    });
    // Kubernetes clients load on the first event (KubeConfig.loadFromDefault: in-cluster
    // service account, or KUBECONFIG locally).
    const kube = functionKubeOptions(config.functionName, telemetry.metrics);
    const events = kubeEventRecorder({ ...kube, component: config.functionName });
    const egress = createEgressPolicy(config.egress);
    return createValidateDepsHandler({
      name: config.functionName,
      projects: recordingTransitions(kubeProjectStore(kube), events, logger),
      secrets: kubeSecretStore(kube),
      probeDatabase: (target, options) =>
        probeDatabase(target, { ...options, egress, applicationName: config.functionName }),
      probeBucket: (target, options) => probeBucket(target, { ...options, egress }),
      events,
      now: () => new Date(),
      timeouts: { postgresMs: config.probes.postgresTimeoutMs, s3Ms: config.probes.s3TimeoutMs },
    });
  },
});

if (import.meta.main) await runFunction(validateDeps);
