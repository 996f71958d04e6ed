/**
 * finalize's decisions before any work: does an event announce a deletion (from the event
 * alone, no API call), and does the live project still need finalizing.
 */
import { API_GROUP_VERSION, KIND } from '../../shared/api/group-version.ts';
import type { Accepts, ReceivedEvent } from '../../shared/events/parse.ts';
import { API_SERVER_EVENT, CHAIN_EVENT } from '../../shared/events/types.ts';
import { formatKey, type ObjectKey } from '../../shared/k8s/objects.ts';
import { PROJECT_FINALIZER } from '../../shared/reconcile/finalizer.ts';
import type { LiveProject } from '../../shared/reconcile/project-store.ts';
import { acknowledge, type Acknowledgement } from '../../shared/runtime/handler.ts';

/**
 * Annotation that lets a deletion finish without the database work (any value): for a
 * database that is gone for good, or objects of yours that Delete refuses to drop. finalize
 * records a Warning Event saying what was left behind.
 */
export const FORCE_DELETE_ANNOTATION = 'supabase.reconciler.dev/force-delete';

/** What finalize handles. */
export const FINALIZE_ACCEPTS: Accepts = {
  resource: { apiVersion: API_GROUP_VERSION, kind: KIND },
  types: [
    API_SERVER_EVENT.add,
    API_SERVER_EVENT.update,
    API_SERVER_EVENT.delete,
    // resync re-emits this for a project that is not converged, one stuck in Terminating too.
    CHAIN_EVENT.reconcileRequested,
  ],
};

/** The project an event may concern, to be checked against the live object. */
export interface DeletionHint {
  readonly key: ObjectKey;
  readonly uid: string;
}

/**
 * Decides from the event alone whether it may concern a deletion.
 * - add/update without `deletionTimestamp`: not a deletion (most updates are status writes);
 * - delete of an object that did not carry our finalizer (the adapter sends the last state,
 *   which lists a finalizer just removed): the object is gone and nothing of ours is left;
 * - anything else (an update announcing a deletion, a delete still listing our finalizer, a
 *   reconcile request): look at the live object.
 */
export function deletionHint(event: ReceivedEvent): DeletionHint | Acknowledgement {
  if (event.kind === 'ping') return acknowledge('dropped_stale', 'a ping names no project');
  if (event.kind === 'chain') return { key: event.key, uid: event.uid };
  const { metadata } = event.object;
  if (event.action === 'delete') {
    if (!metadata.finalizers?.includes(PROJECT_FINALIZER)) {
      return acknowledge(
        'dropped_stale',
        `${formatKey(event.key)} was deleted without the reconciler's finalizer: nothing to clean up`,
      );
    }
  } else if (!metadata.deletionTimestamp) {
    return acknowledge('dropped_stale', `${formatKey(event.key)} is not being deleted`);
  }
  return { key: event.key, uid: metadata.uid };
}

/**
 * Whether the live project needs finalizing (rule 1: decided on the live object).
 * @returns undefined to go on, or why not
 */
export function finalizeVerdict(
  hint: DeletionHint,
  live: LiveProject | undefined,
): Acknowledgement | undefined {
  const name = formatKey(hint.key);
  if (!live) return acknowledge('dropped_stale', `${name} is gone`);
  if (live.metadata.uid !== hint.uid) {
    return acknowledge('dropped_stale', `${name} was recreated (another uid)`);
  }
  if (!live.metadata.deletionTimestamp) {
    return acknowledge('dropped_stale', `${name} is not being deleted`);
  }
  if (!live.metadata.finalizers?.includes(PROJECT_FINALIZER)) {
    return acknowledge('dropped_stale', `${name} no longer carries the reconciler's finalizer`);
  }
  return undefined;
}

/** Whether a result of deletionHint is a hint (not an acknowledgement). */
export function isDeletionHint(value: DeletionHint | Acknowledgement): value is DeletionHint {
  return 'uid' in value;
}
