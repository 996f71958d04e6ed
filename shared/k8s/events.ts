/**
 * Kubernetes Events about the objects the reconciler handles, as `kubectl describe` and
 * `kubectl get events` show them: core/v1 Events with the reconciler function as source,
 * a CamelCase reason and a message that never holds a secret value.
 */
import { createHash } from 'node:crypto';
import type * as ClientNode from '@kubernetes/client-node';
import type { CoreV1Api } from '@kubernetes/client-node';
import type { EventReason, Reason } from '../api/reasons.ts';
import { ConflictError } from '../runtime/errors.ts';
import { apiCall } from './api-call.ts';
import { loadClient } from './client.ts';
import type { KubeStoreOptions } from './custom-objects.ts';

/** The object an Event is about. */
export interface InvolvedObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

/** One Event to record. */
export interface EventRecord {
  readonly type: 'Normal' | 'Warning';
  /** CamelCase, from shared/api/reasons.ts: a condition's reason or an EVENT_REASON. */
  readonly reason: Reason | EventReason;
  /** What happened and what to do; never a secret value. */
  readonly message: string;
}

/** Records Events. */
export interface EventRecorder {
  /** @throws ReconcilerError translated from the API server's answer */
  record(object: InvolvedObject, event: EventRecord): Promise<void>;
}

/** Longest message kept (the events.k8s.io/v1 limit, also sensible for core/v1). */
const MESSAGE_LIMIT = 1024;

/** Lost races on one Event's count before the increment is given up (the Event exists). */
const MAX_COUNT_ATTEMPTS = 5;

/**
 * The name of the Event that stands for one kind of occurrence: the same object, source,
 * type, reason and message always map to the same name, so a repetition finds the Event of
 * the last one and raises its count, as client-go's EventCorrelator does in memory (a
 * function scaled to zero has no memory between occurrences: the name is the memory).
 * @param object - the object the Event is about
 * @param event - type, reason and message
 * @param component - the reporting function
 */
export function eventName(object: InvolvedObject, event: EventRecord, component: string): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([object.uid, component, event.type, event.reason, event.message]))
    .digest('hex')
    .slice(0, 16);
  // A DNS subdomain of at most 253 characters: the object's name, cut, then the digest.
  return `${object.name.slice(0, 253 - 17).replace(/[.-]+$/, '')}.${digest}`;
}

/**
 * An EventRecorder that creates core/v1 Events and aggregates repetitions: an occurrence
 * equal to an earlier one (see eventName) raises that Event's `count` and `lastTimestamp`
 * instead of creating another object. The client is loaded on the first call.
 * @param options - cluster access, the metrics observer, and `component`: the function name,
 *   shown as the Event's source
 */
export function kubeEventRecorder(
  options: KubeStoreOptions & { readonly component: string },
): EventRecorder {
  let api: Promise<{ core: CoreV1Api; k8s: typeof ClientNode }> | undefined;
  const client = () => {
    api ??= loadClient(options).then(({ k8s, kubeConfig }) => ({
      core: kubeConfig.makeApiClient(k8s.CoreV1Api),
      k8s,
    }));
    return api;
  };
  const { component, observe } = options;
  return {
    async record(object, event) {
      const { core, k8s } = await client();
      const message =
        event.message.length > MESSAGE_LIMIT
          ? `${event.message.slice(0, MESSAGE_LIMIT - 1)}…`
          : event.message;
      const name = eventName(object, { ...event, message }, component);
      const what = `Event ${event.reason} for ${object.kind} ${object.namespace}/${object.name}`;
      const { namespace } = object;
      const create = (now: Date) =>
        apiCall({ verb: 'create', resource: 'events', action: `create ${what}`, observe }, () =>
          core.createNamespacedEvent({
            namespace,
            body: {
              metadata: { name, namespace },
              involvedObject: { ...object },
              type: event.type,
              reason: event.reason,
              message,
              source: { component },
              reportingComponent: component,
              reportingInstance: component,
              firstTimestamp: now,
              lastTimestamp: now,
              count: 1,
            },
          }),
        );
      try {
        await create(new Date());
        return;
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
      }
      // The Event of an earlier occurrence exists: count this one on it.
      for (let attempt = 1; ; attempt++) {
        const existing = await apiCall(
          { verb: 'get', resource: 'events', action: `get ${what}`, observe, absentOn404: true },
          () => core.readNamespacedEvent({ namespace, name }),
        );
        try {
          if (!existing) {
            // Expired (the API server keeps Events for an hour by default) since the create.
            await create(new Date());
            return;
          }
          await apiCall(
            { verb: 'patch', resource: 'events', action: `count ${what}`, observe },
            () =>
              core.patchNamespacedEvent(
                {
                  namespace,
                  name,
                  body: {
                    // The precondition makes two concurrent increments count twice, not once.
                    metadata: { resourceVersion: existing.metadata.resourceVersion },
                    count: (existing.count ?? 1) + 1,
                    lastTimestamp: new Date().toISOString(),
                  },
                },
                k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
              ),
          );
          return;
        } catch (error) {
          if (!(error instanceof ConflictError) || attempt >= MAX_COUNT_ATTEMPTS) throw error;
        }
      }
    },
  };
}
