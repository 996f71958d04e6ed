/**
 * Kubernetes Events about the objects the reconciler handles, as `kubectl describe` and
 * `kubectl get events` show them: core/v1 Events with the reconciler function as source,
 * a CamelCase reason and a message that never holds a secret value.
 */
import { randomBytes } from 'node:crypto';
import type { CoreV1Api } from '@kubernetes/client-node';
import type { EventReason, Reason } from '../api/reasons.ts';
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

/**
 * An EventRecorder that creates core/v1 Events; the client is loaded on the first call.
 * @param options - cluster access, the metrics observer, and `component`: the function name,
 *   shown as the Event's source
 */
export function kubeEventRecorder(
  options: KubeStoreOptions & { readonly component: string },
): EventRecorder {
  let api: Promise<CoreV1Api> | undefined;
  const client = (): Promise<CoreV1Api> => {
    api ??= loadClient(options).then(({ k8s, kubeConfig }) =>
      kubeConfig.makeApiClient(k8s.CoreV1Api),
    );
    return api;
  };
  return {
    async record(object, event) {
      const core = await client();
      const now = new Date();
      const message =
        event.message.length > MESSAGE_LIMIT
          ? `${event.message.slice(0, MESSAGE_LIMIT - 1)}…`
          : event.message;
      await apiCall(
        {
          verb: 'create',
          resource: 'events',
          action: `create Event ${event.reason} for ${object.kind} ${object.namespace}/${object.name}`,
          observe: options.observe,
        },
        () =>
          core.createNamespacedEvent({
            namespace: object.namespace,
            body: {
              // client-go's naming: the object's name and a unique suffix.
              metadata: {
                name: `${object.name}.${randomBytes(8).toString('hex')}`,
                namespace: object.namespace,
              },
              involvedObject: { ...object },
              type: event.type,
              reason: event.reason,
              message,
              source: { component: options.component },
              reportingComponent: options.component,
              reportingInstance: options.component,
              firstTimestamp: now,
              lastTimestamp: now,
              count: 1,
            },
          }),
      );
    },
  };
}
