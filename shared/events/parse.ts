/**
 * From a received CloudEvent (already parsed and validated as a CloudEvent by the runtime)
 * to a typed event the handlers decide on. Anything that does not fit is refused with a
 * MalformedEventError (400, not retried) that says precisely what is wrong.
 */
import { isValidTraceId } from '@opentelemetry/api';
import type { CloudEventV1 } from 'cloudevents';
import type { ObjectKey } from '../k8s/objects.ts';
import { isNamespaceName, isObjectName } from '../k8s/names.ts';
import { describeValue, truncate } from '../runtime/describe.ts';
import { MalformedEventError } from '../runtime/errors.ts';
import { checkShape, ResourceObjectSchema, type ResourceObject } from './schema.ts';
import { parseChainSubject } from './subject.ts';
import {
  API_SERVER_EVENT,
  CHAIN_EVENT,
  CHAIN_EXTENSION,
  PING_EVENT,
  type ChainEventType,
  type ResourceAction,
} from './types.ts';

/** An ApiServerSource event about one object. */
export interface ResourceEvent {
  readonly kind: 'resource';
  readonly action: ResourceAction;
  readonly key: ObjectKey;
  readonly object: ResourceObject;
}

/** An event of our reconciliation chain. */
export interface ChainEvent {
  readonly kind: 'chain';
  readonly type: ChainEventType;
  readonly key: ObjectKey;
  /** The uid of the project the chain was started for. */
  readonly uid: string;
  /** The generation of the project the chain was started for. */
  readonly generation: number;
  /** When the event was made (its `time` attribute, RFC 3339), when it says. */
  readonly time?: string | undefined;
  /** The trace id of the chain the sender saw under way, when it says (CHAIN_EXTENSION). */
  readonly runningTrace?: string | undefined;
}

/** A PingSource tick. */
export interface PingEvent {
  readonly kind: 'ping';
}

/** Every event a function can receive, by kind. */
export type ReceivedEvent = ResourceEvent | ChainEvent | PingEvent;

/** What a function accepts: the API kind of its resource events and its event types. */
export interface Accepts {
  /** `apiVersion` and `kind` of the objects its ApiServerSource events must be about. */
  readonly resource?: { readonly apiVersion: string; readonly kind: string };
  /** The CloudEvent types it handles. */
  readonly types: readonly string[];
}

const RESOURCE_ACTIONS = new Map<string, ResourceAction>(
  Object.entries(API_SERVER_EVENT).map(([action, type]) => [type, action as ResourceAction]),
);
const CHAIN_TYPES = new Set<string>(Object.values(CHAIN_EVENT));

/**
 * Turns a CloudEvent into a typed event.
 * @param event - a CloudEvent (the runtime has checked the required attributes)
 * @param accepts - what the receiving function handles
 * @throws MalformedEventError naming the attribute or field at fault
 */
export function parseEvent(event: CloudEventV1<unknown>, accepts: Accepts): ReceivedEvent {
  if (!accepts.types.includes(event.type)) {
    throw new MalformedEventError(
      `event type ${describeValue(event.type)} is not handled here; expected one of: ${accepts.types.join(', ')}`,
    );
  }
  const action = RESOURCE_ACTIONS.get(event.type);
  if (action) return parseResourceEvent(event, action, accepts);
  if (CHAIN_TYPES.has(event.type)) return parseChainEvent(event);
  if (event.type === PING_EVENT) return { kind: 'ping' };
  throw new MalformedEventError(`event type ${describeValue(event.type)} has no parser`);
}

function parseResourceEvent(
  event: CloudEventV1<unknown>,
  action: ResourceAction,
  accepts: Accepts,
): ResourceEvent {
  // An empty body arrives as data "" in binary mode; a blank one is no data either.
  const text = typeof event.data === 'string' ? event.data.trim() : undefined;
  const data = text === undefined ? event.data : text === '' ? undefined : parseJson(text);
  if (data === undefined || data === null) {
    throw new MalformedEventError(
      'the event has no data: ApiServerSource must run with `mode: Resource` so that the object is the data',
    );
  }
  const object = checkShape(ResourceObjectSchema, data, 'the event data (the object)');
  const expected = accepts.resource;
  if (expected && (object.apiVersion !== expected.apiVersion || object.kind !== expected.kind)) {
    throw new MalformedEventError(
      `the event is about a ${truncate(object.apiVersion, 100)} ${truncate(object.kind, 100)}; this function handles ${expected.apiVersion} ${expected.kind}`,
    );
  }
  return {
    kind: 'resource',
    action,
    key: { namespace: object.metadata.namespace, name: object.metadata.name },
    object,
  };
}

function parseChainEvent(event: CloudEventV1<unknown>): ChainEvent {
  const key = event.subject === undefined ? undefined : parseChainSubject(event.subject);
  if (!key || !isNamespaceName(key.namespace) || !isObjectName(key.name)) {
    throw new MalformedEventError(
      `subject ${describeValue(event.subject ?? null)} is not namespaces/<namespace>/supabaseprojects/<name> with Kubernetes names (a DNS-1123 label of at most 63 characters, a DNS-1123 subdomain of at most 253)`,
    );
  }
  const uid = event[CHAIN_EXTENSION.projectUid];
  if (typeof uid !== 'string' || uid.length === 0 || uid.length > 128) {
    throw new MalformedEventError(
      `extension ${CHAIN_EXTENSION.projectUid} (the project's uid) is missing or longer than 128 characters`,
    );
  }
  return {
    kind: 'chain',
    type: event.type as ChainEventType,
    key,
    uid,
    generation: parseGeneration(event[CHAIN_EXTENSION.generation]),
    ...(typeof event.time === 'string' ? { time: event.time } : {}),
    ...parseRunningTrace(event[CHAIN_EXTENSION.runningTrace]),
  };
}

/** A W3C trace id: 32 hex digits, not all zero. */
function parseRunningTrace(value: unknown): { runningTrace?: string } {
  if (value === undefined) return {};
  if (typeof value !== 'string' || !isValidTraceId(value)) {
    throw new MalformedEventError(
      `extension ${CHAIN_EXTENSION.runningTrace} must be a trace id (32 hex digits, not all zero), got ${describeValue(value)}`,
    );
  }
  return { runningTrace: value };
}

/** Binary mode carries every extension as a string; structured mode may carry a number. */
function parseGeneration(value: unknown): number {
  const generation = typeof value === 'string' && /^[0-9]+$/.test(value) ? Number(value) : value;
  if (typeof generation !== 'number' || !Number.isSafeInteger(generation) || generation < 1) {
    throw new MalformedEventError(
      `extension ${CHAIN_EXTENSION.generation} must be a positive integer, got ${describeValue(value ?? null)}`,
    );
  }
  return generation;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new MalformedEventError('the event data is not JSON');
  }
}
