/**
 * The project's finalizer: added by the first phase of a chain, removed by `finalize` once
 * what the project made outside its owner references is cleaned up.
 */
import type { ObjectKey } from '../k8s/objects.ts';
import { ConflictError } from '../runtime/errors.ts';
import type { PhaseTarget } from './phase.ts';
import type { ProjectMetadataWriter, ProjectStore } from './project-store.ts';

/** The finalizer every SupabaseProject carries while the reconciler manages it. */
export const PROJECT_FINALIZER = 'supabase.reconciler.dev/finalizer';

/** How ensureFinalizer ended. */
export type FinalizerResult = 'present' | 'added' | 'gone';

/**
 * Adds the finalizer if it is missing. It reads the project again (a status write just before
 * moved its resourceVersion) and patches the finalizers list with that version as the
 * precondition, reading again on a lost race. Nothing is read or written when the project
 * as the target saw it already carries the finalizer.
 *
 * Call it after the chain's first status write: the update event the patch causes must
 * already carry `status.observedGeneration`, or it would start a second chain (rule 3).
 * @param store - reads the project and patches its metadata
 * @param target - the project; its uid guards against a recreated object
 * @param maxAttempts - lost races before giving up with ConflictError (409: the broker retries)
 * @returns `present`, `added`, or `gone` when the project was deleted or recreated
 */
export async function ensureFinalizer(
  store: ProjectStore & ProjectMetadataWriter,
  target: PhaseTarget,
  maxAttempts = 5,
): Promise<FinalizerResult> {
  if (target.project.metadata.finalizers?.includes(PROJECT_FINALIZER)) return 'present';
  for (let attempt = 1; ; attempt++) {
    const live = await store.get(target.key);
    if (live?.metadata.uid !== target.uid || live.metadata.deletionTimestamp) return 'gone';
    const finalizers = live.metadata.finalizers ?? [];
    if (finalizers.includes(PROJECT_FINALIZER)) return 'present';
    try {
      const patched = await store.patchMetadata(target.key, live.metadata.resourceVersion, {
        finalizers: [...finalizers, PROJECT_FINALIZER],
      });
      return patched ? 'added' : 'gone';
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= maxAttempts) throw error;
    }
  }
}

/** How removeFinalizer ended. */
export type FinalizerRemoval = 'removed' | 'absent' | 'gone';

/**
 * Removes the finalizer, keeping every other one. It reads the project and patches the
 * finalizers list with that resourceVersion as the precondition (the list is replaced whole),
 * reading again on a lost race. Once the list is empty the API server deletes the object.
 * @param store - reads the project and patches its metadata
 * @param key - the project
 * @param uid - the project being finalized: an object recreated under the name is not touched
 * @param maxAttempts - lost races before giving up with ConflictError (409: the broker retries)
 * @returns `removed`, `absent` when it was not there, or `gone` (deleted or recreated)
 */
export async function removeFinalizer(
  store: ProjectStore & ProjectMetadataWriter,
  key: ObjectKey,
  uid: string,
  maxAttempts = 5,
): Promise<FinalizerRemoval> {
  for (let attempt = 1; ; attempt++) {
    const live = await store.get(key);
    if (live?.metadata.uid !== uid) return 'gone';
    const finalizers = live.metadata.finalizers ?? [];
    if (!finalizers.includes(PROJECT_FINALIZER)) return 'absent';
    try {
      const patched = await store.patchMetadata(key, live.metadata.resourceVersion, {
        finalizers: finalizers.filter((f) => f !== PROJECT_FINALIZER),
      });
      return patched ? 'removed' : 'gone';
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= maxAttempts) throw error;
    }
  }
}
