/**
 * resync, what recovers lost events.
 *
 * ApiServerSource never re-sends anything (not on restart, not after a re-list): an object
 * created or changed while its adapter was down, or whose event the broker lost, produces no
 * event until it changes again. resync runs on every PingSource tick.
 *
 * Consumes: `dev.knative.sources.ping`. Replies: nothing (204). Emits, out of band to `K_SINK`
 * (a reply carries one event), one `dev.reconciler.supabase.reconcile.requested` per project
 * that is not converged (convergence.ts), with the project's current uid and generation;
 * validate-deps (or finalize, for a project being deleted) starts a chain from it unless one
 * is running. Costs one list request for all namespaces; a converged project costs nothing
 * more. Writes nothing.
 *
 * Every request is tried; if any could not be posted the tick is answered 503 after the others
 * were sent, so the PingSource (or broker) retries it. Sending a request again is harmless:
 * validate-deps restarts only a chain that is not running.
 */
import { isValidTraceId } from '@opentelemetry/api';
import {
  chainEvent,
  CHAIN_EVENT,
  PING_EVENT,
  parseEvent,
  type Accepts,
} from '../../shared/events/index.ts';
import type { EmitEvent } from '../../shared/events/emit.ts';
import { formatKey } from '../../shared/k8s/objects.ts';
import type { LiveProject, ProjectLister } from '../../shared/reconcile/project-store.ts';
import { TransientError } from '../../shared/runtime/errors.ts';
import type { EventHandler } from '../../shared/runtime/handler.ts';
import { describeError } from '../../shared/telemetry/logger.ts';
import { resyncDecision, type ResyncPolicy, type ResyncReason } from './convergence.ts';

/** The function's name (its Knative Service). */
export const RESYNC_FUNCTION = 'resync';

/** The events resync handles. */
export const RESYNC_ACCEPTS: Accepts = { types: [PING_EVENT] };

/** Most failed projects named in one log line and error message. */
const NAMED_FAILURES = 20;

/** What resync needs. */
export interface ResyncDeps {
  /** This function's name: the source of the requests. */
  readonly name: string;
  /** Lists the projects of every namespace. */
  readonly projects: ProjectLister;
  /** Posts one event to the sink. */
  readonly emit: EmitEvent;
  readonly now: () => Date;
  readonly policy: ResyncPolicy;
  /** Posts in flight at once. */
  readonly concurrency: number;
  /** Only projects of these namespaces; empty or absent: every namespace. */
  readonly namespaces?: readonly string[];
}

/** A project that gets a request, and why. */
interface Due {
  readonly project: LiveProject;
  readonly reason: ResyncReason;
}

/**
 * Builds the handler.
 * @param deps - the project lister, the emitter, the clock and the policy (index.ts wires them)
 */
export function createResyncHandler(deps: ResyncDeps): EventHandler {
  return async (cloudEvent, context) => {
    parseEvent(cloudEvent, RESYNC_ACCEPTS);
    const scope = deps.namespaces?.length ? new Set(deps.namespaces) : undefined;
    const projects = (await deps.projects.list()).filter(
      (p) => !scope || scope.has(p.metadata.namespace),
    );
    const now = deps.now();
    const due: Due[] = [];
    for (const project of projects) {
      const decision = resyncDecision(project, now, deps.policy);
      if (decision.emit) due.push({ project, reason: decision.reason });
    }

    const failed = await inParallel(due, deps.concurrency, ({ project, reason }) =>
      deps.emit(
        chainEvent({
          type: CHAIN_EVENT.reconcileRequested,
          from: deps.name,
          key: { namespace: project.metadata.namespace, name: project.metadata.name },
          uid: project.metadata.uid,
          generation: project.metadata.generation ?? 1,
          // A request about a chain under way names it: once it has ended, validate-deps
          // knows the request was answered (a failure sets no lastReconcileTime).
          runningTrace:
            reason === 'Progressing' ? validTrace(project.status?.lastTraceId) : undefined,
          data: { reason },
        }),
      ),
    );

    const counts = {
      listed: projects.length,
      emitted: due.length - failed.length,
      skipped: projects.length - due.length,
      failed: failed.length,
    };
    context.metrics.resyncProjects('emitted', counts.emitted);
    context.metrics.resyncProjects('skipped', counts.skipped);
    context.metrics.resyncProjects('failed', counts.failed);
    for (const [name, value] of Object.entries(counts))
      context.span.setAttribute(`reconciler.resync.${name}`, value);
    context.logger.info(
      {
        ...counts,
        requested: due.map(({ project, reason }) => `${formatKey(project.metadata)}: ${reason}`),
      },
      'resync tick',
    );

    if (failed.length > 0) {
      const named = failed.slice(0, NAMED_FAILURES);
      context.logger.error(
        {
          failed: named.map(({ item, error }) => ({
            project: formatKey(item.project.metadata),
            error: describeError(error),
          })),
          more: failed.length - named.length,
        },
        'reconcile requests could not be posted; the tick is answered 503 so it is retried',
      );
      const list = named.map(({ item }) => formatKey(item.project.metadata)).join(', ');
      throw new TransientError(
        `${failed.length} of ${due.length} reconcile requests could not be posted (${list}${failed.length > named.length ? ', …' : ''})`,
      );
    }
    return undefined;
  };
}

/**
 * Runs `work` on every item, at most `limit` at a time, and returns the items that failed.
 * Every item is tried whatever happens to the others.
 */
async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<{ item: T; error: unknown }[]> {
  const failed: { index: number; item: T; error: unknown }[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      const item = items[index] as T;
      try {
        await work(item);
      } catch (error) {
        failed.push({ index, item, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return failed.sort((a, b) => a.index - b.index).map(({ item, error }) => ({ item, error }));
}

/** A trace id the request can carry (the CRD's pattern is the same; an old object may differ). */
function validTrace(traceId: string | undefined): string | undefined {
  return traceId !== undefined && isValidTraceId(traceId) ? traceId : undefined;
}
