/**
 * The local ApiServerSource: watches resources of the cluster in a kubeconfig and POSTs to a
 * sink the events Knative's ApiServerSource adapter (mode Resource) posts
 * (api-server-event.ts), so the functions receive under `npm start` what they receive under
 * Knative.
 *
 * Where it differs from the adapter, on purpose (knative-facts.md §1.5):
 * - on start it announces every existing object as `add` (the adapter announces nothing, and
 *   whatever changed while it was down is lost until a resync): what changed while the
 *   reconciler was stopped is reconciled at once. The functions drop what starts nothing from
 *   the event alone (validate-deps' decideOnChange; health-aggregate writes nothing when
 *   nothing changed). `announceExisting: false` gives the adapter's behaviour.
 * - after 410 Gone it lists again and emits the difference (the adapter emits nothing). An
 *   object gone meanwhile is announced by a `delete` carrying its last known state.
 * - events of one object are posted in order, those of different objects concurrently (the
 *   adapter sends one at a time per watch).
 * Deletions made while the process was not running are not announced (nothing was known to
 * compare with); a project's finalizer keeps it until finalize ran, so it is announced as an
 * `add` with its deletionTimestamp, which finalize handles. The resync PingSource covers the
 * rest, as it does for Knative's adapter.
 */
import type { ResourceAction } from '../events/types.ts';
import { connectListWatch, type KubeConfigSource, type RawObject } from '../k8s/watch.ts';
import type { Logger } from '../telemetry/logger.ts';
import { apiServerMessage, guessPlural } from './api-server-event.ts';
import { keyedQueue } from './keyed-queue.ts';
import {
  RECONNECT_DEFAULTS,
  startReflector,
  type ReconnectOptions,
  type Reflector,
  type ReflectorCounts,
} from './reflector.ts';
import { sinkPoster, type DeliveryCounts, type DeliveryOptions } from './sink-post.ts';

export type { KubeConfigSource } from '../k8s/watch.ts';

/** One kind of object to watch (an entry of the ApiServerSource's `spec.resources`). */
export interface SourceResource {
  /** `<group>/<version>`, or `v1` for the core group. */
  readonly apiVersion: string;
  readonly kind: string;
  /** The resource name in URLs. Default: guessed from the Kind, as the adapter does. */
  readonly plural?: string;
  /** Only objects with these labels, e.g. `app.kubernetes.io/managed-by=supabase-reconciler`. */
  readonly labelSelector?: string;
}

/** The resources the reconciler's two ApiServerSources watch. */
export const RECONCILER_RESOURCES: readonly SourceResource[] = Object.freeze([
  { apiVersion: 'supabase.reconciler.dev/v1alpha1', kind: 'SupabaseProject' },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    labelSelector: 'app.kubernetes.io/managed-by=supabase-reconciler',
  },
]);

/** How the source is set up. */
export interface ApiServerSourceOptions {
  /** The cluster: a loaded KubeConfig, a kubeconfig file, or undefined for the default lookup. */
  readonly kubeconfig?: KubeConfigSource;
  /** The source's own namespace: sent as `Kn-Namespace`, as the adapter does. */
  readonly namespace: string;
  readonly resources: readonly SourceResource[];
  /** The namespaces to watch, each with its own list and watch. Default: all namespaces. */
  readonly namespaces?: readonly string[];
  /** Where events are posted: the broker's ingress URL. */
  readonly sink: string;
  readonly logger: Logger;
  /** Announce every existing object as `add` on start. Default true (see the header). */
  readonly announceExisting?: boolean;
  /** Retries and timeout of each post (sink-post.ts). */
  readonly delivery?: DeliveryOptions;
  /** Backoff between list or watch attempts after an error (reflector.ts). */
  readonly reconnect?: ReconnectOptions;
  /** Posts in flight at once, over all objects. Default 8. */
  readonly concurrency?: number;
}

/** What the source has done so far. */
export interface ApiServerSourceCounts extends DeliveryCounts, ReflectorCounts {
  /** Events emitted (queued for posting). */
  emitted: number;
}

/** A running source. */
export interface ApiServerSource {
  /**
   * Resolves once every resource has been listed (and, by default, its objects queued as
   * `add`); from then on no change is missed. Rejects when the kubeconfig is unusable or a
   * first list is refused for good (credentials, rights, resource not served), with a message
   * saying what to fix; the caller should then `stop()`. Network errors are retried, so it may
   * stay pending while the API server cannot be reached.
   */
  readonly ready: Promise<void>;
  readonly counts: Readonly<ApiServerSourceCounts>;
  /** Resolves when every event emitted so far has been delivered or given up. */
  drained(): Promise<void>;
  /** Stops watching; events not yet delivered are dropped (a restart announces them again). */
  stop(): Promise<void>;
}

/** Defaults of the source's own options, in one place. */
export const API_SERVER_SOURCE_DEFAULTS = Object.freeze({
  announceExisting: true,
  concurrency: 8,
});

/**
 * Starts the source.
 * @throws Error at once when the sink URL or an option is invalid, or no resource or an empty
 *   list of namespaces is given
 */
export function startApiServerSource(options: ApiServerSourceOptions): ApiServerSource {
  const { logger } = options;
  if (options.resources.length === 0)
    throw new Error('the ApiServerSource needs at least one resource to watch');
  if (options.namespaces?.length === 0)
    throw new Error(
      'the ApiServerSource was given an empty list of namespaces: list at least one, or leave it out to watch all namespaces',
    );
  if (options.namespace === '')
    throw new Error("the ApiServerSource's namespace (sent as Kn-Namespace) must not be empty");
  const poster = sinkPoster(options.sink, options.delivery ?? {}, logger);
  const queue = keyedQueue(options.concurrency ?? API_SERVER_SOURCE_DEFAULTS.concurrency);
  const reconnect = { ...RECONNECT_DEFAULTS, ...definedOnly(options.reconnect ?? {}) };
  const halt = new AbortController();
  const reflectorCounts: ReflectorCounts = { relists: 0, rewatches: 0 };
  let emitted = 0;
  const counts: Readonly<ApiServerSourceCounts> = {
    get emitted() {
      return emitted;
    },
    get delivered() {
      return poster.counts.delivered;
    },
    get failed() {
      return poster.counts.failed;
    },
    get abandoned() {
      return poster.counts.abandoned;
    },
    get relists() {
      return reflectorCounts.relists;
    },
    get rewatches() {
      return reflectorCounts.rewatches;
    },
  };
  const reflectors: Reflector[] = [];
  let stopped = false;
  const isStopped = (): boolean => stopped;

  const ready = (async () => {
    const client = await connectListWatch(options.kubeconfig);
    const emit = (action: ResourceAction, object: RawObject): void => {
      if (halt.signal.aborted) return;
      emitted++;
      const key = `${object.apiVersion}/${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
      queue.push(key, async () => {
        // id and time are set at sending, as the adapter sets them.
        const message = apiServerMessage({
          action,
          object,
          source: client.server,
          sourceNamespace: options.namespace,
        });
        const label = {
          type: message.headers['Ce-Type'] ?? action,
          id: message.headers['Ce-Id'] ?? '',
          subject: message.headers['Ce-Subject'] ?? '',
        };
        if (await poster.post(message, label, halt.signal))
          logger.debug({ event: label }, 'event posted');
      });
    };
    const scopes = options.namespaces ?? [undefined];
    for (const resource of options.resources)
      for (const namespace of scopes) {
        if (isStopped()) return;
        reflectors.push(
          startReflector({
            client,
            target: {
              apiVersion: resource.apiVersion,
              kind: resource.kind,
              plural: resource.plural ?? guessPlural(resource.kind),
              namespace,
              labelSelector: resource.labelSelector,
            },
            announceExisting:
              options.announceExisting ?? API_SERVER_SOURCE_DEFAULTS.announceExisting,
            emit,
            reconnect,
            logger,
            counts: reflectorCounts,
          }),
        );
      }
    await Promise.all(reflectors.map((r) => r.firstList));
    logger.info(
      {
        source: client.server,
        resources: options.resources.map((r) => `${r.kind}.${r.apiVersion}`),
        announced: emitted,
      },
      'ApiServerSource watching',
    );
  })();
  ready.catch(() => undefined);

  return {
    ready,
    counts,
    drained: () => queue.idle(),
    async stop() {
      stopped = true;
      await Promise.all(reflectors.map((r) => r.stop()));
      halt.abort();
      await queue.idle();
      poster.close();
    },
  };
}

function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}
