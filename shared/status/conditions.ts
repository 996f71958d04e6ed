/**
 * Conditions as Kubernetes defines them (metav1.Condition) and the one way they change:
 * merged by `type`, `lastTransitionTime` moving only when `status` changes
 * (k8s.io/apimachinery meta.SetStatusCondition does the same).
 */
import type { Reason } from '../api/reasons.ts';

/** A condition's truth value. */
export type ConditionStatus = 'True' | 'False' | 'Unknown';

/** One condition, as stored in `status.conditions`. */
export interface Condition {
  readonly type: string;
  readonly status: ConditionStatus;
  /** The `metadata.generation` the writer acted on. */
  readonly observedGeneration: number;
  /** RFC 3339, seconds precision (what the API server stores). */
  readonly lastTransitionTime: string;
  /** CamelCase, machine-readable (shared/api/reasons.ts). */
  readonly reason: string;
  /** For a person: what is wrong and how to fix it. Never a secret value. */
  readonly message: string;
}

/**
 * A condition as read back from an object: `observedGeneration` is optional in
 * metav1.Condition, so conditions written by other tools may lack it.
 */
export type StoredCondition = Omit<Condition, 'observedGeneration'> & {
  readonly observedGeneration?: number;
};

/**
 * What a writer says about one condition; the time is filled in by setCondition. The reason is
 * one of shared/api/reasons.ts, the one place every reason is listed.
 */
export type ConditionUpdate = Omit<Condition, 'lastTransitionTime' | 'reason'> & {
  readonly reason: Reason;
};

/**
 * A time as the API server stores metav1.Time (RFC 3339, whole seconds), so that a
 * condition written and read back compares equal.
 */
export function toKubeTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Merges one condition into a list by `type`; other types are left exactly as they were, so
 * a writer never removes or alters another writer's condition.
 * @param conditions - the current list (not modified)
 * @param update - the condition to set
 * @param now - the time of a transition, if this is one
 * @returns a new list; the existing entry keeps its `lastTransitionTime` unless `status` changed
 */
export function setCondition(
  conditions: readonly StoredCondition[] | undefined,
  update: ConditionUpdate,
  now: Date,
): StoredCondition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === update.type);
  const existing = index === -1 ? undefined : list[index];
  const lastTransitionTime =
    existing?.status === update.status ? existing.lastTransitionTime : toKubeTime(now);
  const next: Condition = {
    type: update.type,
    status: update.status,
    observedGeneration: update.observedGeneration,
    lastTransitionTime,
    reason: update.reason,
    message: update.message,
  };
  if (index === -1) list.push(next);
  else list[index] = next;
  return list;
}

/**
 * Merges several conditions (see setCondition).
 * @returns a new list
 */
export function setConditions(
  conditions: readonly StoredCondition[] | undefined,
  updates: readonly ConditionUpdate[],
  now: Date,
): StoredCondition[] {
  return updates.reduce<StoredCondition[]>(
    (list, update) => setCondition(list, update, now),
    [...(conditions ?? [])],
  );
}

/** The condition of a type, if present. */
export function findCondition(
  conditions: readonly StoredCondition[] | undefined,
  type: string,
): StoredCondition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Whether a condition of `type` is present, `True`, and about `generation` (or later). */
export function isConditionTrue(
  conditions: readonly StoredCondition[] | undefined,
  type: string,
  generation?: number,
): boolean {
  const condition = findCondition(conditions, type);
  return (
    condition?.status === 'True' &&
    (generation === undefined || (condition.observedGeneration ?? 0) >= generation)
  );
}
