/**
 * The one status write path every function uses (docs/architecture.md rule 5): read the live
 * object, compute the desired status from it, write nothing if nothing changed, otherwise replace
 * the status with the read resourceVersion as precondition, and on 409 read again and
 * recompute, a bounded number of times. Several functions write one object's status at the
 * same time; because each recomputes from what it just read and merges conditions by type,
 * none loses another's write.
 */
import { isDeepStrictEqual } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CustomObjectStore } from '../k8s/custom-objects.ts';
import type { KubeObject, ObjectKey } from '../k8s/objects.ts';
import { ConflictError } from '../runtime/errors.ts';

/** How a status write ended. */
export type StatusWriteResult<T> =
  | { readonly outcome: 'written'; readonly object: T; readonly attempts: number }
  | { readonly outcome: 'unchanged'; readonly object: T; readonly attempts: number }
  /** The object does not exist any more: nothing to write, not an error. */
  | { readonly outcome: 'gone'; readonly attempts: number }
  /** The object was deleted and created again under the same name (different uid). */
  | { readonly outcome: 'foreign'; readonly object: T; readonly attempts: number };

/** Options of updateStatus. */
export interface StatusWriteOptions {
  /** Write only if the live object has this uid (the one the event was about). */
  readonly uid?: string | undefined;
  /** Attempts before giving up with ConflictError (the broker then retries the event). */
  readonly maxAttempts?: number | undefined;
  /** Base of the exponential, jittered wait between attempts, in ms. */
  readonly backoffMs?: number | undefined;
  /** Upper bound of one wait, in ms. */
  readonly maxBackoffMs?: number | undefined;
  /**
   * How a wait is made (default: a timer). Tests pass one that records the lengths, so that
   * the backoff is checked exactly instead of by the clock of a loaded machine.
   */
  readonly sleep?: ((ms: number) => Promise<unknown>) | undefined;
}

/**
 * Computes the desired status from the live object. It runs again on every conflict, on a
 * fresh copy of the latest object, so it must depend on nothing but that object and what it
 * reads after it (health-aggregate lists the Deployments there: a list older than the status
 * it replaces would undo a newer write).
 */
export type StatusMutation<T extends KubeObject> = (
  status: NonNullable<T['status']> | undefined,
  object: T,
) => NonNullable<T['status']> | Promise<NonNullable<T['status']>>;

/**
 * Updates an object's status through the status subresource with optimistic concurrency.
 * @param store - reads the object and replaces its status
 * @param key - the object
 * @param mutate - desired status from the current one (given a deep copy)
 * @param options - uid guard and retry bounds
 * @throws ConflictError after `maxAttempts` lost races (409: the broker retries)
 */
export async function updateStatus<T extends KubeObject>(
  store: CustomObjectStore<T>,
  key: ObjectKey,
  mutate: StatusMutation<T>,
  options: StatusWriteOptions = {},
): Promise<StatusWriteResult<T>> {
  const maxAttempts = options.maxAttempts ?? 10;
  const backoffMs = options.backoffMs ?? 10;
  const maxBackoffMs = options.maxBackoffMs ?? 1000;
  for (let attempt = 1; ; attempt++) {
    const live = await store.get(key);
    if (!live) return { outcome: 'gone', attempts: attempt };
    if (options.uid !== undefined && live.metadata.uid !== options.uid) {
      return { outcome: 'foreign', object: live, attempts: attempt };
    }
    const current = live.status as NonNullable<T['status']> | undefined;
    const desired = await mutate(structuredClone(current), live);
    // An absent status and an empty one are the same state.
    if (isDeepStrictEqual(desired, current ?? {})) {
      return { outcome: 'unchanged', object: live, attempts: attempt };
    }
    try {
      const written = await store.replaceStatus({ ...live, status: desired });
      if (!written) return { outcome: 'gone', attempts: attempt };
      return { outcome: 'written', object: written, attempts: attempt };
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= maxAttempts) throw error;
      // Exponential backoff with full jitter: writers that collided would otherwise collide
      // again in lock step (10 attempts wait at most about 5 s in all).
      await (options.sleep ?? sleep)(
        Math.random() * Math.min(maxBackoffMs, backoffMs * 2 ** attempt),
      );
    }
  }
}
