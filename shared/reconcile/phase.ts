/**
 * What every phase function does around its own work (docs/architecture.md rules 1-3 and 6): decide
 * whether the event concerns the project as it is now, report a permanent failure as a
 * condition, and hand over to the next phase with a chain event.
 */
import type { CloudEvent } from 'cloudevents';
import type { ConditionType } from '../api/conditions.ts';
import { PHASES, type Phase } from '../api/phases.ts';
import { REASON, type Reason } from '../api/reasons.ts';
import type { SupabaseProjectStatus } from '../api/types.ts';
import { chainEvent } from '../events/chain.ts';
import { decideOnChange, freshness } from '../events/decisions.ts';
import type { ReceivedEvent } from '../events/parse.ts';
import type { ChainEventType } from '../events/types.ts';
import { formatKey, type ObjectKey } from '../k8s/objects.ts';
import type { PermanentError } from '../runtime/errors.ts';
import { acknowledge, type Acknowledgement } from '../runtime/handler.ts';
import { setConditions, type ConditionUpdate } from '../status/conditions.ts';
import { updateStatus } from '../status/write.ts';
import type { LiveProject, ProjectStore } from './project-store.ts';

/** The project a phase acts on, and which generation of it. */
export interface PhaseTarget {
  readonly key: ObjectKey;
  readonly uid: string;
  /** The generation this chain reconciles. */
  readonly generation: number;
  /** The object as just read from the API server (rule 1: decide on this, not the event). */
  readonly project: LiveProject;
}

/**
 * Resolves the project an event is about, or the reason to acknowledge and drop it.
 * ApiServerSource updates that start nothing (our own status writes, metadata changes) are
 * recognised from the event alone, before any API call (rule 3); everything else is checked
 * against the live object (rule 2: gone, recreated or superseded events are dropped).
 * @param event - the parsed event (resource or chain)
 * @param store - reads the live project
 */
export async function resolvePhaseTarget(
  event: ReceivedEvent,
  store: ProjectStore,
): Promise<PhaseTarget | Acknowledgement> {
  if (event.kind === 'ping') {
    return acknowledge('dropped_stale', 'a ping names no project');
  }
  let identity: { uid: string; generation: number };
  if (event.kind === 'resource') {
    if (event.action === 'delete') {
      return acknowledge('dropped_stale', `${formatKey(event.key)} was deleted`);
    }
    const decision = decideOnChange(event.object);
    if (!decision.start) {
      return decision.reason === 'Deleting'
        ? acknowledge('dropped_stale', `${formatKey(event.key)} is being deleted`)
        : acknowledge('dropped_own_write', `${formatKey(event.key)}: no new generation`);
    }
    identity = {
      uid: event.object.metadata.uid,
      generation: event.object.metadata.generation ?? 1,
    };
  } else {
    identity = { uid: event.uid, generation: event.generation };
  }
  const live = await store.get(event.key);
  const verdict = freshness(identity, live);
  if (verdict !== 'current' || !live) {
    return acknowledge(
      'dropped_stale',
      `${formatKey(event.key)} generation ${identity.generation}: ${verdict}`,
    );
  }
  if (live.metadata.deletionTimestamp) {
    return acknowledge('dropped_stale', `${formatKey(event.key)} is being deleted`);
  }
  return {
    key: event.key,
    uid: live.metadata.uid,
    // An add/update starts the chain for the newest generation; a chain event carries its own.
    generation: event.kind === 'resource' ? (live.metadata.generation ?? 1) : identity.generation,
    project: live,
  };
}

/** The phases of one chain, in order (PHASES lists them first, in this order). */
const CHAIN_ORDER: readonly Phase[] = PHASES.slice(0, PHASES.indexOf('Running') + 1);

/**
 * The phase to store when a phase proposes `proposed` while the status says `current`.
 * Events arrive at least once and in no order, so a late duplicate of an earlier phase's
 * event must not move the phase back; a new chain (a new observedGeneration) starts over.
 * While an update of a Running project is under way the phase stays `Updating`.
 */
export function nextPhase(current: Phase | undefined, proposed: Phase, newChain: boolean): Phase {
  if (newChain || current === undefined) return proposed;
  if (proposed === 'Failed' || proposed === 'Terminating' || current === 'Failed') return proposed;
  if (current === 'Terminating') return current;
  if (current === 'Updating') return proposed === 'Running' ? 'Running' : 'Updating';
  const from = CHAIN_ORDER.indexOf(current);
  const to = CHAIN_ORDER.indexOf(proposed);
  return to >= 0 && from > to ? current : proposed;
}

/**
 * Whether a phase's message goes with the phase stored: not when the phase was held (a late
 * copy of an earlier phase's event under Running, or a deletion under way), since the message
 * describes the phase it was written with; during an update the phase stays Updating and each
 * step's message shows how far it got.
 * @param proposed - the phase the change proposed (undefined: none)
 * @param stored - the phase nextPhase chose
 */
export function messageApplies(proposed: Phase | undefined, stored: Phase | undefined): boolean {
  return proposed === undefined || stored === proposed || stored === 'Updating';
}

/** How a phase's status change is described: conditions to merge and the other fields. */
export interface StatusChange {
  readonly conditions?: readonly ConditionUpdate[];
  readonly phase?: Phase;
  readonly message?: string;
  /** Any other status fields this phase owns (dependencies, lastTraceId, ...). */
  readonly fields?: Partial<Omit<SupabaseProjectStatus, 'conditions' | 'phase' | 'message'>>;
}

/**
 * Writes a phase's status change through the one write path (merge by condition type,
 * nothing written when nothing changes, retried on conflicts).
 * @returns whether the project still exists as the target (false: deleted or recreated)
 */
export async function writePhaseStatus(
  store: ProjectStore,
  target: PhaseTarget,
  change: StatusChange,
  now: Date = new Date(),
): Promise<boolean> {
  const result = await updateStatus(
    store,
    target.key,
    (status) => {
      const phase = change.phase
        ? nextPhase(
            status?.phase,
            change.phase,
            (change.fields?.observedGeneration ?? 0) > (status?.observedGeneration ?? 0),
          )
        : undefined;
      return {
        ...status,
        ...change.fields,
        ...(phase ? { phase } : {}),
        ...(change.message !== undefined && messageApplies(change.phase, phase)
          ? { message: change.message }
          : {}),
        ...(change.conditions
          ? { conditions: setConditions(status?.conditions, change.conditions, now) }
          : {}),
      };
    },
    { uid: target.uid },
  );
  return result.outcome === 'written' || result.outcome === 'unchanged';
}

/**
 * Reports a problem that retrying cannot fix (rule 6): the phase's condition and Ready say
 * why, Progressing stops, the phase is Failed. The event is then acknowledged without a reply:
 * no retry, and no rollback. A spec change or a reconcile request starts again.
 * @param condition - the condition of the failing phase, e.g. PostgreSQLConnected
 * @param also - other conditions and fields of the phase to record in the same write (the
 *   failure's own conditions win over these)
 */
export async function failPermanently(
  store: ProjectStore,
  target: PhaseTarget,
  condition: ConditionType,
  error: PermanentError,
  also: Pick<StatusChange, 'conditions' | 'fields'> = {},
): Promise<Acknowledgement> {
  const failed = (type: ConditionType, reason: Reason): ConditionUpdate => ({
    type,
    status: 'False',
    observedGeneration: target.generation,
    reason,
    message: error.message,
  });
  await writePhaseStatus(store, target, {
    phase: 'Failed',
    message: error.message,
    ...(also.fields ? { fields: also.fields } : {}),
    conditions: [
      ...(also.conditions ?? []),
      failed(condition, error.reason),
      failed('Ready', error.reason),
      failed('Progressing', REASON.Failed),
    ],
  });
  return acknowledge('failed_permanent', `${formatKey(target.key)}: ${error.reason}`);
}

/**
 * The event that hands the project to the next phase.
 * @param type - the chain event type this phase replies with
 * @param from - this function's name
 */
export function nextPhaseEvent(
  type: ChainEventType,
  from: string,
  target: PhaseTarget,
  data: Readonly<Record<string, unknown>> = {},
): CloudEvent<Readonly<Record<string, unknown>>> {
  return chainEvent({
    type,
    from,
    key: target.key,
    uid: target.uid,
    generation: target.generation,
    data,
  });
}

/** Whether a result of resolvePhaseTarget is a target (not an acknowledgement). */
export function isPhaseTarget(value: PhaseTarget | Acknowledgement): value is PhaseTarget {
  return 'project' in value;
}
