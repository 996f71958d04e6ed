/**
 * The status validate-deps writes: the start of a chain, and the result of the checks.
 *
 * Churn (docs/architecture.md rule 5): `latencyMs` and `lastConnectedTime` are written once per chain,
 * by the first run of the chain that connects, and again only when `connected` flips. A
 * redelivered or duplicated event of the same chain that still connects therefore writes
 * nothing, and events that start nothing never reach this file (they cost no API call).
 */
import type { DependencyStatus, Phase, SupabaseProjectStatus } from '../../shared/api/index.ts';
import {
  handledRequestFields,
  REQUEST_ANNOTATIONS,
  type ReceivedEvent,
} from '../../shared/events/index.ts';
import type { PhaseTarget, StatusChange } from '../../shared/reconcile/index.ts';
import { PermanentError, RateLimitedError } from '../../shared/runtime/errors.ts';
import {
  findCondition,
  isConditionTrue,
  toKubeTime,
  type ConditionUpdate,
} from '../../shared/status/conditions.ts';
import type { CheckResult } from './checks.ts';
import { REASON, SECRET_REASONS } from '../../shared/api/reasons.ts';

/** The conditions this function owns, one per dependency. */
export type DependencyCondition = 'PostgreSQLConnected' | 'S3Connected';

/**
 * Whether this run starts a chain (and so records the start), or repeats one already
 * started for this generation: a redelivery, a duplicate, or a reconcile request while the
 * chain still runs.
 * @param event - the event being handled
 * @param target - the project as just read
 */
export function startsChain(event: ReceivedEvent, target: PhaseTarget): boolean {
  const { status, metadata } = target.project;
  if (status?.observedGeneration !== target.generation) return true;
  for (const { annotation, statusField } of REQUEST_ANNOTATIONS) {
    const requested = metadata.annotations?.[annotation];
    if (requested !== undefined && requested !== status[statusField]) return true;
  }
  // A reconcile request (resync) restarts a chain that is no longer running, unless a
  // reconciliation ended after the request was made: resync lists projects, then posts, and a
  // request made while a chain ran (Progressing True) may arrive after that chain ended; it
  // asked for nothing that chain did not do.
  if (
    event.kind !== 'chain' ||
    isConditionTrue(status.conditions, 'Progressing', target.generation)
  )
    return false;
  // A request about a chain under way, and that chain has ended since (Running or Failed),
  // no other after it: a failure sets no lastReconcileTime, and its second may be the
  // request's own, so the trace id tells it rather than the clock.
  if (event.runningTrace !== undefined && event.runningTrace === status.lastTraceId) return false;
  return !satisfiedBy(status.lastReconcileTime, event.time);
}

/**
 * Whether a reconciliation that ended at `ended` satisfies a request made at `requested`.
 * `lastReconcileTime` has whole seconds: an end in the request's own second counts as before
 * it (the request then restarts a chain: the safe side).
 */
export function satisfiedBy(ended: string | undefined, requested: string | undefined): boolean {
  if (ended === undefined || requested === undefined) return false;
  const end = Date.parse(ended);
  const request = Date.parse(requested);
  return Number.isFinite(end) && Number.isFinite(request) && end > request;
}

/**
 * The start of a chain: observed generation, phase, Progressing, trace id, handled requests
 * (`lastHandledReconcileAt`, `lastHandledJwtRotation`).
 * Ready, unless True (pods still serve while an update rolls), says a reconciliation runs,
 * which replaces the message of an earlier failure.
 * @param traceId - the trace of this reconciliation, when valid
 */
export function chainStart(target: PhaseTarget, traceId: string | undefined): StatusChange {
  const { status, metadata } = target.project;
  const wasRunning = status?.phase === 'Running' || status?.phase === 'Updating';
  const reconciling = (
    type: 'Progressing' | 'Ready',
    value: 'True' | 'False',
  ): ConditionUpdate => ({
    type,
    status: value,
    observedGeneration: target.generation,
    reason: REASON.Reconciling,
    message: `reconciling generation ${target.generation}: validating PostgreSQL and S3`,
  });
  const readyTrue = isConditionTrue(status?.conditions, 'Ready');
  return {
    phase: wasRunning ? 'Updating' : 'ValidatingDependencies',
    message: 'validating PostgreSQL and S3',
    conditions: [
      reconciling('Progressing', 'True'),
      ...(readyTrue ? [] : [reconciling('Ready', 'False')]),
    ],
    fields: {
      observedGeneration: target.generation,
      ...(traceId ? { lastTraceId: traceId } : {}),
      // Every request annotation's value, so the chain's own writes do not start it again.
      ...handledRequestFields(metadata.annotations),
    },
  };
}

/** The condition a check result gives. */
export function dependencyCondition(
  type: DependencyCondition,
  result: CheckResult,
  generation: number,
): ConditionUpdate {
  const base = { type, observedGeneration: generation };
  if (result.ok)
    return {
      ...base,
      status: 'True',
      reason: REASON.Connected,
      message: `connected to ${result.reached}`,
    };
  const { error } = result;
  const reason =
    error instanceof PermanentError
      ? error.reason
      : error instanceof RateLimitedError
        ? REASON.RateLimited
        : REASON.Unreachable;
  return { ...base, status: 'False', reason, message: error.message };
}

/**
 * `status.dependencies.<name>` after a check.
 * @param previous - the record before this run
 * @param fresh - whether this run starts a chain (latency is then recorded anew)
 */
export function dependencyRecord(
  previous: DependencyStatus | undefined,
  result: CheckResult,
  now: Date,
  fresh: boolean,
): DependencyStatus {
  if (!result.ok) {
    return {
      connected: false,
      error: result.error.message,
      ...(previous?.lastConnectedTime ? { lastConnectedTime: previous.lastConnectedTime } : {}),
    };
  }
  const keep = !fresh && previous?.connected === true;
  const latencyMs = keep ? previous.latencyMs : result.latencyMs;
  return {
    connected: true,
    ...(latencyMs === undefined ? {} : { latencyMs }),
    lastConnectedTime: keep ? (previous.lastConnectedTime ?? toKubeTime(now)) : toKubeTime(now),
    // Stable from run to run for one spec and Secret: recorded every time, no churn.
    ...(result.tls ? { ...result.tls } : {}),
    ...(result.httpsAssumed ? { httpsAssumed: true } : {}),
  };
}

/**
 * Whether validate-deps may move the phase on: it is still at this function's step, or
 * failed because of what this function checks. A repeated event never pulls back a phase
 * that a later function has already moved on.
 */
export function ownsPhase(status: SupabaseProjectStatus | undefined): boolean {
  const phase: Phase | undefined = status?.phase;
  if (phase === undefined || phase === 'Pending') return true;
  if (phase === 'ValidatingDependencies' || phase === 'Updating') return true;
  if (phase !== 'Failed') return false;
  const ours = ['PostgreSQLConnected', 'S3Connected'].some(
    (type) => findCondition(status?.conditions, type)?.status === 'False',
  );
  return ours || COMPONENT_SECRET_CHECKS.some(({ type }) => secretFailure(status, type));
}

/**
 * The component conditions this function fails over a component's own Secret: StudioReady
 * (the dashboard basic-auth Secret) and AuthReady (the SMTP Secret).
 */
export const COMPONENT_SECRET_CHECKS = [
  { type: 'StudioReady', secret: 'the dashboard basic-auth Secret', component: 'Studio' },
  { type: 'AuthReady', secret: 'the SMTP Secret', component: 'Auth' },
] as const;

function secretFailure(
  status: SupabaseProjectStatus | undefined,
  type: (typeof COMPONENT_SECRET_CHECKS)[number]['type'],
): boolean {
  const condition = findCondition(status?.conditions, type);
  return condition?.status === 'False' && SECRET_REASONS.has(condition.reason);
}

/**
 * StudioReady and AuthReady back to Pending when an earlier chain of this function failed
 * them over their Secret, which is fine now (deploy-components and health-aggregate own them
 * after).
 * @returns the updates, none for a condition that is not this function's failure
 */
export function clearedSecretFailures(
  status: SupabaseProjectStatus | undefined,
  generation: number,
): ConditionUpdate[] {
  return COMPONENT_SECRET_CHECKS.filter(({ type }) => secretFailure(status, type)).map(
    ({ type, secret, component }) => ({
      type,
      status: 'Unknown',
      observedGeneration: generation,
      reason: REASON.Pending,
      message: `${secret} is usable now; ${component} is not deployed yet`,
    }),
  );
}
