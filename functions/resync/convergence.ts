/**
 * Whether a project needs a reconcile request from resync: the one decision of the function,
 * pure so that every case is tested without a cluster.
 *
 * A project is converged when nothing is left to do for its current generation: not being
 * deleted, `status.observedGeneration` is the generation, Ready is True for it, the phase is
 * Running, no chain is Progressing, and its last reconciliation finished within the maximum
 * age. Anything else gets a request, with two exceptions that cost nothing:
 *
 * - a project being deleted without our finalizer: nothing of ours is left to clean up;
 * - a project Failed for its current generation, retried only once its failure is older than
 *   the retry age: a permanent failure would fail again on every tick, but it is often fixed
 *   outside the project (a Secret corrected), and nothing announces that fix.
 */
import { PROJECT_FINALIZER } from '../../shared/reconcile/finalizer.ts';
import type { LiveProject } from '../../shared/reconcile/project-store.ts';
import { findCondition, isConditionTrue } from '../../shared/status/conditions.ts';

/** When projects that look settled are reconciled again. */
export interface ResyncPolicy {
  /** A Running project whose last reconciliation finished this long ago is reconciled again. */
  readonly maxAgeSeconds: number;
  /** A Failed project whose failure is this old is retried. */
  readonly failedRetrySeconds: number;
}

/** Why a project gets a reconcile request (logged, and carried in the request's data). */
export type ResyncReason =
  /** Being deleted with our finalizer on: finalize retries the cleanup. */
  | 'Deleting'
  /** No chain ever recorded a generation (its add event was lost). */
  | 'NeverReconciled'
  /** A generation no chain has started for (its update event was lost). */
  | 'NewGeneration'
  /** A chain is under way, or was cut off without reporting (a lost reply). */
  | 'Progressing'
  /** The chain stopped before Running (the dead-letter sink recorded why). */
  | 'PhaseNotFinished'
  /** Running, but Ready is not True for this generation. */
  | 'NotReady'
  /** Converged, but the last reconciliation is older than the maximum age (or unknown). */
  | 'ReconcileDue'
  /** Failed, and the failure is older than the retry age. */
  | 'FailedRetryDue';

/** Why a project gets no request. */
export type SkipReason = 'Converged' | 'FailedRecently' | 'DeletingWithoutFinalizer';

/** resync's decision on one project. */
export type ResyncDecision =
  | { readonly emit: true; readonly reason: ResyncReason }
  | { readonly emit: false; readonly reason: SkipReason };

const emit = (reason: ResyncReason): ResyncDecision => ({ emit: true, reason });
const skip = (reason: SkipReason): ResyncDecision => ({ emit: false, reason });

/**
 * Decides whether `project` gets a reconcile request.
 * @param project - the project as listed
 * @param now - the time of the tick
 * @param policy - the ages
 */
export function resyncDecision(
  project: LiveProject,
  now: Date,
  policy: ResyncPolicy,
): ResyncDecision {
  const { metadata, status } = project;
  if (metadata.deletionTimestamp !== undefined) {
    return metadata.finalizers?.includes(PROJECT_FINALIZER)
      ? emit('Deleting')
      : skip('DeletingWithoutFinalizer');
  }
  const generation = metadata.generation ?? 1;
  if (status?.observedGeneration === undefined) return emit('NeverReconciled');
  if (status.observedGeneration !== generation) return emit('NewGeneration');
  if (isConditionTrue(status.conditions, 'Progressing')) return emit('Progressing');
  if (status.phase === 'Failed') {
    // The chain's last transition (Progressing to False) is when it failed.
    const failedAt = findCondition(status.conditions, 'Progressing')?.lastTransitionTime;
    return olderThan(failedAt, policy.failedRetrySeconds, now)
      ? emit('FailedRetryDue')
      : skip('FailedRecently');
  }
  if (status.phase !== 'Running') return emit('PhaseNotFinished');
  const ready = findCondition(status.conditions, 'Ready');
  if (ready?.status !== 'True' || ready.observedGeneration !== generation) return emit('NotReady');
  if (olderThan(status.lastReconcileTime, policy.maxAgeSeconds, now)) return emit('ReconcileDue');
  return skip('Converged');
}

/** Whether `time` is at least `seconds` before `now`; an absent or unreadable time is. */
function olderThan(time: string | undefined, seconds: number, now: Date): boolean {
  const at = time === undefined ? Number.NaN : Date.parse(time);
  if (Number.isNaN(at)) return true;
  return now.getTime() - at >= seconds * 1000;
}
