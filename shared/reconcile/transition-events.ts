/**
 * Kubernetes Events for transitions, recorded in one place for every function: a project
 * store wrapped here records, after each status write, one Event per condition whose status
 * changed. A pass that changes nothing writes nothing (the status write path skips it) and
 * so records nothing; a repeated transition raises the count of the earlier Event
 * (shared/k8s/events.ts) instead of creating another.
 *
 * The status before a write is the one this store last read at the same resourceVersion:
 * the write path (shared/status/write.ts) always writes what it just read, so no extra read
 * is made.
 */
import { API_GROUP_VERSION, KIND } from '../api/group-version.ts';
import { REASON, type Reason } from '../api/reasons.ts';
import type { EventRecord, EventRecorder } from '../k8s/events.ts';
import type { StoredCondition } from '../status/conditions.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { LiveProject, ProjectStore } from './project-store.ts';

/** Reasons that say work is under way: never a Warning, whatever the condition's status. */
const UNDER_WAY: ReadonlySet<string> = new Set<Reason>([
  REASON.Reconciling,
  REASON.InProgress,
  REASON.Pending,
  // A deletion the user asked for: Ready=False while finalize works is not a fault.
  REASON.Terminating,
]);

/** Objects read, by `namespace/name@resourceVersion`; a few in flight at a time. */
const READ_CACHE_SIZE = 64;

/** Whether a condition is in its unhealthy state (Degraded is the one negative-polarity type). */
function unhealthy(condition: Pick<StoredCondition, 'type' | 'status'>): boolean {
  return condition.type === 'Degraded' ? condition.status === 'True' : condition.status === 'False';
}

/**
 * The Events a status change gives: one per condition whose status changed, and one per
 * condition that first appears unhealthy (a first healthy appearance is the normal course of
 * a first reconciliation and says nothing the Ready transition does not).
 * @param before - the conditions before the write
 * @param after - the conditions written
 */
export function transitionEvents(
  before: readonly StoredCondition[] | undefined,
  after: readonly StoredCondition[] | undefined,
): EventRecord[] {
  const events: EventRecord[] = [];
  for (const condition of after ?? []) {
    const previous = before?.find((c) => c.type === condition.type);
    if (previous?.status === condition.status) continue;
    const bad = unhealthy(condition) && !UNDER_WAY.has(condition.reason);
    if (!previous && !bad) continue;
    events.push({
      type: bad ? 'Warning' : 'Normal',
      reason: condition.reason as Reason,
      message: `${condition.type} is ${condition.status}: ${condition.message}`,
    });
  }
  return events;
}

/**
 * Wraps a project store so that its status writes record their transitions as Events on the
 * project. Other methods (metadata writes, lists) pass through unchanged.
 * @param store - the real store
 * @param recorder - where Events go
 * @param logger - where a failure to record goes: an Event lost must not fail the phase
 */
export function recordingTransitions<S extends ProjectStore>(
  store: S,
  recorder: EventRecorder,
  logger: Pick<Logger, 'warn'>,
): S {
  const read = new Map<string, readonly StoredCondition[] | undefined>();
  const cacheKey = (project: LiveProject) =>
    `${project.metadata.namespace}/${project.metadata.name}@${project.metadata.resourceVersion}`;
  return {
    ...store,
    async get(key) {
      const project = await store.get(key);
      if (project) {
        read.set(cacheKey(project), project.status?.conditions);
        // A Map keeps insertion order: the first key is the oldest read.
        for (const oldest of read.keys()) {
          if (read.size <= READ_CACHE_SIZE) break;
          read.delete(oldest);
        }
      }
      return project;
    },
    async replaceStatus(object) {
      const key = cacheKey(object);
      const known = read.has(key);
      const before = read.get(key);
      read.delete(key);
      const written = await store.replaceStatus(object);
      // Unknown prior state (a write of an object not read here): no guess, no Event.
      if (!written || !known) return written;
      for (const event of transitionEvents(before, written.status?.conditions)) {
        try {
          await recorder.record(
            {
              apiVersion: API_GROUP_VERSION,
              kind: KIND,
              namespace: written.metadata.namespace,
              name: written.metadata.name,
              uid: written.metadata.uid,
            },
            event,
          );
        } catch (error) {
          logger.warn(
            { reason: event.reason, error: error instanceof Error ? error.message : String(error) },
            'could not record the Event of a condition transition',
          );
        }
      }
      return written;
    },
  };
}
