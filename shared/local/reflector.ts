/**
 * List, then watch from the list's resourceVersion, for one resource in one scope, turning
 * what the API server reports into add/update/delete changes without losing any:
 *
 * - a watch that ends (server timeout, idle timeout, broken connection, the API server
 *   restarting) is opened again from the last resourceVersion seen, so every change made
 *   while it was down is replayed by the API server;
 * - bookmarks keep that resourceVersion fresh while nothing changes;
 * - 410 Gone (the resourceVersion is older than the API server keeps) → list again, and the
 *   difference with what was known is emitted (relist-diff.ts).
 *
 * Errors are retried with exponential backoff; only a first list refused for good (401, 403,
 * 404: wrong credentials, missing rights, resource not served) ends the reflector, through
 * `firstList`, so a misconfigured start fails loudly instead of waiting forever.
 */
import type { ResourceAction } from '../events/types.ts';
import {
  ListError,
  type ListWatchClient,
  type RawObject,
  type RunningWatch,
  type WatchEnd,
  type WatchTarget,
} from '../k8s/watch.ts';
import type { Logger } from '../telemetry/logger.ts';
import { objectKey, relistChanges } from './relist-diff.ts';
import { sleep } from './sink-post.ts';

/** How long to wait before trying again after an error. */
export interface ReconnectOptions {
  /** The first wait; it doubles after each failure in a row. Default 200 ms. */
  readonly initialBackoffMs?: number;
  /** The longest wait. Default 5000 ms. */
  readonly maxBackoffMs?: number;
}

/** Defaults of the reconnect options, in one place. */
export const RECONNECT_DEFAULTS = Object.freeze({
  initialBackoffMs: 200,
  maxBackoffMs: 5000,
} satisfies Required<ReconnectOptions>);

/** What the reflector counts. */
export interface ReflectorCounts {
  /** Lists made after the first (a watch expired with 410 Gone). */
  relists: number;
  /** Watches opened again after one ended. */
  rewatches: number;
}

/** What a reflector needs. */
export interface ReflectorOptions {
  readonly client: ListWatchClient;
  readonly target: WatchTarget;
  /** Emit `add` for every object of the first list (Knative's adapter emits nothing). */
  readonly announceExisting: boolean;
  /** Receives each change, in order. */
  readonly emit: (action: ResourceAction, object: RawObject) => void;
  readonly reconnect: Required<ReconnectOptions>;
  readonly logger: Logger;
  readonly counts: ReflectorCounts;
}

/** A running reflector. */
export interface Reflector {
  /** Resolves after the first list; rejects when it was refused for good. */
  readonly firstList: Promise<void>;
  /** Ends the list or watch in progress; resolves when the loop has ended. */
  stop(): Promise<void>;
}

/** A watch that ends sooner than this without reporting anything counts as a failure. */
const SHORTEST_HEALTHY_WATCH_MS = 1000;

/** Starts the loop. */
export function startReflector(options: ReflectorOptions): Reflector {
  const { client, target, reconnect, logger, counts } = options;
  const known = new Map<string, RawObject>();
  const halt = new AbortController();
  // A function, not the property: the type checker would narrow it to false after a check.
  const halted = (): boolean => halt.signal.aborted;
  let watch: RunningWatch | undefined;
  let resolveFirst: () => void = () => undefined;
  let rejectFirst: (error: Error) => void = () => undefined;
  const firstList = new Promise<void>((resolve, reject) => {
    resolveFirst = resolve;
    rejectFirst = reject;
  });
  // Rejections are for the caller of `ready`; a reflector nobody awaits must not crash.
  firstList.catch(() => undefined);

  const apply = (action: ResourceAction, object: RawObject): void => {
    if (action === 'delete') known.delete(objectKey(object));
    else known.set(objectKey(object), object);
    options.emit(action, object);
  };

  const loop = async (): Promise<void> => {
    let resourceVersion: string | undefined;
    let listed = false;
    let backoff = reconnect.initialBackoffMs;
    const wait = async (): Promise<void> => {
      await sleep(backoff, halt.signal);
      backoff = Math.min(backoff * 2, reconnect.maxBackoffMs);
    };
    while (!halted()) {
      if (resourceVersion === undefined) {
        let list;
        try {
          list = await client.list(target, halt.signal);
        } catch (error) {
          if (halted()) break;
          const refused = refusal(error, target);
          if (!listed && refused) {
            rejectFirst(refused);
            return;
          }
          logger.warn({ resource: describe(target), why: message(error) }, 'list failed; retrying');
          await wait();
          continue;
        }
        if (listed) {
          counts.relists++;
          for (const change of relistChanges(known, list.items))
            apply(change.action, change.object);
        } else {
          for (const object of list.items) known.set(objectKey(object), object);
          if (options.announceExisting)
            for (const object of list.items) options.emit('add', object);
        }
        resourceVersion = list.resourceVersion;
        listed = true;
        backoff = reconnect.initialBackoffMs;
        resolveFirst();
      }

      const started = performance.now();
      let reported = false as boolean;
      const from: string = resourceVersion;
      watch = client.watch(target, from, (notice) => {
        reported = true;
        if (notice.type === 'BOOKMARK') {
          resourceVersion = notice.resourceVersion;
          return;
        }
        resourceVersion = notice.object.metadata.resourceVersion;
        apply(ACTION[notice.type], notice.object);
      });
      const end: WatchEnd = await watch.ended;
      if (halted()) break;
      counts.rewatches++;
      if (end.outcome === 'expired') {
        logger.info(
          { resource: describe(target), resourceVersion: from, why: end.message },
          'watch expired (410 Gone); listing again and emitting what changed',
        );
        resourceVersion = undefined;
        continue;
      }
      const healthy = reported || performance.now() - started >= SHORTEST_HEALTHY_WATCH_MS;
      if (end.outcome === 'closed' && healthy) {
        backoff = reconnect.initialBackoffMs;
        logger.debug({ resource: describe(target) }, 'watch closed; watching again');
        continue;
      }
      logger.warn(
        {
          resource: describe(target),
          why: end.outcome === 'failed' ? end.message : 'closed at once',
        },
        'watch failed; watching again from the last resourceVersion',
      );
      await wait();
    }
  };

  const running = loop()
    .then(() => {
      // Stopped before the first list: `ready` must not stay pending (no-op once resolved).
      rejectFirst(new Error(`stopped before ${describe(target)} was listed`));
    })
    .catch((error: unknown) => {
      // Nothing above throws; should it, the first list must not hang.
      logger.error({ resource: describe(target), why: message(error) }, 'the watch loop failed');
      rejectFirst(error instanceof Error ? error : new Error(String(error)));
    });

  return {
    firstList,
    async stop() {
      halt.abort();
      watch?.stop();
      await running;
    },
  };
}

const ACTION = { ADDED: 'add', MODIFIED: 'update', DELETED: 'delete' } as const;

function describe(target: WatchTarget): string {
  const scope = target.namespace ?? 'all namespaces';
  const selector = target.labelSelector ? ` (${target.labelSelector})` : '';
  return `${target.plural}.${target.apiVersion} in ${scope}${selector}`;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The error a first list refused for good becomes: what is wrong and how to fix it.
 * @returns undefined when the failure may pass (network, 5xx, 429)
 */
function refusal(error: unknown, target: WatchTarget): Error | undefined {
  if (!(error instanceof ListError)) return undefined;
  const what = describe(target);
  switch (error.status) {
    case 401:
      return new Error(
        `cannot watch ${what}: the API server refused the kubeconfig's credentials (HTTP 401); log in again or fix the kubeconfig's user`,
        { cause: error },
      );
    case 403:
      return new Error(
        `cannot watch ${what}: the kubeconfig's user may not list it (HTTP 403); grant it get, list and watch on ${target.plural}`,
        { cause: error },
      );
    case 404:
      return new Error(
        `cannot watch ${what}: the API server does not serve it (HTTP 404); install its CustomResourceDefinition (SupabaseProjects: kubectl apply -f deploy/crd/)`,
        { cause: error },
      );
    default:
      return undefined;
  }
}
