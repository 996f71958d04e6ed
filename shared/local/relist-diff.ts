/**
 * What a fresh list says changed since the objects last known: the events a re-list emits
 * after its watch expired (410 Gone), where Knative's adapter emits nothing and loses the gap
 * (knative-facts.md §1.5).
 */
import type { ResourceAction } from '../events/types.ts';
import type { RawObject } from '../k8s/watch.ts';

/** One event to emit. */
export interface Change {
  readonly action: ResourceAction;
  readonly object: RawObject;
}

/** `namespace/name` (`/name` for a cluster-scoped object): the identity within a resource. */
export function objectKey(object: RawObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}

/**
 * Compares a list with what was known:
 * - a new key → `add`;
 * - the same key with another uid (deleted and created again meanwhile) → `delete` of the
 *   known object, then `add` of the new one;
 * - the same object with another resourceVersion → `update`;
 * - a known key absent from the list → `delete`, carrying the last known state (the object's
 *   final state was never seen).
 * @param known - the last known object of each key
 * @param listed - the list's items
 */
export function relistChanges(
  known: ReadonlyMap<string, RawObject>,
  listed: readonly RawObject[],
): Change[] {
  const changes: Change[] = [];
  const seen = new Set<string>();
  for (const object of listed) {
    const key = objectKey(object);
    seen.add(key);
    const before = known.get(key);
    if (!before) changes.push({ action: 'add', object });
    else if (before.metadata.uid !== object.metadata.uid)
      changes.push({ action: 'delete', object: before }, { action: 'add', object });
    else if (before.metadata.resourceVersion !== object.metadata.resourceVersion)
      changes.push({ action: 'update', object });
  }
  for (const [key, object] of known) if (!seen.has(key)) changes.push({ action: 'delete', object });
  return changes;
}
