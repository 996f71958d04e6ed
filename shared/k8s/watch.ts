/**
 * Listing and watching any resource as the API server serves it, for the local
 * ApiServerSource (shared/local/api-server-source.ts). Objects stay plain JSON exactly as the
 * API server sent them: no model classes, no date conversion, no field dropped (the typed
 * clients of @kubernetes/client-node would turn a Deployment into a V1Deployment, losing
 * fields its model does not know). The watch is client-node's `Watch`; the list is one GET per
 * page with the same kubeconfig's TLS and credentials.
 */
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadClient } from './client.ts';

/**
 * Where the cluster is: a loaded KubeConfig, a kubeconfig file, or undefined for the default
 * lookup (KUBECONFIG, ~/.kube/config, then the in-cluster service account).
 */
export type KubeConfigSource = KubeConfig | string | undefined;

/** One resource to list and watch, in one namespace or in all of them. */
export interface WatchTarget {
  /** `<group>/<version>`, or `v1` for the core group. */
  readonly apiVersion: string;
  readonly kind: string;
  /** The resource name in URLs, e.g. `deployments`. */
  readonly plural: string;
  /** Absent: every namespace (one cluster-wide list and watch). */
  readonly namespace?: string | undefined;
  /** A label selector in its string form, e.g. `app.kubernetes.io/managed-by=x`. */
  readonly labelSelector?: string | undefined;
}

/** The metadata fields the source reads; everything else is carried along untouched. */
export interface RawMetadata {
  readonly name: string;
  /** Absent for cluster-scoped objects. */
  readonly namespace?: string;
  readonly uid: string;
  readonly resourceVersion: string;
  readonly [field: string]: unknown;
}

/** An object as the API server returned it. */
export interface RawObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: RawMetadata;
  readonly [field: string]: unknown;
}

/** A complete list: every page, and the resourceVersion to watch from. */
export interface ObjectList {
  readonly resourceVersion: string;
  readonly items: readonly RawObject[];
}

/** One notification of a watch. */
export type WatchNotice =
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly object: RawObject }
  /** Nothing changed; the watch has reached this resourceVersion (allowWatchBookmarks). */
  | { readonly type: 'BOOKMARK'; readonly resourceVersion: string };

/** How a watch ended. */
export type WatchEnd =
  /**
   * The server closed it, or it was silent for 30 s (client-node's idle timeout): watch
   * again from the last resourceVersion.
   */
  | { readonly outcome: 'closed' }
  /** 410 Gone: the resourceVersion is older than the server keeps; list again. */
  | { readonly outcome: 'expired'; readonly message: string }
  /** The request failed (status, when the server answered) or the connection broke. */
  | { readonly outcome: 'failed'; readonly status?: number; readonly message: string };

/** A watch in progress. */
export interface RunningWatch {
  /** Resolves (never rejects) when the watch has ended, for whatever reason. */
  readonly ended: Promise<WatchEnd>;
  /** Ends the watch; `ended` then resolves `closed`. */
  stop(): void;
}

/** A list that failed; `status` is the API server's answer when it gave one. */
export class ListError extends Error {
  override readonly name = 'ListError';
  readonly status: number | undefined;
  constructor(message: string, status: number | undefined, options?: ErrorOptions) {
    super(message, options);
    this.status = status;
  }
}

/** Lists and watches against one cluster. */
export interface ListWatchClient {
  /** The API server URL of the kubeconfig's current cluster (the adapter's `source`). */
  readonly server: string;
  /**
   * Lists every object of the target, page by page (one consistent snapshot).
   * @throws ListError with the API server's status and message, or for a broken connection
   */
  list(target: WatchTarget, signal?: AbortSignal): Promise<ObjectList>;
  /**
   * Watches the target from `resourceVersion`, with bookmarks.
   * @param onNotice - called for each notification, in the server's order
   */
  watch(
    target: WatchTarget,
    resourceVersion: string,
    onNotice: (notice: WatchNotice) => void,
  ): RunningWatch;
}

/** Objects per list page: big enough for few round trips, small enough to bound memory. */
const PAGE_SIZE = 500;

/**
 * The server closes a watch after this many seconds, randomised between 5 and 10 minutes as
 * client-go's reflector does, so many watches do not all reconnect at once.
 */
function watchTimeoutSeconds(): number {
  return 300 + Math.floor(Math.random() * 300);
}

/**
 * The path of a resource collection: `/api/v1/...` for the core group, `/apis/<g>/<v>/...`
 * for the others.
 */
export function collectionPath(target: WatchTarget): string {
  const prefix = target.apiVersion.includes('/') ? '/apis' : '/api';
  const scope = target.namespace === undefined ? '' : `/namespaces/${target.namespace}`;
  return `${prefix}/${target.apiVersion}${scope}/${target.plural}`;
}

/**
 * Connects to the cluster of a kubeconfig.
 * @param source - the KubeConfig, its file, or undefined for the default lookup
 * @throws Error when the kubeconfig names no current cluster
 */
export async function connectListWatch(source: KubeConfigSource): Promise<ListWatchClient> {
  const { k8s, kubeConfig } =
    typeof source === 'object'
      ? { k8s: await import('@kubernetes/client-node'), kubeConfig: source }
      : await loadClient({ kubeconfigPath: source });
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster)
    throw new Error(
      'the kubeconfig has no current cluster: set current-context, or point KUBECONFIG at a kubeconfig that has one',
    );
  const server = cluster.server.replace(/\/+$/, '');
  const watcher = new k8s.Watch(kubeConfig);

  return {
    server,
    list: (target, signal) => listAll(kubeConfig, server, target, signal),
    watch(target, resourceVersion, onNotice) {
      let errorNotice: WatchEnd | undefined;
      let stopped = false;
      let abort: AbortController | undefined;
      let resolveEnded: (end: WatchEnd) => void = () => undefined;
      const ended = new Promise<WatchEnd>((resolve) => (resolveEnded = resolve));
      const query: Record<string, string | number | boolean> = {
        resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: watchTimeoutSeconds(),
      };
      if (target.labelSelector) query.labelSelector = target.labelSelector;
      const done = (error: unknown): void => {
        if (stopped || error === null || error === undefined) {
          resolveEnded(stopped ? { outcome: 'closed' } : (errorNotice ?? { outcome: 'closed' }));
          return;
        }
        resolveEnded(watchFailure(error));
      };
      watcher
        .watch(
          collectionPath(target),
          query,
          (type: string, object: unknown) => {
            if (stopped) return;
            if (type === 'ERROR') {
              // A Status object; the server closes the watch after it.
              errorNotice = statusEnd(object);
              return;
            }
            if (type === 'BOOKMARK') {
              const version = (object as Partial<RawObject> | null)?.metadata?.resourceVersion;
              if (typeof version === 'string') onNotice({ type, resourceVersion: version });
              return;
            }
            if ((type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') && isRaw(object))
              onNotice({ type, object });
          },
          done,
        )
        .then(
          (controller) => {
            abort = controller;
            if (stopped) controller.abort();
          },
          (error: unknown) => {
            done(error);
          },
        );
      return {
        ended,
        stop() {
          stopped = true;
          abort?.abort();
          resolveEnded({ outcome: 'closed' });
        },
      };
    },
  };
}

function isRaw(object: unknown): object is RawObject {
  const metadata = (object as Partial<RawObject> | null)?.metadata;
  return (
    typeof metadata === 'object' &&
    typeof metadata.name === 'string' &&
    typeof metadata.uid === 'string' &&
    typeof metadata.resourceVersion === 'string'
  );
}

/** The end a watch's ERROR notification (a Status) announces. */
function statusEnd(status: unknown): WatchEnd {
  const { code, message } = (status ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : 'the watch reported an error';
  if (code === 410) return { outcome: 'expired', message: text };
  return typeof code === 'number'
    ? { outcome: 'failed', status: code, message: text }
    : { outcome: 'failed', message: text };
}

/** The end of a watch whose request failed or whose connection broke. */
function watchFailure(error: unknown): WatchEnd {
  // client-node ends a watch silent for 30 s (no event, no bookmark): an idle close, which
  // also catches a connection that died without a reset.
  if (error instanceof DOMException && error.name === 'TimeoutError') return { outcome: 'closed' };
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  const message = error instanceof Error ? error.message : String(error);
  if (status === 410) return { outcome: 'expired', message };
  return typeof status === 'number'
    ? { outcome: 'failed', status, message: `HTTP ${status} ${message}` }
    : { outcome: 'failed', message: describeNetworkError(error) };
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  const code = (error as { code?: unknown } | null)?.code ?? cause?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' ? `${message} (${code})` : message;
}

async function listAll(
  kubeConfig: KubeConfig,
  server: string,
  target: WatchTarget,
  signal: AbortSignal | undefined,
): Promise<ObjectList> {
  const items: RawObject[] = [];
  let resourceVersion: string | undefined;
  let next: string | undefined;
  do {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (target.labelSelector) query.set('labelSelector', target.labelSelector);
    if (next) query.set('continue', next);
    const page = (await getJson(
      kubeConfig,
      `${server}${collectionPath(target)}?${query.toString()}`,
      `list ${target.plural}`,
      signal,
    )) as { metadata?: { resourceVersion?: string; continue?: string }; items?: unknown[] };
    // The first page's resourceVersion is the snapshot's: later pages are read at it.
    resourceVersion ??= page.metadata?.resourceVersion;
    for (const item of page.items ?? []) {
      if (!isRaw(item)) continue;
      // A list of built-in kinds leaves apiVersion and kind out of its items; a watch does
      // not. client-go's unstructured decoder fills them in too, so the adapter sends them.
      items.push({ ...item, apiVersion: target.apiVersion, kind: target.kind });
    }
    // An empty continue token ends the list as an absent one does.
    next = page.metadata?.continue === '' ? undefined : page.metadata?.continue;
  } while (next);
  if (resourceVersion === undefined)
    throw new ListError(`list ${target.plural}: the answer has no resourceVersion`, undefined);
  return { resourceVersion, items };
}

/** One GET with the kubeconfig's TLS settings and credentials; the body parsed as JSON. */
async function getJson(
  kubeConfig: KubeConfig,
  url: string,
  action: string,
  signal: AbortSignal | undefined,
): Promise<unknown> {
  const options: RequestOptions & { headers: Record<string, string> } = {
    method: 'GET',
    headers: { Accept: 'application/json' },
  };
  // TLS trust, client certificate, bearer or exec-plugin token, a keep-alive agent.
  await kubeConfig.applyToHTTPSOptions(options);
  const send = url.startsWith('https:') ? httpsRequest : httpRequest;
  const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = send(url, { ...options, ...(signal ? { signal } : {}) }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.on('error', reject);
    req.end();
  }).catch((error: unknown) => {
    throw new ListError(
      `${action}: the API server could not be reached: ${describeNetworkError(error)}`,
      undefined,
      { cause: error },
    );
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body);
  } catch {
    throw new ListError(`${action}: HTTP ${response.status}, not JSON`, response.status);
  }
  if (response.status !== 200) {
    const message = (parsed as { message?: unknown } | null)?.message;
    throw new ListError(
      `${action}: HTTP ${response.status}${typeof message === 'string' ? `: ${message}` : ''}`,
      response.status,
    );
  }
  return parsed;
}
