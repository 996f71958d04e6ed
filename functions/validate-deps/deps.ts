/** What validate-deps needs from the world, as narrow interfaces (index.ts builds them). */
import type { DatabaseTarget } from '../../shared/db/target.ts';
import type { SecretStore } from '../../shared/k8s/secrets.ts';
import type { ProjectMetadataWriter, ProjectStore } from '../../shared/reconcile/index.ts';
import type { BucketTarget } from '../../shared/s3/target.ts';

/** A connectivity probe: resolves with the round trip, or throws a ReconcilerError. */
export type Probe<Target> = (
  target: Target,
  options: { readonly timeoutMs: number },
) => Promise<{ readonly latencyMs: number }>;

/** The dependencies of the validate-deps handler. */
export interface ValidateDepsDeps {
  /** This function's name, the `source` of its replies. */
  readonly name: string;
  /** Reads projects, writes their status, adds the finalizer. */
  readonly projects: ProjectStore & ProjectMetadataWriter;
  /** Reads the Secrets the spec references. */
  readonly secrets: SecretStore;
  /** shared/db probeDatabase in production. */
  readonly probeDatabase: Probe<DatabaseTarget>;
  /** shared/s3 probeBucket in production. */
  readonly probeBucket: Probe<BucketTarget>;
  /** The time of transitions and of `lastConnectedTime`. */
  readonly now: () => Date;
  /** Bounds of the probes. */
  readonly timeouts: { readonly postgresMs: number; readonly s3Ms: number };
}
