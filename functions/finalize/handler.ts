/**
 * finalize: the deletion of a SupabaseProject.
 *
 * Consumes: ApiServerSource `add`/`update`/`delete` of SupabaseProjects, and
 * `dev.reconciler.supabase.reconcile.requested` (resync re-emits it for a project stuck in
 * Terminating). Replies: nothing (204/202).
 *
 * Converges: a project being deleted (deletionTimestamp set, our finalizer on it, the same uid
 * as the event's) to gone: phase Terminating with Progressing saying what is being cleaned;
 * then what `spec.database.deletionPolicy` asks (shared/db/teardown.ts: Retain keeps the
 * database, Delete drops exactly what init-db created; both release this project's claim on
 * the login roles); then the finalizer comes off and the API server deletes the object, whose
 * owned objects (Secrets, ConfigMaps, Deployments, Services) the garbage collector removes.
 *
 * Never wedged: a missing or unusable database Secret, refused credentials, a database that no
 * longer exists, an unreachable database under Retain: the finalizer comes off anyway and a
 * Warning Event says what was left behind. Under Delete an unreachable database is retried
 * (Progressing=False DatabaseUnavailable, 503); objects of the user that depend on what Delete
 * would drop stop it (Progressing=False DependentObjects, 202, finalizer kept). The annotation
 * `supabase.reconciler.dev/force-delete` skips the database work in every case.
 */
import type { CloudEvent } from 'cloudevents';
import { REASON, type Reason } from '../../shared/api/reasons.ts';
import type { DeletionPolicy } from '../../shared/api/types.ts';
import type { TeardownReport } from '../../shared/db/teardown.ts';
import type { DatabaseTarget } from '../../shared/db/target.ts';
import { parseEvent } from '../../shared/events/parse.ts';
import type { EventRecord, EventRecorder } from '../../shared/k8s/events.ts';
import { formatKey, type ObjectKey } from '../../shared/k8s/objects.ts';
import type { SecretStore } from '../../shared/k8s/secrets.ts';
import { removeFinalizer } from '../../shared/reconcile/finalizer.ts';
import { writePhaseStatus, type PhaseTarget } from '../../shared/reconcile/phase.ts';
import type {
  LiveProject,
  ProjectMetadataWriter,
  ProjectStore,
} from '../../shared/reconcile/project-store.ts';
import { readDatabaseTarget } from '../../shared/reconcile/referenced-secret.ts';
import { PermanentError, TransientError } from '../../shared/runtime/errors.ts';
import {
  acknowledge,
  type EventContext,
  type HandlerResult,
} from '../../shared/runtime/handler.ts';
import {
  deletionHint,
  FINALIZE_ACCEPTS,
  finalizeVerdict,
  FORCE_DELETE_ANNOTATION,
  isDeletionHint,
} from './decide.ts';
import { forcedEvent, reportEvent, skippedEvent, workMessage } from './messages.ts';

/** The function's name: its Knative Service and the source of its Events. */
export const FINALIZE = 'finalize';

/** What finalize needs from the world. */
export interface FinalizeDeps {
  /** Reads the project, writes its status and removes the finalizer. */
  readonly projects: ProjectStore & ProjectMetadataWriter;
  /** Reads the database Secret. */
  readonly secrets: SecretStore;
  /** Records what a deletion did or left behind on the project. */
  readonly events: EventRecorder;
  /** Carries out the deletion policy on the database (shared/db/teardown.ts). */
  readonly teardown: (
    target: DatabaseTarget,
    project: ObjectKey,
    policy: DeletionPolicy,
  ) => Promise<TeardownReport>;
}

/**
 * Connection failures that retrying cannot fix and that leave nothing to clean with these
 * credentials: under Delete they end the deletion with a Warning Event, as a missing Secret does.
 */
const UNUSABLE_DATABASE: ReadonlySet<string> = new Set([
  REASON.AuthenticationFailed,
  REASON.DatabaseNotFound,
  REASON.TLSNotOffered,
  REASON.TLSVerificationFailed,
  REASON.EgressRefused,
]);

/**
 * Handles one event.
 * @throws MalformedEventError (400) for an event finalize does not handle
 * @throws TransientError (503, retried) when deletionPolicy Delete cannot reach the database
 * @throws ConflictError (409, retried) when the project kept changing under the writes
 */
export async function handleFinalize(
  event: CloudEvent<unknown>,
  deps: FinalizeDeps,
  context: Pick<EventContext, 'logger'>,
): Promise<HandlerResult> {
  const hint = deletionHint(parseEvent(event, FINALIZE_ACCEPTS));
  if (!isDeletionHint(hint)) return hint;
  const live = await deps.projects.get(hint.key);
  const skip = finalizeVerdict(hint, live);
  if (skip || !live) return skip;
  return finalize(
    {
      key: hint.key,
      uid: live.metadata.uid,
      generation: live.metadata.generation ?? 1,
      project: live,
    },
    deps,
    context,
  );
}

async function finalize(
  target: PhaseTarget,
  deps: FinalizeDeps,
  context: Pick<EventContext, 'logger'>,
): Promise<HandlerResult> {
  const { project } = target;
  const policy = project.spec.database.deletionPolicy ?? 'Retain';

  if (project.metadata.annotations?.[FORCE_DELETE_ANNOTATION] !== undefined) {
    await starting(
      deps,
      target,
      `deleting without touching the database, as the annotation ${FORCE_DELETE_ANNOTATION} asks`,
    );
    await record(deps, project, forcedEvent(policy), context);
    return release(deps, target, context, 'forced by annotation');
  }
  await starting(deps, target, workMessage(policy));

  let database: DatabaseTarget;
  try {
    database = await readDatabaseTarget(deps.secrets, project);
  } catch (error) {
    // A Kubernetes API failure is retried; a Secret that is gone or unusable never comes back
    // by retrying, and nothing can be cleaned without its credentials.
    if (!(error instanceof PermanentError)) throw error;
    context.logger.warn({ reason: error.reason, detail: error.message }, 'no database Secret');
    await record(deps, project, skippedEvent(policy, error.message, undefined), context);
    return release(deps, target, context, error.reason);
  }

  let report: TeardownReport;
  try {
    report = await deps.teardown(database, target.key, policy);
  } catch (error) {
    return failed(error, policy, database, target, deps, context);
  }
  context.logger.info(
    { policy, claimReleased: report.claimReleased, dropped: report.dropped, kept: report.kept },
    'deletion policy carried out',
  );
  await record(deps, project, reportEvent(policy, report, database.database), context);
  return release(deps, target, context, policy);
}

/** A teardown failed: decide between letting the project go, stopping, and retrying. */
async function failed(
  error: unknown,
  policy: DeletionPolicy,
  database: DatabaseTarget,
  target: PhaseTarget,
  deps: FinalizeDeps,
  context: Pick<EventContext, 'logger'>,
): Promise<HandlerResult> {
  const message = error instanceof Error ? error.message : 'the database work failed';
  const permanent = error instanceof PermanentError ? error : undefined;
  if (policy === 'Retain' || (permanent && UNUSABLE_DATABASE.has(permanent.reason))) {
    // Retain keeps the database anyway; and credentials that are refused clean nothing.
    context.logger.warn({ policy, detail: message }, 'database not reached; deleting anyway');
    await record(deps, target.project, skippedEvent(policy, message, database.database), context);
    return release(deps, target, context, `${policy}, database not reached`);
  }
  if (permanent) {
    // Dependent objects of the user, a refused statement: retrying cannot help; the user can.
    await progressing(deps, target, 'False', permanent.reason, permanent.message);
    return acknowledge('failed_permanent', `${formatKey(target.key)}: ${permanent.reason}`);
  }
  if (error instanceof TransientError) {
    // Recorded first, so the user sees why while the broker retries (and how to stop it).
    await progressing(
      deps,
      target,
      'False',
      REASON.DatabaseUnavailable,
      `deletionPolicy Delete cannot reach the database: ${message}; retrying. To delete the project without cleaning the database, set the annotation ${FORCE_DELETE_ANNOTATION}`,
    ).catch(() => undefined);
  }
  throw error;
}

/**
 * Marks the start of the deletion, once: a retry (after DatabaseUnavailable or
 * DependentObjects) leaves the condition that says why it waits, so that retries do not flip
 * Progressing back and forth, each flip an update event that runs finalize again.
 */
async function starting(deps: FinalizeDeps, target: PhaseTarget, message: string): Promise<void> {
  if (target.project.status?.phase === 'Terminating') return;
  await progressing(deps, target, 'True', REASON.Terminating, message);
}

/** Phase Terminating, with Progressing (and Ready=False) saying what finalize does. */
async function progressing(
  deps: FinalizeDeps,
  target: PhaseTarget,
  status: 'True' | 'False',
  reason: Reason,
  message: string,
): Promise<void> {
  await writePhaseStatus(deps.projects, target, {
    phase: 'Terminating',
    message,
    conditions: [
      { type: 'Progressing', status, observedGeneration: target.generation, reason, message },
      {
        type: 'Ready',
        status: 'False',
        observedGeneration: target.generation,
        reason: REASON.Terminating,
        message: 'the project is being deleted',
      },
    ],
  });
}

/** Records an Event on the project; an Event that cannot be written does not stop a deletion. */
async function record(
  deps: FinalizeDeps,
  project: LiveProject,
  event: EventRecord,
  context: Pick<EventContext, 'logger'>,
): Promise<void> {
  const { apiVersion, kind, metadata } = project;
  await deps.events
    .record(
      { apiVersion, kind, namespace: metadata.namespace, name: metadata.name, uid: metadata.uid },
      event,
    )
    .catch((error: unknown) => {
      context.logger.warn({ reason: event.reason, error: String(error) }, 'Event not recorded');
    });
}

/** Removes the finalizer: the API server then deletes the project. */
async function release(
  deps: FinalizeDeps,
  target: PhaseTarget,
  context: Pick<EventContext, 'logger'>,
  why: string,
): Promise<HandlerResult> {
  const outcome = await removeFinalizer(deps.projects, target.key, target.uid);
  context.logger.info({ outcome, why }, 'finalizer removed');
  return undefined;
}
