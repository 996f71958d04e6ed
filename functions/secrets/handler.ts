/**
 * secrets: consumes `dev.reconciler.supabase.database.initialized` (from init-db) and
 * converges the project's key material:
 * - Secret `<project>-jwt`: the JWT secret, the anon and service-role API keys signed with
 *   it, postgres-meta's crypto key and Realtime's secret key base and DB encryption key;
 * - Secret `<project>-dashboard-basic-auth` when the spec names no dashboard credentials.
 * Then it sets SecretsReady=True and phase DeployingComponents, and replies
 * `dev.reconciler.supabase.secrets.ready`.
 *
 * Existing good keys are never regenerated; a Secret the user made is checked and never
 * written; the reference operator's Secret is adopted only on the project's annotation
 * `supabase.reconciler.dev/adopt-jwt-secret: strrl` (a Warning Event says clients need the
 * re-signed API keys), and refused with a message naming the annotation without it; the annotation `supabase.reconciler.dev/rotate-jwt-secret` rotates the JWT secret
 * once per value. Components pick up new Secret content when deploy-components, next in the
 * chain, sees the hash of the keys they read change and rolls them.
 */
import type { ConditionType } from '../../shared/api/conditions.ts';
import { parseEvent, type Accepts, type ReceivedEvent } from '../../shared/events/parse.ts';
import { ACKNOWLEDGED_DELETE, CHAIN_EVENT } from '../../shared/events/types.ts';
import { formatKey } from '../../shared/k8s/objects.ts';
import type { EventRecorder } from '../../shared/k8s/events.ts';
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
import { ReconcilerError } from '../../shared/runtime/errors.ts';
import {
  acknowledge,
  type EventHandler,
  type HandlerResult,
} from '../../shared/runtime/handler.ts';
import type { ApiKeyPolicy } from '../../shared/secrets/api-keys.ts';
import type { KeyGenerator } from '../../shared/secrets/generate.ts';
import {
  dashboardSecretSource,
  jwtSecretName,
  ROTATE_JWT_SECRET_ANNOTATION,
} from '../../shared/secrets/names.ts';
import type { Logger } from '../../shared/telemetry/logger.ts';
import { planDashboardSecret, type DashboardSecretState } from './dashboard-secret.ts';
import { ensureSecret, type EnsureResult } from './ensure-secret.ts';
import { planJwtSecret, type JwtSecretState } from './jwt-secret.ts';
import type { ProjectRef } from './ownership.ts';
import {
  adoptionMessage,
  phaseMessage,
  secretsReadyMessage,
  secretsReadyReason,
} from './status.ts';
import { ADOPT_JWT_SECRET_ANNOTATION } from '../../shared/api/reference-operator.ts';
import { API_GROUP_VERSION, KIND } from '../../shared/api/group-version.ts';
import { REASON } from '../../shared/api/reasons.ts';

/** The function's name (its Knative Service), the `source` of its replies. */
export const SECRETS_FUNCTION = 'secrets';

/** The events this function handles. */
export const SECRETS_ACCEPTS: Accepts = {
  types: [CHAIN_EVENT.databaseInitialized, ACKNOWLEDGED_DELETE],
};

/** The condition this phase maintains. */
export const SECRETS_CONDITION: ConditionType = 'SecretsReady';

/** What the handler works with; every collaborator is injectable. */
export interface SecretsDeps {
  /** Reads projects and writes their status. */
  readonly projects: ProjectStore;
  /** Reads, creates and replaces Secrets. */
  readonly secrets: SecretStore;
  /** Makes random key material. */
  readonly generator: KeyGenerator;
  /** The current time (API keys' `iat`/`exp`, expiry checks, condition times). */
  readonly clock: () => Date;
  /** How long API keys live and how much validity an existing one must have left. */
  readonly policy: ApiKeyPolicy;
  /** Records Kubernetes Events on the project (the adoption of another operator's Secret). */
  readonly events: EventRecorder;
  /** The name replies come from (default `secrets`). */
  readonly functionName?: string;
}

/**
 * The project's rotation request: the annotation's value, or undefined when absent or blank.
 * @param project - the live project
 */
export function rotationRequestOf(project: PhaseTarget['project']): string | undefined {
  const value = project.metadata.annotations?.[ROTATE_JWT_SECRET_ANNOTATION]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/**
 * The project's adoption request: the annotation's value, or undefined when absent or blank.
 * @param project - the live project
 */
export function adoptionRequestOf(project: PhaseTarget['project']): string | undefined {
  const value = project.metadata.annotations?.[ADOPT_JWT_SECRET_ANNOTATION]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/**
 * The Warning Event of the run that adopted another operator's Secret. Best effort: status
 * says the same, so a failed Event is logged and never fails the phase.
 */
async function recordAdoption(
  deps: SecretsDeps,
  target: PhaseTarget,
  jwt: JwtSecretState,
  logger: Logger,
): Promise<void> {
  try {
    await deps.events.record(
      {
        apiVersion: API_GROUP_VERSION,
        kind: KIND,
        namespace: target.key.namespace,
        name: target.key.name,
        uid: target.uid,
      },
      { type: 'Warning', reason: REASON.JwtSecretAdopted, message: adoptionMessage(jwt) },
    );
  } catch (error) {
    if (!(error instanceof ReconcilerError)) throw error;
    logger.warn(
      { reason: REASON.JwtSecretAdopted, error: error.message },
      'the Warning Event could not be recorded',
    );
  }
}

/** Logs what was written: Secret names and key names, never values. */
function logWrite(logger: Logger, result: EnsureResult<{ readonly name: string }>): void {
  if (result.kind !== 'ready' || result.written === 'nothing') return;
  logger.info(
    { secretName: result.result.name, written: result.written, keys: result.changedKeys },
    `Secret ${result.written}`,
  );
}

/**
 * The phase logic on a parsed event.
 * @param event - the parsed event
 * @param deps - stores, generator, clock and key policy
 * @param logger - the event's logger
 * @returns the reply, or an acknowledgement (stale event, permanent failure)
 */
export async function reconcileSecrets(
  event: ReceivedEvent,
  deps: SecretsDeps,
  logger: Logger,
): Promise<HandlerResult> {
  const target = await resolvePhaseTarget(event, deps.projects);
  if (!isPhaseTarget(target)) return target;
  const request = rotationRequestOf(target.project);
  const project: ProjectRef = {
    key: target.key,
    uid: target.uid,
    rotationRequest: request,
    adoptionRequest: adoptionRequestOf(target.project),
  };
  const { namespace } = target.key;
  const now = deps.clock();

  const jwt = await ensureSecret(
    deps.secrets,
    { namespace, name: jwtSecretName(target.key.name) },
    (existing) =>
      planJwtSecret(existing, { project, now, policy: deps.policy, generator: deps.generator }),
  );
  if (jwt.kind === 'invalid') {
    logger.warn({ reason: jwt.error.reason }, 'JWT Secret is not usable');
    return failPermanently(deps.projects, target, SECRETS_CONDITION, jwt.error);
  }
  logWrite(logger, jwt);
  if (jwt.written === 'replaced' && jwt.result.adoptedNow === true) {
    logger.info({ secretName: jwt.result.name }, 'JWT Secret adopted from the reference operator');
    await recordAdoption(deps, target, jwt.result, logger);
  }

  const source = dashboardSecretSource(target.project);
  let dashboardState: DashboardSecretState | undefined;
  if (source.generated) {
    const dashboard = await ensureSecret(
      deps.secrets,
      { namespace, name: source.name },
      (existing) =>
        planDashboardSecret(existing, { project, generator: deps.generator }, source.name),
    );
    if (dashboard.kind === 'invalid') {
      logger.warn({ reason: dashboard.error.reason }, 'dashboard Secret is not usable');
      return failPermanently(deps.projects, target, SECRETS_CONDITION, dashboard.error);
    }
    logWrite(logger, dashboard);
    dashboardState = dashboard.result;
  }

  const stillTarget = await writePhaseStatus(
    deps.projects,
    target,
    {
      phase: 'DeployingComponents',
      message: phaseMessage(jwt.result, request),
      conditions: [
        {
          type: SECRETS_CONDITION,
          status: 'True',
          observedGeneration: target.generation,
          reason: secretsReadyReason(jwt.result),
          message: secretsReadyMessage(
            jwt.result,
            { source, ...(dashboardState ? { state: dashboardState } : {}) },
            request,
          ),
        },
      ],
    },
    now,
  );
  if (!stillTarget) {
    return acknowledge('dropped_stale', `${formatKey(target.key)} was deleted or recreated`);
  }
  return nextPhaseEvent(CHAIN_EVENT.secretsReady, deps.functionName ?? SECRETS_FUNCTION, target);
}

/**
 * The runtime's handler: parses the CloudEvent (400 when it is not one this function
 * handles) and runs the phase.
 * @param deps - stores, generator, clock and key policy, built once per process
 */
export function createSecretsHandler(deps: SecretsDeps): EventHandler {
  return (event, { logger }) => reconcileSecrets(parseEvent(event, SECRETS_ACCEPTS), deps, logger);
}
