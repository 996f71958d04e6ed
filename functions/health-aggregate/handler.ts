/**
 * health-aggregate, the end of the reconciliation chain.
 *
 * Consumes: `dev.reconciler.supabase.components.deployed` (deploy-components' reply),
 * `dev.reconciler.supabase.reconcile.requested` (resync), and ApiServerSource
 * `add`/`update`/`delete` events of the Deployments the reconciler owns (a `delete` is handled
 * like an update: the list shows what remains). Replies: nothing (2xx); the chain ends here.
 *
 * Converges, from one list of the project's Deployments (label selector) and the live project:
 * `status.components`, `componentsReady`, `endpoints`, `<Component>Ready` per enabled component,
 * `Available`, `Degraded`, and, once deploy-components applied the current generation,
 * `Ready`, `Progressing` and the phase `Running` (status.ts). `lastReconcileTime` is written for
 * chain events only, so a Deployment event that changes nothing that matters computes the
 * stored status and writes nothing. Stale events (project gone, recreated, being deleted, or a
 * Deployment no project owns) are acknowledged and dropped; transient API errors are thrown
 * (the broker retries).
 */
import { API_GROUP, KIND } from '../../shared/api/group-version.ts';
import { MANAGED_BY } from '../../shared/components/manifests.ts';
import {
  parseEvent,
  type Accepts,
  type ReceivedEvent,
  type ResourceEvent,
} from '../../shared/events/parse.ts';
import { ACKNOWLEDGED_DELETE, API_SERVER_EVENT, CHAIN_EVENT } from '../../shared/events/types.ts';
import type { DeploymentLister, DeploymentState } from '../../shared/k8s/deployments.ts';
import { formatKey, type ObjectKey } from '../../shared/k8s/objects.ts';
import { isPhaseTarget, resolvePhaseTarget } from '../../shared/reconcile/phase.ts';
import type { LiveProject, ProjectStore } from '../../shared/reconcile/project-store.ts';
import {
  acknowledge,
  type Acknowledgement,
  type EventHandler,
  type HandlerResult,
} from '../../shared/runtime/handler.ts';
import { toKubeTime } from '../../shared/status/conditions.ts';
import { updateStatus } from '../../shared/status/write.ts';
import type { Logger } from '../../shared/telemetry/logger.ts';
import { chainMark, healthStatus } from './status.ts';

/** The function's name (its Knative Service). */
export const HEALTH_AGGREGATE_FUNCTION = 'health-aggregate';

/** The events this function handles. */
export const HEALTH_AGGREGATE_ACCEPTS: Accepts = {
  resource: { apiVersion: 'apps/v1', kind: 'Deployment' },
  types: [
    CHAIN_EVENT.componentsDeployed,
    CHAIN_EVENT.reconcileRequested,
    API_SERVER_EVENT.add,
    API_SERVER_EVENT.update,
    API_SERVER_EVENT.delete,
  ],
};

/** What the handler works with; every collaborator is injectable. */
export interface HealthAggregateDeps {
  /** Reads projects and writes their status. */
  readonly projects: ProjectStore;
  /** Lists a project's Deployments in one request. */
  readonly deployments: DeploymentLister;
  /** The current time (condition transitions, lastReconcileTime). */
  readonly clock: () => Date;
}

/** The project an event is about, as just read. */
interface HealthTarget {
  readonly key: ObjectKey;
  readonly project: LiveProject;
  /** A chain event (the end of a reconciliation): lastReconcileTime is recorded. */
  readonly chain: boolean;
}

/**
 * The label selector of a project's component objects (shared/components/component.ts puts
 * both labels on every one).
 * @param projectName - the project's name
 */
export function componentSelector(projectName: string): string {
  return `app.kubernetes.io/instance=${projectName},app.kubernetes.io/managed-by=${MANAGED_BY}`;
}

/** The owning project of a Deployment (a SupabaseProject of our group), from the event. */
function ownerOf(event: ResourceEvent): { name: string; uid: string } | undefined {
  const owner = event.object.metadata.ownerReferences?.find(
    (o) => o.kind === KIND && o.apiVersion.split('/')[0] === API_GROUP,
  );
  return owner ? { name: owner.name, uid: owner.uid } : undefined;
}

/** Resolves the project of a Deployment event (rules 1-2: the live project decides). */
async function resolveDeploymentTarget(
  event: ResourceEvent,
  projects: ProjectStore,
): Promise<HealthTarget | Acknowledgement> {
  const owner = ownerOf(event);
  const deployment = `Deployment ${formatKey(event.key)}`;
  if (!owner) return acknowledge('dropped_stale', `${deployment} is not owned by a ${KIND}`);
  const key = { namespace: event.key.namespace, name: owner.name };
  const live = await projects.get(key);
  if (!live) return acknowledge('dropped_stale', `${deployment}: ${formatKey(key)} is gone`);
  if (live.metadata.uid !== owner.uid) {
    return acknowledge('dropped_stale', `${deployment}: ${formatKey(key)} was recreated`);
  }
  if (live.metadata.deletionTimestamp) {
    return acknowledge('dropped_stale', `${deployment}: ${formatKey(key)} is being deleted`);
  }
  return { key, project: live, chain: false };
}

/** Resolves the project an event is about, or why it is dropped. */
async function resolveTarget(
  event: ReceivedEvent,
  projects: ProjectStore,
): Promise<HealthTarget | Acknowledgement> {
  if (event.kind === 'resource') return resolveDeploymentTarget(event, projects);
  const target = await resolvePhaseTarget(event, projects);
  if (!isPhaseTarget(target)) return target;
  return { key: target.key, project: target.project, chain: true };
}

/**
 * The function's logic on a parsed event.
 * @param event - the parsed event
 * @param deps - the stores and the clock
 * @param logger - the event's logger
 * @returns undefined (processed, no reply) or an acknowledgement (dropped)
 * @throws ReconcilerError for transient API errors (the broker retries)
 */
export async function aggregateHealth(
  event: ReceivedEvent,
  deps: HealthAggregateDeps,
  logger: Logger,
): Promise<HandlerResult> {
  const target = await resolveTarget(event, deps.projects);
  if ('kind' in target) return target;
  const { key, project } = target;
  const now = deps.clock();
  let deployments: readonly DeploymentState[] = [];
  const result = await updateStatus(
    deps.projects,
    key,
    async (_status, live) => {
      // Listed after each read of the project, so the list is newer than the one behind the
      // status it replaces: Deployment events are handled concurrently, and a list taken
      // before another event's write would undo it (Ready back to False, 0/7 ready, with no
      // later event to correct it). The mark is taken before the list, so that a chain that
      // applies objects after it is seen.
      const listedAfter = chainMark(live);
      deployments = await deps.deployments.list(key.namespace, componentSelector(key.name));
      return healthStatus({
        project: live,
        deployments,
        listedAfter,
        now,
        reconcileTime: target.chain ? toKubeTime(now) : undefined,
      });
    },
    { uid: project.metadata.uid },
  );
  if (result.outcome === 'gone' || result.outcome === 'foreign') {
    return acknowledge('dropped_stale', `${formatKey(key)} was deleted or recreated`);
  }
  const written = result.outcome === 'written' ? result.object.status : undefined;
  logger.info(
    {
      project: formatKey(key),
      deployments: deployments.length,
      outcome: result.outcome,
      ...(written ? { phase: written.phase, componentsReady: written.componentsReady } : {}),
    },
    result.outcome === 'written' ? 'health written' : 'health unchanged',
  );
  return undefined;
}

/**
 * The runtime's handler: parses the CloudEvent (400 when it is not one this function handles)
 * and aggregates the project's health.
 * @param deps - the stores and the clock, built once per process
 */
export function createHealthAggregateHandler(deps: HealthAggregateDeps): EventHandler {
  return async (event, { logger }) => {
    // ApiServerSource events of both kinds share their types; a Trigger that filters on the
    // type alone routes SupabaseProject deletes here too: acknowledged, never dead-lettered.
    if (event.type === ACKNOWLEDGED_DELETE && event.kind === KIND) {
      return acknowledge('dropped_stale', "a SupabaseProject delete is finalize's");
    }
    return aggregateHealth(parseEvent(event, HEALTH_AGGREGATE_ACCEPTS), deps, logger);
  };
}
