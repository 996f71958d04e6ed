/**
 * The decisions every function makes on an event before doing any work (docs/architecture.md rules
 * 1-3): is the event about the object that exists now, and does an update start anything.
 */
import { ROTATE_JWT_SECRET_ANNOTATION } from '../secrets/names.ts';
import type { ResourceObject } from './schema.ts';

/**
 * Annotation a user (or a tool) sets to ask for a reconciliation without changing the spec,
 * as Flux's `reconcile.fluxcd.io/requestedAt`: any new value starts one chain, after which
 * `status.lastHandledReconcileAt` holds that value.
 */
export const RECONCILE_REQUEST_ANNOTATION = 'supabase.reconciler.dev/requestedAt';

/**
 * Requests made by annotation, each with the status field that records the value a chain was
 * started for. The first phase writes those fields when it starts the chain, so the update
 * events of the chain's own status writes do not start it again.
 */
export const REQUEST_ANNOTATIONS = [
  { annotation: RECONCILE_REQUEST_ANNOTATION, statusField: 'lastHandledReconcileAt' },
  { annotation: ROTATE_JWT_SECRET_ANNOTATION, statusField: 'lastHandledJwtRotation' },
] as const;

/** The status fields that record handled annotation requests. */
export type HandledRequestField = (typeof REQUEST_ANNOTATIONS)[number]['statusField'];

/**
 * The status fields a chain started now records: each request annotation's current value.
 * @param annotations - the project's annotations
 */
export function handledRequestFields(
  annotations: Readonly<Record<string, string>> | undefined,
): Partial<Record<HandledRequestField, string>> {
  const fields: Partial<Record<HandledRequestField, string>> = {};
  for (const { annotation, statusField } of REQUEST_ANNOTATIONS) {
    const value = annotations?.[annotation];
    if (value !== undefined) fields[statusField] = value;
  }
  return fields;
}

/** Why an add/update event starts a reconciliation chain, or why it does not. */
export type ChangeDecision =
  | {
      readonly start: true;
      readonly reason: 'NeverReconciled' | 'NewGeneration' | 'ReconcileRequested';
    }
  | { readonly start: false; readonly reason: 'NoNewGeneration' | 'Deleting' };

/**
 * Decides from the event's object alone, without an API call, whether an add or update
 * starts a chain. Every status write of ours causes an update event; so does a change of
 * labels or annotations. Neither moves `metadata.generation` (the API server bumps it on
 * spec changes only), so "generation already observed" recognises them.
 * @param object - the object carried by the ApiServerSource event
 */
export function decideOnChange(object: ResourceObject): ChangeDecision {
  if (object.metadata.deletionTimestamp) return { start: false, reason: 'Deleting' };
  const observed = object.status?.observedGeneration;
  if (observed === undefined) return { start: true, reason: 'NeverReconciled' };
  if ((object.metadata.generation ?? 0) > observed) return { start: true, reason: 'NewGeneration' };
  for (const { annotation, statusField } of REQUEST_ANNOTATIONS) {
    const requested = object.metadata.annotations?.[annotation];
    if (requested !== undefined && requested !== object.status?.[statusField]) {
      return { start: true, reason: 'ReconcileRequested' };
    }
  }
  return { start: false, reason: 'NoNewGeneration' };
}

/** What an event's uid and generation are compared with: the live object's. */
export interface LiveIdentity {
  readonly metadata: { readonly uid: string; readonly generation?: number | undefined };
}

/** How an event relates to the object that exists now. */
export type Freshness = 'current' | 'gone' | 'foreign' | 'superseded';

/**
 * Compares an event's identity with the live object (docs/architecture.md rule 2).
 * - `gone`: the object no longer exists;
 * - `foreign`: the uid differs: the object was deleted and created again under the name;
 * - `superseded`: the object's generation is newer: a newer chain is (or will be) running;
 * - `current`: act on it.
 * Stale events are acknowledged (2xx) and dropped, never retried.
 * @param event - uid and generation the event carries
 * @param live - the object as just read, or undefined when it does not exist
 */
export function freshness(
  event: { readonly uid: string; readonly generation: number },
  live: LiveIdentity | undefined,
): Freshness {
  if (!live) return 'gone';
  if (live.metadata.uid !== event.uid) return 'foreign';
  if ((live.metadata.generation ?? 0) > event.generation) return 'superseded';
  return 'current';
}
