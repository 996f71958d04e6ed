/**
 * Converging one Secret without ever having two versions of it: read, plan, then create
 * (the API server refuses a second create with 409 AlreadyExists) or replace with the read
 * resourceVersion (refused with 409 when someone wrote in between). On a 409 the Secret is
 * read again and planned again, so a concurrent run's Secret is validated and kept instead
 * of being overwritten; only if that keeps failing does the ConflictError reach the broker.
 */
import type { ObjectKey } from '../../shared/k8s/objects.ts';
import { formatKey } from '../../shared/k8s/objects.ts';
import type { SecretDraft, SecretObject, SecretStore } from '../../shared/k8s/secrets.ts';
import { ConflictError, type PermanentError } from '../../shared/runtime/errors.ts';

/** What to do with a Secret, and what to report once it is done. */
export type SecretPlan<R> =
  | { readonly kind: 'keep'; readonly result: R }
  | {
      readonly kind: 'create' | 'replace';
      readonly draft: SecretDraft;
      /** Names of the keys written anew (for the log; never values). */
      readonly changedKeys: readonly string[];
      readonly result: R;
    }
  | { readonly kind: 'invalid'; readonly error: PermanentError };

/** Plans from the Secret as just read (undefined: it does not exist). */
export type SecretPlanner<R> = (existing: SecretObject | undefined) => Promise<SecretPlan<R>>;

/** How ensureSecret ended. */
export type EnsureResult<R> =
  | {
      readonly kind: 'ready';
      readonly result: R;
      /** What was written: nothing, a new Secret, or new content of the existing one. */
      readonly written: 'nothing' | 'created' | 'replaced';
      readonly changedKeys: readonly string[];
    }
  | { readonly kind: 'invalid'; readonly error: PermanentError };

/** Reads, plans and writes a Secret, re-planning after a lost race. */
export async function ensureSecret<R>(
  store: SecretStore,
  key: ObjectKey,
  plan: SecretPlanner<R>,
  maxAttempts = 3,
): Promise<EnsureResult<R>> {
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const decision = await plan(await store.get(key));
    if (decision.kind === 'invalid') return decision;
    if (decision.kind === 'keep') {
      return { kind: 'ready', result: decision.result, written: 'nothing', changedKeys: [] };
    }
    try {
      if (decision.kind === 'create') await store.create(decision.draft);
      else await store.replace(decision.draft);
      return {
        kind: 'ready',
        result: decision.result,
        written: decision.kind === 'create' ? 'created' : 'replaced',
        changedKeys: decision.changedKeys,
      };
    } catch (error) {
      // Someone else created or changed it since it was read: look again rather than
      // overwrite what may be another run's freshly generated secret.
      if (!(error instanceof ConflictError)) throw error;
    }
  }
  throw new ConflictError(
    `Secret ${formatKey(key)} changed on every one of ${maxAttempts} attempts to reconcile it; retrying later`,
  );
}
