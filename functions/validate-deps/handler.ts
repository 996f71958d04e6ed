/**
 * validate-deps, the entry of the reconciliation chain.
 *
 * Consumes: ApiServerSource `add`/`update` of SupabaseProjects, and
 * `dev.reconciler.supabase.reconcile.requested`. Replies: `dev.reconciler.supabase.dependencies.validated`.
 *
 * Converges: at the start of a chain, `status.observedGeneration`, the phase
 * (ValidatingDependencies, or Updating after Running), Progressing, `lastTraceId` and
 * `lastHandledReconcileAt`; the project's finalizer; then, checked for real, the
 * PostgreSQLConnected and S3Connected conditions and `status.dependencies` (the database and
 * storage Secrets, the dashboard basic-auth Secret when referenced, a PostgreSQL connection,
 * a HeadBucket, both through the egress policy), with the sslMode and whether the server was
 * verified; a Warning Event on the project when its sslMode does not verify the server.
 * Permanent problems fail the project (202, no reply); transient ones are recorded and
 * answered 503 so the broker retries.
 */
import { isSpanContextValid } from '@opentelemetry/api';
import { API_GROUP_VERSION, KIND } from '../../shared/api/index.ts';
import {
  ACKNOWLEDGED_DELETE,
  API_SERVER_EVENT,
  CHAIN_EVENT,
  parseEvent,
  type Accepts,
  type ReceivedEvent,
} from '../../shared/events/index.ts';
import { formatKey } from '../../shared/k8s/objects.ts';
import {
  ensureFinalizer,
  failPermanently,
  isPhaseTarget,
  nextPhaseEvent,
  resolvePhaseTarget,
  writePhaseStatus,
  type PhaseTarget,
} from '../../shared/reconcile/index.ts';
import { PermanentError } from '../../shared/runtime/errors.ts';
import {
  acknowledge,
  type EventContext,
  type EventHandler,
  type HandlerResult,
} from '../../shared/runtime/handler.ts';
import {
  checkDashboardAuth,
  checkOAuth,
  checkPostgres,
  checkS3,
  checkSmtp,
  type CheckResult,
} from './checks.ts';
import type { ValidateDepsDeps } from './deps.ts';
import {
  chainStart,
  clearedSecretFailures,
  dependencyCondition,
  dependencyRecord,
  ownsPhase,
  startsChain,
} from './status.ts';
import { warnUnverifiedDatabase } from './warnings.ts';

/** The events validate-deps handles. */
export const VALIDATE_DEPS_ACCEPTS: Accepts = {
  resource: { apiVersion: API_GROUP_VERSION, kind: KIND },
  types: [
    API_SERVER_EVENT.add,
    API_SERVER_EVENT.update,
    CHAIN_EVENT.reconcileRequested,
    ACKNOWLEDGED_DELETE,
  ],
};

/**
 * Builds the handler.
 * @param deps - stores, probes, clock and bounds (index.ts wires the real ones)
 */
export function createValidateDepsHandler(deps: ValidateDepsDeps): EventHandler {
  return async (cloudEvent, context) => {
    const event = parseEvent(cloudEvent, VALIDATE_DEPS_ACCEPTS);
    // Own status writes and metadata-only updates are acknowledged here without an API call.
    const target = await resolvePhaseTarget(event, deps.projects);
    if (!isPhaseTarget(target)) return target;
    return validate(event, target, deps, context);
  };
}

const gone = (target: PhaseTarget) =>
  acknowledge('dropped_stale', `${formatKey(target.key)} was deleted or recreated meanwhile`);

async function validate(
  event: ReceivedEvent,
  target: PhaseTarget,
  deps: ValidateDepsDeps,
  context: EventContext,
): Promise<HandlerResult> {
  const fresh = startsChain(event, target);
  const span = context.span.spanContext();
  const traceId = isSpanContextValid(span) ? span.traceId : undefined;
  if (fresh) {
    const start = chainStart(target, traceId);
    if (!(await writePhaseStatus(deps.projects, target, start, deps.now()))) return gone(target);
  }
  // After the start write, so the update event of this patch already carries the observed
  // generation and starts nothing.
  if ((await ensureFinalizer(deps.projects, target)) === 'gone') return gone(target);

  const [postgres, s3, dashboard, smtp, oauth] = await Promise.all([
    checkPostgres(deps, target.project),
    checkS3(deps, target.project),
    checkDashboardAuth(deps, target.project),
    checkSmtp(deps, target.project),
    checkOAuth(target.project),
    // Once per chain, not on every redelivery.
    fresh ? warnUnverifiedDatabase(deps, target, context) : undefined,
  ]);
  report(context, postgres, s3, fresh);

  const previous = target.project.status?.dependencies;
  const now = deps.now();
  const recorded = {
    conditions: [
      dependencyCondition('PostgreSQLConnected', postgres, target.generation),
      dependencyCondition('S3Connected', s3, target.generation),
    ],
    fields: {
      dependencies: {
        postgresql: dependencyRecord(previous?.postgresql, postgres, now, fresh),
        s3: dependencyRecord(previous?.s3, s3, now, fresh),
      },
    },
  };

  const failures = (
    [
      ['PostgreSQLConnected', postgres],
      ['S3Connected', s3],
      ['StudioReady', dashboard],
      ['AuthReady', smtp],
      ['AuthReady', oauth],
    ] as const
  ).flatMap(([type, result]) => (result && !result.ok ? [{ type, error: result.error }] : []));
  const permanent = failures.find((f) => f.error instanceof PermanentError);
  if (permanent?.error instanceof PermanentError) {
    context.logger.warn(
      {
        reason: permanent.error.reason,
        condition: permanent.type,
        detail: permanent.error.message,
      },
      'dependency check failed permanently',
    );
    return failPermanently(deps.projects, target, permanent.type, permanent.error, recorded);
  }
  const [transient] = failures;
  if (transient) {
    // Recorded first, so the user sees why while the broker retries.
    await writePhaseStatus(deps.projects, target, recorded, now);
    throw transient.error;
  }

  // A repeated event of a chain that has moved on does not pull the phase back.
  const advance = fresh || ownsPhase(target.project.status);
  const written = await writePhaseStatus(
    deps.projects,
    target,
    {
      ...recorded,
      // The chain goes on in this delivery's trace: after a transient failure the broker's
      // next attempt of an ApiServerSource event (which carries no trace context) is a new
      // trace, and status.lastTraceId must name the one the phases run in.
      fields: {
        ...recorded.fields,
        ...(advance && traceId !== undefined ? { lastTraceId: traceId } : {}),
      },
      conditions: [
        ...recorded.conditions,
        ...clearedSecretFailures(target.project.status, target.generation),
      ],
      ...(advance
        ? {
            phase: 'InitializingDatabase' as const,
            message: 'PostgreSQL and S3 are reachable; initializing the database',
          }
        : {}),
    },
    now,
  );
  if (!written) return gone(target);
  // Always reply, even on a repeat: a reply the broker failed to deliver is why it
  // redelivers, and the next phases are idempotent.
  return nextPhaseEvent(CHAIN_EVENT.dependenciesValidated, deps.name, target);
}

/** What the checks found, on the span and in the log (never a secret value). */
function report(context: EventContext, postgres: CheckResult, s3: CheckResult, fresh: boolean) {
  const summary = (result: CheckResult) =>
    result.ok
      ? { connected: true, latency_ms: result.latencyMs }
      : { connected: false, error: result.error.message };
  for (const [name, result] of [
    ['postgresql', postgres],
    ['s3', s3],
  ] as const) {
    context.span.setAttribute(`reconciler.${name}.connected`, result.ok);
    if (result.ok && result.latencyMs !== undefined)
      context.span.setAttribute(`reconciler.${name}.latency_ms`, result.latencyMs);
  }
  context.logger.info(
    { postgresql: summary(postgres), s3: summary(s3), starts_chain: fresh },
    'dependencies checked',
  );
}
