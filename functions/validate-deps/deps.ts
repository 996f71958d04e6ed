/** What validate-deps needs from the world, as narrow interfaces (index.ts builds them). */
import type { DatabaseTarget } from '../../shared/db/target.ts';
import type { EventRecorder } from '../../shared/k8s/events.ts';
import type { SecretStore } from '../../shared/k8s/secrets.ts';
import type { ProjectMetadataWriter, ProjectStore } from '../../shared/reconcile/index.ts';
import type { BucketTarget } from '../../shared/s3/target.ts';

/** A connectivity probe: resolves with the round trip, or throws a ReconcilerError. */
export type Probe<Target, Result = { readonly latencyMs: number }> = (
  target: Target,
  options: { readonly timeoutMs: number },
) => Promise<Result>;

/** What the PostgreSQL probe reports besides the round trip: how the connection is protected. */
export interface DatabaseProbeResult {
  readonly latencyMs: number;
  /** Whether the connection is encrypted (prefer and allow may fall back to plain). */
  readonly encrypted: boolean;
  /** Whether the server's certificate was verified (verify-ca, verify-full). */
  readonly serverVerified: boolean;
}

/** The dependencies of the validate-deps handler. */
export interface ValidateDepsDeps {
  /** This function's name, the `source` of its replies. */
  readonly name: string;
  /** Reads projects, writes their status, adds the finalizer. */
  readonly projects: ProjectStore & ProjectMetadataWriter;
  /** Reads the Secrets the spec references. */
  readonly secrets: SecretStore;
  /** shared/db probeDatabase in production, through the egress policy. */
  readonly probeDatabase: Probe<DatabaseTarget, DatabaseProbeResult>;
  /** shared/s3 probeBucket in production, through the egress policy. */
  readonly probeBucket: Probe<BucketTarget>;
  /** Records Kubernetes Events on the project (a database connection that is not verified). */
  readonly events: EventRecorder;
  /** The time of transitions and of `lastConnectedTime`. */
  readonly now: () => Date;
  /** Bounds of the probes. */
  readonly timeouts: { readonly postgresMs: number; readonly s3Ms: number };
}
