/**
 * One component's health from its Deployment, decided the way `kubectl rollout status` does
 * (the controller saw the latest generation; updated, ready, available and all replicas equal
 * the spec's), plus whether a not-ready component is degraded: it was ready before, or the
 * deployment controller gave up on its rollout (ProgressDeadlineExceeded). Pure: the same
 * Deployment and previous condition give the same answer, word for word.
 */
import { COMPONENT_DISPLAY_NAMES, type ComponentName } from '../../shared/api/components.ts';
import { componentResourceName } from '../../shared/api/resource-names.ts';
import type { ComponentStatus } from '../../shared/api/types.ts';
import { COMPONENT_IDENTITIES } from '../../shared/components/component.ts';
import type { DeploymentCondition, DeploymentState } from '../../shared/k8s/deployments.ts';
import { truncate } from '../../shared/runtime/describe.ts';
import type { StoredCondition } from '../../shared/status/conditions.ts';
import { REASON, type Reason } from '../../shared/api/reasons.ts';

/** What health-aggregate concludes about one enabled component. */
export interface ComponentHealth {
  readonly component: ComponentName;
  readonly ready: boolean;
  /** Not ready although it was, or its rollout exceeded its deadline. */
  readonly degraded: boolean;
  /** The reason of its `<Component>Ready` condition. */
  readonly reason: Reason;
  /** Why it is (not) ready, for its condition and `status.components.<name>.message`. */
  readonly message: string;
  /** Its entry in `status.components`. */
  readonly status: ComponentStatus;
}

/**
 * Reasons of a `<Component>Ready=False` that mean "was ready, is not": they keep the component
 * degraded until it is ready again (the condition is the only memory a stateless function has).
 */
const STILL_DEGRADED: ReadonlySet<string> = new Set<string>([
  REASON.PodsUnavailable,
  REASON.DeploymentLost,
]);

/**
 * Whether a component was ready (or degraded since it stopped being ready) when the status
 * was last written.
 * @param previous - its `<Component>Ready` condition as stored
 */
export function wasReady(previous: StoredCondition | undefined): boolean {
  return (
    previous?.status === 'True' ||
    (previous?.status === 'False' && STILL_DEGRADED.has(previous.reason))
  );
}

/** A Deployment condition's message can be long; messages quote it bounded. */
const CONDITION_MESSAGE_LIMIT = 300;

/** The Deployment's conditions that say something is wrong, as `Type=Status (Reason): text`. */
function problems(conditions: readonly DeploymentCondition[]): string[] {
  return conditions
    .filter((c) => (c.type === 'ReplicaFailure' ? c.status === 'True' : c.status !== 'True'))
    .map(
      (c) =>
        `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}${
          c.message ? `: ${truncate(c.message, CONDITION_MESSAGE_LIMIT)}` : ''
        }`,
    );
}

function isDeadlineExceeded(deployment: DeploymentState): boolean {
  return deployment.conditions.some(
    (c) =>
      c.type === 'Progressing' &&
      c.status === 'False' &&
      c.reason === REASON.ProgressDeadlineExceeded,
  );
}

/**
 * Assesses one enabled component.
 * @param component - the component
 * @param projectName - the project's name (its Deployment is `<project>-<component>`)
 * @param deployment - its Deployment, owned by the project, if one exists
 * @param previous - its `<Component>Ready` condition as stored, if any
 */
export function assessComponent(
  component: ComponentName,
  projectName: string,
  deployment: DeploymentState | undefined,
  previous: StoredCondition | undefined,
): ComponentHealth {
  const name = componentResourceName(projectName, component);
  const notReady = (reason: Reason, message: string, status: ComponentStatus) => ({
    component,
    ready: false,
    degraded:
      reason === REASON.PodsUnavailable ||
      reason === REASON.DeploymentLost ||
      reason === REASON.ProgressDeadlineExceeded,
    reason,
    message,
    status: { ...status, ready: false, message },
  });

  if (!deployment) {
    return wasReady(previous)
      ? notReady(
          REASON.DeploymentLost,
          `Deployment ${name} was deleted; the next reconciliation applies it again`,
          { enabled: true },
        )
      : notReady(REASON.DeploymentMissing, `Deployment ${name} does not exist yet`, {
          enabled: true,
        });
  }

  const d = deployment;
  const want = d.desiredReplicas;
  const image = d.images[COMPONENT_IDENTITIES[component].container];
  const observed: ComponentStatus = {
    enabled: true,
    ...(image ? { image } : {}),
    replicas: want,
    updatedReplicas: d.updatedReplicas,
    readyReplicas: d.readyReplicas,
    availableReplicas: d.availableReplicas,
  };
  const seen = d.observedGeneration >= d.generation;
  // No Pod of an older template left, and every desired one runs the current template.
  const updated = seen && d.updatedReplicas === want && d.replicas === want;
  if (updated && d.readyReplicas === want && d.availableReplicas === want) {
    return {
      component,
      ready: true,
      degraded: false,
      reason: REASON.ComponentReady,
      message:
        want === 0
          ? `Deployment ${name} is scaled to 0 replicas, as the spec asks`
          : `${want}/${want} Pods of Deployment ${name} ready and up to date`,
      status: { ...observed, ready: true },
    };
  }

  const counts = `${d.readyReplicas}/${want} ready, ${d.updatedReplicas}/${want} updated, ${d.availableReplicas}/${want} available${
    d.replicas > want ? `, ${d.replicas - want} old Pod(s) left` : ''
  }`;
  const details = [counts, ...problems(d.conditions)].join('; ');
  if (isDeadlineExceeded(d)) {
    return notReady(
      REASON.ProgressDeadlineExceeded,
      `the rollout of Deployment ${name} made no progress within spec.progressDeadlineSeconds: ${details}`,
      observed,
    );
  }
  if (!updated) {
    return notReady(REASON.RollingOut, `Deployment ${name} is rolling out: ${details}`, observed);
  }
  return wasReady(previous)
    ? notReady(
        REASON.PodsUnavailable,
        `Pods of Deployment ${name} are not ready: ${details}`,
        observed,
      )
    : notReady(
        REASON.PodsStarting,
        `Pods of Deployment ${name} are starting: ${details}`,
        observed,
      );
}

/** `Auth (GoTrue): <message>`: a component's message in a project-wide one. */
export function describeHealth(health: ComponentHealth): string {
  return `${COMPONENT_DISPLAY_NAMES[health.component]}: ${health.message}`;
}
