/**
 * Building the events of the reconciliation chain: the reply each phase sends, which the
 * Broker routes to the next phase.
 */
import { CloudEvent } from 'cloudevents';
import type { ObjectKey } from '../k8s/objects.ts';
import { chainSubject } from './subject.ts';
import { CHAIN_EXTENSION, functionSource, type ChainEventType } from './types.ts';

/** What a chain event says: which project, which generation of it, and from where. */
export interface ChainEventInput {
  readonly type: ChainEventType;
  /** The function sending it (its Knative Service name). */
  readonly from: string;
  readonly key: ObjectKey;
  readonly uid: string;
  readonly generation: number;
  /**
   * W3C trace context of the sender's span, carried as the CloudEvents distributed-tracing
   * extension so that one reconciliation stays one trace whatever the broker does with
   * HTTP headers. The runtime's tracing helpers fill it in.
   */
  readonly traceparent?: string | undefined;
  readonly tracestate?: string | undefined;
  /** The trace id of the chain the sender saw under way (reconcile requests only). */
  readonly runningTrace?: string | undefined;
  /** Informational payload; receivers never decide on it (docs/architecture.md rule 1). */
  readonly data?: Readonly<Record<string, unknown>>;
}

/**
 * Builds a chain event. The CloudEvent constructor validates it, so a mistake here fails
 * in the sender, not as a 502 in the broker.
 */
export function chainEvent(input: ChainEventInput): CloudEvent<Readonly<Record<string, unknown>>> {
  return new CloudEvent({
    type: input.type,
    source: functionSource(input.from),
    subject: chainSubject(input.key),
    datacontenttype: 'application/json',
    data: input.data ?? {},
    [CHAIN_EXTENSION.projectUid]: input.uid,
    [CHAIN_EXTENSION.generation]: input.generation,
    ...(input.traceparent ? { [CHAIN_EXTENSION.traceparent]: input.traceparent } : {}),
    ...(input.tracestate ? { [CHAIN_EXTENSION.tracestate]: input.tracestate } : {}),
    ...(input.runningTrace ? { [CHAIN_EXTENSION.runningTrace]: input.runningTrace } : {}),
  });
}
