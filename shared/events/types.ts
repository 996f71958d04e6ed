/**
 * Every CloudEvent type the reconciler consumes or produces, in one place.
 * Knative's own types are fixed by Knative (knative-facts.md §1.1, §4); ours follow the
 * reverse-DNS convention `dev.reconciler.supabase.<noun>.<past-tense verb>`.
 */

/** ApiServerSource in `mode: Resource`: the whole object is the event data. */
export const API_SERVER_EVENT = {
  add: 'dev.knative.apiserver.resource.add',
  update: 'dev.knative.apiserver.resource.update',
  delete: 'dev.knative.apiserver.resource.delete',
} as const;

/**
 * ApiServerSource `delete` events: only finalize acts on them, but a Trigger whose filter
 * matches the source rather than the type routes them to every subscriber. Each phase
 * function lists this among the types it accepts and acknowledges it (2xx, no reply), so such
 * an event is neither retried nor dead-lettered. deploy/'s Triggers filter by type as well.
 */
export const ACKNOWLEDGED_DELETE = API_SERVER_EVENT.delete;

/** PingSource ticks (the periodic resync). */
export const PING_EVENT = 'dev.knative.sources.ping';

/** The events of the reconciliation chain, each the reply of one phase. */
export const CHAIN_EVENT = {
  dependenciesValidated: 'dev.reconciler.supabase.dependencies.validated',
  databaseInitialized: 'dev.reconciler.supabase.database.initialized',
  secretsReady: 'dev.reconciler.supabase.secrets.ready',
  componentsDeployed: 'dev.reconciler.supabase.components.deployed',
  reconcileRequested: 'dev.reconciler.supabase.reconcile.requested',
} as const;

export type ApiServerEventType = (typeof API_SERVER_EVENT)[keyof typeof API_SERVER_EVENT];
export type ChainEventType = (typeof CHAIN_EVENT)[keyof typeof CHAIN_EVENT];

/** The change an ApiServerSource event reports. */
export type ResourceAction = keyof typeof API_SERVER_EVENT;

/**
 * Extension attributes of chain events. CloudEvents extension names are lower-case
 * alphanumerics only, hence no separators.
 */
export const CHAIN_EXTENSION = {
  projectUid: 'projectuid',
  generation: 'generation',
  /**
   * On a reconcile request made while a chain was under way: that chain's trace id
   * (`status.lastTraceId` as the requester read it). Once that chain has ended, the request
   * asked for nothing it did not do.
   */
  runningTrace: 'runningtrace',
  /** CloudEvents distributed-tracing extension: the W3C trace context of the sender. */
  traceparent: 'traceparent',
  tracestate: 'tracestate',
} as const;

/** The `source` attribute of events a function emits: a URI-reference naming it. */
export function functionSource(functionName: string): string {
  return `/supabase-reconciler/${functionName}`;
}

/**
 * Every type above. A metric labelled by event type uses these and `other` for anything
 * else: a label value chosen by the sender would let it create series without bound.
 */
export const KNOWN_EVENT_TYPES: ReadonlySet<string> = new Set<string>([
  ...Object.values(API_SERVER_EVENT),
  PING_EVENT,
  ...Object.values(CHAIN_EVENT),
]);

/** The value of a metric's `type` label for an event type. */
export function eventTypeLabel(type: string): string {
  return KNOWN_EVENT_TYPES.has(type) ? type : 'other';
}
