/**
 * The project status health-aggregate computes from the project and its Deployments. Pure and
 * deterministic: no clock but `now` (which only a condition whose status changes takes, as
 * lastTransitionTime) and the optional `reconcileTime`, so a Deployment event that changes
 * nothing that matters computes the stored status exactly and nothing is written.
 *
 * What it owns: `status.components`, `componentsReady`, `endpoints`, `<Component>Ready` per
 * enabled component, `Available` and `Degraded` always; and, only once deploy-components has
 * applied the current generation (NetworkReady carries it and no earlier phase of a chain is
 * running), `Ready`, `Progressing` (False when finished or stuck), the phase `Running` and
 * the message. A `Failed` phase of the current generation is left as it is, with the
 * `<Component>Ready` conditions the failure may have written.
 */
import { COMPONENT_READY_CONDITIONS } from '../../shared/api/conditions.ts';
import { COMPONENTS, type ComponentName } from '../../shared/api/components.ts';
import { isComponentEnabled } from '../../shared/api/enabled-components.ts';
import { REASON } from '../../shared/api/reasons.ts';
import { componentResourceName } from '../../shared/api/resource-names.ts';
import type { ComponentStatus, SupabaseProjectStatus } from '../../shared/api/types.ts';
import { endpointsOf } from '../../shared/components/public-url.ts';
import type { DeploymentState } from '../../shared/k8s/deployments.ts';
import { nextPhase } from '../../shared/reconcile/phase.ts';
import type { LiveProject } from '../../shared/reconcile/project-store.ts';
import {
  findCondition,
  setConditions,
  type ConditionUpdate,
  type StoredCondition,
} from '../../shared/status/conditions.ts';
import { assessComponent, describeHealth, type ComponentHealth } from './assess.ts';

/**
 * What the Deployments were listed after: the project's generation, the generation
 * NetworkReady carries, and whether an earlier phase of a chain was running. If any of these
 * differs when the status is written, deploy-components may have applied objects the list
 * does not show, so the list decides nothing about the chain (Ready, phase).
 */
export interface ChainMark {
  readonly generation: number;
  readonly networkGeneration: number | undefined;
  readonly chainRunning: boolean;
}

/**
 * The chain mark of a project as read.
 * @param project - the project
 */
export function chainMark(project: LiveProject): ChainMark {
  const conditions = project.status?.conditions;
  const progressing = findCondition(conditions, 'Progressing');
  return {
    generation: project.metadata.generation ?? 1,
    networkGeneration: findCondition(conditions, 'NetworkReady')?.observedGeneration,
    // deploy-components ends its run with Progressing=True ComponentsApplied; any other True
    // (Reconciling from validate-deps) means the chain has not applied the objects yet.
    chainRunning: progressing?.status === 'True' && progressing.reason !== REASON.ComponentsApplied,
  };
}

/** What the status is computed from. */
export interface HealthInput {
  /** The live project (inside the write: as read for this attempt). */
  readonly project: LiveProject;
  /** The project's Deployments, listed after `listedAfter` was taken. */
  readonly deployments: readonly DeploymentState[];
  readonly listedAfter: ChainMark;
  /** The time of a transition (lastTransitionTime of a condition whose status changes). */
  readonly now: Date;
  /** `status.lastReconcileTime` to record (chain events only), RFC 3339. */
  readonly reconcileTime?: string | undefined;
}

/** Whether deploy-components has applied the current generation, as the list saw it. */
function chainApplied(project: LiveProject, listedAfter: ChainMark): boolean {
  const mark = chainMark(project);
  return (
    mark.networkGeneration === mark.generation &&
    !mark.chainRunning &&
    mark.generation === listedAfter.generation &&
    mark.networkGeneration === listedAfter.networkGeneration &&
    mark.chainRunning === listedAfter.chainRunning
  );
}

/** The Deployment of a component, if the project owns one of that name. */
function deploymentOf(
  project: LiveProject,
  deployments: readonly DeploymentState[],
  component: ComponentName,
): DeploymentState | undefined {
  const name = componentResourceName(project.metadata.name, component);
  return deployments.find((d) => d.name === name && d.ownerUids.includes(project.metadata.uid));
}

/** Available: the API answers when Kong has an available Pod (old or new template). */
function availableCondition(
  kong: DeploymentState | undefined,
  health: ComponentHealth | undefined,
  observedGeneration: number,
  api: string | undefined,
): ConditionUpdate {
  const base = { type: 'Available', observedGeneration } as const;
  if (kong && kong.availableReplicas > 0) {
    return {
      ...base,
      status: 'True',
      reason: REASON.KongAvailable,
      message: `${kong.availableReplicas}/${kong.desiredReplicas} Kong Pods available${api ? `; the API is at ${api}` : ''}`,
    };
  }
  return {
    ...base,
    status: 'False',
    reason: REASON.KongUnavailable,
    message:
      kong?.desiredReplicas === 0
        ? 'Kong is scaled to 0 replicas (spec.kong.replicas): nothing answers the API'
        : `no Kong Pod is available: ${health?.message ?? 'Kong is not deployed'}`,
  };
}

/** Degraded: which components stopped being ready or are stuck, and why. */
function degradedCondition(
  health: readonly ComponentHealth[],
  observedGeneration: number,
): ConditionUpdate {
  const degraded = health.filter((h) => h.degraded);
  if (degraded.length === 0) {
    return {
      type: 'Degraded',
      status: 'False',
      observedGeneration,
      reason: REASON.AsExpected,
      message: 'no component is degraded',
    };
  }
  return {
    type: 'Degraded',
    status: 'True',
    observedGeneration,
    reason: degraded.some((h) => h.reason === REASON.ProgressDeadlineExceeded)
      ? REASON.ProgressDeadlineExceeded
      : REASON.ComponentUnavailable,
    message: degraded.map(describeHealth).join('; '),
  };
}

/** Ready, Progressing, the phase and the message, for a chain whose objects are applied. */
function chainOutcome(
  status: SupabaseProjectStatus,
  health: readonly ComponentHealth[],
  network: StoredCondition | undefined,
  degraded: ConditionUpdate,
  generation: number,
): Pick<SupabaseProjectStatus, 'phase' | 'message'> & { conditions: ConditionUpdate[] } {
  const notReady = health.filter((h) => !h.ready);
  const base = { observedGeneration: generation } as const;
  if (notReady.length === 0 && network?.status === 'True') {
    const message = `all ${health.length} enabled components are ready for generation ${generation}`;
    return {
      phase: nextPhase(status.phase, 'Running', false),
      message: `Running: ${message}`,
      conditions: [
        { ...base, type: 'Ready', status: 'True', reason: REASON.ComponentsReady, message },
        {
          ...base,
          type: 'Progressing',
          status: 'False',
          reason: REASON.Succeeded,
          message: `reconciliation of generation ${generation} finished: ${message}`,
        },
      ],
    };
  }
  const stuck = notReady.filter((h) => h.reason === REASON.ProgressDeadlineExceeded);
  const [reason, message] =
    network?.status !== 'True'
      ? [REASON.NetworkNotReady, `NetworkReady is not True: ${network?.message ?? ''}`]
      : degraded.status === 'True'
        ? [REASON.ComponentsDegraded, degraded.message]
        : [
            REASON.ComponentsNotReady,
            `waiting for ${notReady.length} of ${health.length} components: ${notReady.map(describeHealth).join('; ')}`,
          ];
  return {
    message:
      degraded.status === 'True'
        ? `Degraded: ${degraded.message}`
        : `waiting for ${notReady.map((h) => h.component).join(', ')}`,
    conditions: [
      { ...base, type: 'Ready', status: 'False', reason, message },
      ...(stuck.length > 0
        ? [
            {
              ...base,
              type: 'Progressing',
              status: 'False',
              reason: REASON.ProgressDeadlineExceeded,
              message: stuck.map(describeHealth).join('; '),
            } as const,
          ]
        : []),
    ],
  };
}

/**
 * Whether a chain event still has the end of a reconciliation to record: the chain runs
 * (Progressing True), or it ended after the last recorded end (a Deployment event may finish
 * it before its components.deployed arrives). A copy of the event delivered again after that
 * moves nothing (docs/architecture.md rules 4 and 5).
 */
function endOfChainUnrecorded(status: SupabaseProjectStatus): boolean {
  const progressing = findCondition(status.conditions, 'Progressing');
  if (progressing?.status !== 'False') return true;
  const recorded = Date.parse(status.lastReconcileTime ?? '');
  return !(recorded >= Date.parse(progressing.lastTransitionTime));
}

/**
 * The project's status with health-aggregate's part recomputed.
 * @param input - the live project, its Deployments, the time of a transition
 * @returns the whole status (equal to the stored one when nothing changed)
 */
export function healthStatus(input: HealthInput): SupabaseProjectStatus {
  const { project, deployments, now } = input;
  const status: SupabaseProjectStatus = project.status ?? {};
  // finalize owns a project being deleted: never write its phase or conditions.
  if (project.metadata.deletionTimestamp) return status;
  const generation = project.metadata.generation ?? 1;
  const network = findCondition(status.conditions, 'NetworkReady');
  const applied = chainApplied(project, input.listedAfter);
  const failed = status.phase === 'Failed' && status.observedGeneration === generation;
  // The generation whose objects the Deployments are (deploy-components' last complete run).
  const observedGeneration = applied ? generation : (network?.observedGeneration ?? generation);

  const enabled = COMPONENTS.filter((c) => isComponentEnabled(project.spec, c));
  const health = enabled.map((c) =>
    assessComponent(
      c,
      project.metadata.name,
      deploymentOf(project, deployments, c),
      findCondition(status.conditions, COMPONENT_READY_CONDITIONS[c]),
    ),
  );
  const components = Object.fromEntries(
    COMPONENTS.map((c): [ComponentName, ComponentStatus] => [
      c,
      health.find((h) => h.component === c)?.status ?? { enabled: false },
    ]),
  ) as Record<ComponentName, ComponentStatus>;
  const endpoints = applied ? endpointsOf(project) : status.endpoints;

  const degraded = degradedCondition(health, observedGeneration);
  const updates: ConditionUpdate[] = [
    // A permanent failure of this generation may have written a <Component>Ready (an
    // applier's conflict): it stays until a new chain.
    ...(failed
      ? []
      : health.map((h): ConditionUpdate => ({
          type: COMPONENT_READY_CONDITIONS[h.component],
          status: h.ready ? 'True' : 'False',
          observedGeneration,
          reason: h.reason,
          message: h.message,
        }))),
    availableCondition(
      deploymentOf(project, deployments, 'kong'),
      health.find((h) => h.component === 'kong'),
      observedGeneration,
      endpoints?.api,
    ),
    degraded,
  ];
  const outcome =
    applied && !failed ? chainOutcome(status, health, network, degraded, generation) : undefined;
  if (outcome) updates.push(...outcome.conditions);

  // One <Component>Ready per enabled component: a disabled one's condition goes.
  const disabled = new Set<string>(
    COMPONENTS.filter((c) => !enabled.includes(c)).map((c) => COMPONENT_READY_CONDITIONS[c]),
  );
  const conditions = setConditions(status.conditions, updates, now).filter(
    (c) => failed || !disabled.has(c.type),
  );
  return {
    ...status,
    ...(outcome?.phase ? { phase: outcome.phase } : {}),
    ...(outcome ? { message: outcome.message } : {}),
    components,
    componentsReady: `${health.filter((h) => h.ready).length}/${enabled.length}`,
    ...(endpoints ? { endpoints } : {}),
    ...(input.reconcileTime && endOfChainUnrecorded(status)
      ? { lastReconcileTime: input.reconcileTime }
      : {}),
    conditions,
  };
}
