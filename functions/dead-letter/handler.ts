/**
 * dead-letter, the sink of the broker's dead letters: no failure is silent.
 *
 * Consumes: any event the broker gave up delivering after its retries, as the broker sends it
 * to a Trigger's (or the Broker's) dead-letter sink: the original event plus
 * `knativeerrordest`, `knativeerrorcode` and `knativeerrordata` (knative-facts.md §3.8). The
 * original is a chain event (the project by subject, `projectuid`, `generation`), an
 * ApiServerSource event whose data is the SupabaseProject, or something else.
 * Replies: nothing.
 *
 * Converges: on the project the event was about, `Progressing=False` with reason
 * `RetriesExhausted`, observedGeneration the event's generation, and a message naming the
 * function that gave up, the generation and its last answer; `status.message` repeats it.
 * Ready and the phase are left as they are (pods may still serve). resync then finds the
 * project unconverged and requests a reconciliation on its next tick.
 *
 * Never refuses a dead letter: an event the dead-letter sink answers 4xx or 5xx for good is
 * lost without a trace. A malformed or foreign one (no project, missing or invalid extensions)
 * and a stale one (project gone, recreated, or at a newer generation) are acknowledged,
 * counted and logged, and nothing is written. Only a write that failed for a reason that may
 * pass (the API server unreachable, conflicts exhausted) is answered 5xx/409, so the broker
 * delivers the dead letter again.
 */
import { REASON } from '../../shared/api/reasons.ts';
import { API_GROUP_VERSION, KIND } from '../../shared/api/group-version.ts';
import {
  API_SERVER_EVENT,
  CHAIN_EVENT,
  parseEvent,
  type Accepts,
  type ReceivedEvent,
} from '../../shared/events/index.ts';
import { formatKey, type ObjectKey } from '../../shared/k8s/objects.ts';
import type { ProjectStore } from '../../shared/reconcile/project-store.ts';
import { MalformedEventError, ReconcilerError } from '../../shared/runtime/errors.ts';
import {
  acknowledge,
  type EventContext,
  type EventHandler,
  type HandlerResult,
} from '../../shared/runtime/handler.ts';
import { setConditions } from '../../shared/status/conditions.ts';
import { updateStatus } from '../../shared/status/write.ts';
import { describeError } from '../../shared/telemetry/logger.ts';
import type { DeadLetterOutcome } from '../../shared/telemetry/metrics-recorder.ts';
import { deadLetterMessage, isProblem, readDeadLetter, type DeadLetter } from './dead-letter.ts';
import { consumerOf, functionOfDestination } from './failed-function.ts';

/** The function's name (its Knative Service). */
export const DEAD_LETTER_FUNCTION = 'dead-letter';

/** The events whose project the sink can name; any other type is foreign. */
const PROJECT_EVENTS: Accepts = {
  types: [...Object.values(API_SERVER_EVENT), ...Object.values(CHAIN_EVENT)],
};

/** What dead-letter needs. */
export interface DeadLetterDeps {
  /** Reads projects and writes their status. */
  readonly projects: ProjectStore;
  readonly now: () => Date;
}

/** The project a dead letter is about, and which generation of it. */
interface Identity {
  readonly key: ObjectKey;
  readonly uid: string;
  readonly generation: number;
}

/**
 * Builds the handler.
 * @param deps - the project store and the clock (index.ts wires the real ones)
 */
export function createDeadLetterHandler(deps: DeadLetterDeps): EventHandler {
  return async (cloudEvent, context) => {
    const letter = readDeadLetter(cloudEvent);
    if (isProblem(letter)) return unusable(context, 'malformed', letter.problem, 'unknown');
    const failedBy = functionOfDestination(letter.destination);

    if (!PROJECT_EVENTS.types.includes(cloudEvent.type)) {
      // A resync tick the broker gave up on, or an event of no function of ours.
      const why = `a dead letter of a ${cloudEvent.type === 'dev.knative.sources.ping' ? 'PingSource tick' : 'foreign event type'}, answered ${letter.code}`;
      return unusable(context, 'foreign', why, failedBy ?? 'unknown');
    }
    let event: ReceivedEvent;
    try {
      event = parseEvent(cloudEvent, PROJECT_EVENTS);
    } catch (error) {
      if (!(error instanceof MalformedEventError)) throw error;
      return unusable(context, 'malformed', error.message, failedBy ?? 'unknown');
    }
    const identity = identify(event);
    if (!identity) {
      const why = 'an ApiServerSource event about an object that is not a SupabaseProject';
      return unusable(context, 'foreign', why, failedBy ?? 'unknown');
    }
    const failed = failedBy ?? consumerOf(event) ?? 'unknown';
    return record(deps, context, identity, failed, letter);
  };
}

/** The project of a parsed event: chain events carry it; resource events are the object. */
function identify(event: ReceivedEvent): Identity | undefined {
  if (event.kind === 'chain')
    return { key: event.key, uid: event.uid, generation: event.generation };
  if (event.kind !== 'resource') return undefined;
  const { object } = event;
  if (object.apiVersion !== API_GROUP_VERSION || object.kind !== KIND) return undefined;
  return {
    key: event.key,
    uid: object.metadata.uid,
    generation: object.metadata.generation ?? 1,
  };
}

/** Acknowledges a dead letter that names no project we can write to. */
function unusable(
  context: EventContext,
  outcome: Extract<DeadLetterOutcome, 'malformed' | 'foreign'>,
  why: string,
  failedFunction: string,
): HandlerResult {
  context.metrics.deadLetter(outcome, failedFunction);
  context.span.setAttribute('reconciler.dead_letter.outcome', outcome);
  context.logger.warn(
    { outcome, why, failed_function: failedFunction },
    'dead letter not recorded on any project',
  );
  return acknowledge('malformed', why);
}

/** Writes the failure on the project, unless the dead letter is stale. */
async function record(
  deps: DeadLetterDeps,
  context: EventContext,
  identity: Identity,
  failedFunction: string,
  letter: DeadLetter,
): Promise<HandlerResult> {
  const message = deadLetterMessage(failedFunction, identity.generation, letter);
  const fields = {
    project: formatKey(identity.key),
    generation: identity.generation,
    failed_function: failedFunction,
    code: letter.code,
  };
  context.span.setAttribute('reconciler.dead_letter.function', failedFunction);
  let result;
  try {
    result = await updateStatus(
      deps.projects,
      identity.key,
      (status, project) => {
        // Superseded: a newer generation's chain owns Progressing now.
        if ((project.metadata.generation ?? 1) > identity.generation) return status ?? {};
        return {
          ...status,
          message,
          conditions: setConditions(
            status?.conditions,
            [
              {
                type: 'Progressing',
                status: 'False',
                observedGeneration: identity.generation,
                reason: REASON.RetriesExhausted,
                message,
              },
            ],
            deps.now(),
          ),
        };
      },
      { uid: identity.uid },
    );
  } catch (error) {
    // Retried errors (the API server unreachable or overloaded, conflicts exhausted) answer
    // 5xx/409: the broker delivers the dead letter again, and the next try may succeed. A
    // refusal that will not pass by itself (RBAC forbids the write) is logged with the whole
    // failure and acknowledged: answered 4xx the dead letter would be dropped just the same.
    if (!(error instanceof ReconcilerError) || error.retried) throw error;
    context.metrics.deadLetter('failed', failedFunction);
    context.logger.error(
      { ...fields, message, error: describeError(error) },
      'dead letter could not be recorded on the project',
    );
    return acknowledge('failed_permanent', `${fields.project}: the status write was refused`);
  }

  const superseded =
    result.outcome === 'unchanged' &&
    (result.object.metadata.generation ?? 1) > identity.generation;
  if (result.outcome === 'gone' || result.outcome === 'foreign' || superseded) {
    const verdict = superseded ? 'superseded' : result.outcome;
    context.metrics.deadLetter('stale', failedFunction);
    context.logger.info({ ...fields, verdict }, 'stale dead letter dropped');
    return acknowledge(
      'dropped_stale',
      `${fields.project} generation ${identity.generation}: ${verdict}`,
    );
  }
  context.metrics.deadLetter('recorded', failedFunction);
  context.span.setAttribute('reconciler.dead_letter.outcome', 'recorded');
  context.logger.warn({ ...fields, message }, 'dead letter recorded on the project');
  return undefined;
}
