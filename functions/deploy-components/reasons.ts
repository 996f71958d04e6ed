/**
 * Condition reasons deploy-components writes, in one place (besides the Secret reasons of
 * shared/reconcile/referenced-secret.ts and the API server's, Forbidden and Invalid, that
 * shared/k8s/errors.ts gives).
 */
export const DEPLOY_COMPONENTS_REASON = {
  /** NetworkReady=True: every enabled component's Service exists with its ports. */
  ServicesReady: 'ServicesReady',
  /** NetworkReady=False: a Service came back without a port it was applied with. */
  ServicePortsMissing: 'ServicePortsMissing',
  /** Progressing=True: every object applied; Deployments roll out, health decides Ready. */
  ComponentsApplied: 'ComponentsApplied',
  /** Another field manager applies fields of one of our objects: never forced. */
  FieldManagerConflict: 'FieldManagerConflict',
} as const;

/** Reason of the Warning Event when fields changed imperatively were set back. */
export const DRIFT_REVERTED_EVENT_REASON = 'DriftReverted';
