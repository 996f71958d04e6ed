/**
 * init-db: consumes `dev.reconciler.supabase.dependencies.validated`; converges the external
 * PostgreSQL to what the Supabase services need (the reconciler's tracked migrations, and the
 * services' login roles with the database Secret's password); sets DatabaseInitialized and
 * replies `dev.reconciler.supabase.database.initialized`.
 */
import type { CloudEvent } from 'cloudevents';
import { REASON } from '../../shared/api/reasons.ts';
import type { InitialisationResult } from '../../shared/db/initialise.ts';
import type { DatabaseTarget } from '../../shared/db/target.ts';
import { parseEvent, type Accepts } from '../../shared/events/parse.ts';
import { ACKNOWLEDGED_DELETE, CHAIN_EVENT } from '../../shared/events/types.ts';
import type { ObjectKey } from '../../shared/k8s/objects.ts';
import type { SecretStore } from '../../shared/k8s/secrets.ts';
import {
  failPermanently,
  isPhaseTarget,
  nextPhaseEvent,
  resolvePhaseTarget,
  writePhaseStatus,
  type PhaseTarget,
} from '../../shared/reconcile/phase.ts';
import type { ProjectStore } from '../../shared/reconcile/project-store.ts';
import { readDatabaseTarget } from '../../shared/reconcile/referenced-secret.ts';
import { PermanentError } from '../../shared/runtime/errors.ts';
import type { EventContext, HandlerResult } from '../../shared/runtime/handler.ts';

/** The function's name: its Knative Service and the `source` of its replies. */
export const INIT_DB = 'init-db';

/** What init-db handles. */
export const initDbAccepts: Accepts = {
  types: [CHAIN_EVENT.dependenciesValidated, ACKNOWLEDGED_DELETE],
};

/** What init-db needs from the world. */
export interface InitDbDeps {
  readonly projects: ProjectStore;
  readonly secrets: SecretStore;
  /**
   * Applies the migrations and syncs the login roles' passwords (shared/db/initialise.ts) for
   * the project `project` (the server records which project set those passwords).
   */
  readonly initialise: (
    target: DatabaseTarget,
    project: ObjectKey,
  ) => Promise<InitialisationResult>;
}

/**
 * Handles one event.
 * @throws MalformedEventError (400) for an event that is not a dependencies.validated chain event
 * @throws TransientError (503, retried) when the database cannot be reached now
 */
export async function handleInitDb(
  event: CloudEvent<unknown>,
  deps: InitDbDeps,
  context: Pick<EventContext, 'logger'>,
): Promise<HandlerResult> {
  const target = await resolvePhaseTarget(parseEvent(event, initDbAccepts), deps.projects);
  if (!isPhaseTarget(target)) return target;

  let result: InitialisationResult;
  try {
    result = await deps.initialise(
      await readDatabaseTarget(deps.secrets, target.project),
      target.key,
    );
  } catch (error) {
    if (error instanceof PermanentError) {
      return failPermanently(deps.projects, target, 'DatabaseInitialized', error);
    }
    await reportRetrying(deps.projects, target, error);
    throw error;
  }
  context.logger.info(
    {
      applied: result.applied,
      total: result.total,
      passwordsChanged: result.passwordsChanged,
    },
    'database initialised',
  );
  const stillThere = await writePhaseStatus(deps.projects, target, {
    phase: 'DeployingSecrets',
    conditions: [
      {
        type: 'DatabaseInitialized',
        status: 'True',
        observedGeneration: target.generation,
        reason: REASON.MigrationsApplied,
        // Stable wording: a second run with nothing to do must not rewrite the status.
        message: initialisedMessage(result),
      },
    ],
  });
  if (!stillThere) return undefined;
  return nextPhaseEvent(CHAIN_EVENT.databaseInitialized, INIT_DB, target, {
    migrations: result.total,
  });
}

/** What DatabaseInitialized says when the database is ready, including what it lacks. */
export function initialisedMessage(result: InitialisationResult): string {
  const base = `${result.total} migrations applied; the login roles' passwords follow the database Secret`;
  return result.graphql
    ? base
    : `${base}; pg_graphql is not installed (the server does not offer it, or creating it needs a superuser), so /graphql/v1 answers "pg_graphql extension is not enabled": install pg_graphql on the server and create it in this database, or use a supabase/postgres image`;
}

/** Shows why the phase waits before the broker retries: the condition says it. */
async function reportRetrying(
  projects: ProjectStore,
  target: PhaseTarget,
  error: unknown,
): Promise<void> {
  const message = error instanceof Error ? error.message : 'the database could not be initialised';
  await writePhaseStatus(projects, target, {
    conditions: [
      {
        type: 'DatabaseInitialized',
        status: 'False',
        observedGeneration: target.generation,
        reason: REASON.DatabaseUnavailable,
        message: `${message}; retrying`,
      },
    ],
  }).catch(() => undefined);
}
