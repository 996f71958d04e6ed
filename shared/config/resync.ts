/**
 * Settings of the resync function: where it posts the reconcile requests (the sink), and when
 * a project that looks converged is reconciled again anyway.
 */
import { isNamespaceName } from '../k8s/names.ts';
import { integer, list, type ConfigOf, type ConfigSchema } from './settings.ts';
import { sinkSchema } from './sink.ts';

const HOUR = 3600;

/** Defaults of resync, in one place. */
export const RESYNC_DEFAULTS = Object.freeze({
  /**
   * A Running project is reconciled again when its last reconciliation finished longer ago
   * than this: 10 hours, controller-runtime's default SyncPeriod. Drift that no event reports
   * (a Deployment edited while nothing watched) is set back within this time.
   */
  maxAgeSeconds: 10 * HOUR,
  /**
   * A project Failed for its current generation is retried when its failure is older than
   * this: a permanent failure (a missing Secret key, refused credentials) is often fixed
   * outside the project, and nothing announces the fix. One hour keeps the retries cheap;
   * the `supabase.reconciler.dev/requestedAt` annotation retries at once.
   */
  failedRetrySeconds: HOUR,
  /** Posts in flight at once. */
  concurrency: 8,
});

/** resync's own settings, composed with the runtime's by parseConfig. */
export const resyncSchema = {
  ...sinkSchema,
  resync: {
    maxAgeSeconds: integer('RESYNC_MAX_AGE_SECONDS', {
      default: RESYNC_DEFAULTS.maxAgeSeconds,
      min: 60,
      max: 30 * 24 * HOUR,
    }),
    failedRetrySeconds: integer('RESYNC_FAILED_RETRY_SECONDS', {
      default: RESYNC_DEFAULTS.failedRetrySeconds,
      min: 60,
      max: 30 * 24 * HOUR,
    }),
    /**
     * Only projects of these namespaces (comma-separated); empty: every namespace. For a
     * reconciler that serves some namespaces only, as its ApiServerSource does.
     */
    namespaces: list('RESYNC_NAMESPACES', (item) =>
      isNamespaceName(item) ? undefined : 'is not a namespace name',
    ),
    concurrency: integer('RESYNC_CONCURRENCY', {
      default: RESYNC_DEFAULTS.concurrency,
      min: 1,
      max: 64,
    }),
  },
} satisfies ConfigSchema;

/** The parsed settings of resync. */
export type ResyncConfig = ConfigOf<typeof resyncSchema>;
