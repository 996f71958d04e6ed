/**
 * Reads and status writes of one kind of custom resource, behind a narrow interface so that
 * handlers depend on what they use, and tests of pure logic can pass a plain object.
 */
import type * as ClientNode from '@kubernetes/client-node';
import type { CustomObjectsApi } from '@kubernetes/client-node';
import { loadClient, type KubeClientOptions } from './client.ts';
import { apiCall } from './api-call.ts';
import { describeValue } from '../runtime/describe.ts';
import { MalformedEventError } from '../runtime/errors.ts';
import { isNamespaceName, isObjectName } from './names.ts';
import { formatKey, type KubeObject, type ObjectKey, type ResourceRef } from './objects.ts';

/** Called after every API request, for metrics (rest_client_requests_total and latency). */
export type ApiCallObserver = (call: {
  readonly verb: 'get' | 'list' | 'update' | 'patch' | 'create' | 'delete';
  readonly resource: string;
  /** HTTP status, or `error` when no answer came (network). */
  readonly code: number | 'error';
  readonly seconds: number;
}) => void;

/** What a function needs to read and update the status of one kind of object. */
export interface CustomObjectStore<T extends KubeObject> {
  /**
   * Reads the live object.
   * @returns the object, or undefined when it does not exist (deleted: not an error)
   * @throws ReconcilerError for anything else (translated at this boundary)
   */
  get(key: ObjectKey): Promise<T | undefined>;
  /**
   * Replaces the status through the status subresource, with the object's
   * `metadata.resourceVersion` as the optimistic-concurrency precondition.
   * @returns the object as stored (new resourceVersion), or undefined when it was deleted
   * @throws ConflictError when the object changed since it was read (409)
   */
  replaceStatus(object: T): Promise<T | undefined>;
}

/** Lists every object of one kind. */
export interface ObjectLister<T extends KubeObject> {
  /**
   * Lists the objects of every namespace in one request (no paging: a resync needs the whole
   * set, and the objects are small).
   * @returns the objects as stored
   * @throws ReconcilerError translated at this boundary (403 when the ServiceAccount may not
   *   list them cluster-wide)
   */
  list(): Promise<T[]>;
}

/** Metadata fields a JSON merge patch may set; `null` removes an annotation. */
export interface MetadataPatch {
  readonly finalizers?: readonly string[];
  readonly annotations?: Readonly<Record<string, string | null>>;
}

/** Writes metadata (finalizers, annotations) of one kind of object. */
export interface MetadataWriter<T extends KubeObject> {
  /**
   * Merges `patch` into the object's metadata with a JSON merge patch (RFC 7386) carrying
   * `resourceVersion` as the optimistic-concurrency precondition. A list such as
   * `finalizers` is replaced whole, hence the precondition: a concurrent change is a 409,
   * not a lost finalizer. Metadata changes do not bump `metadata.generation`.
   * @param resourceVersion - the version the patch was computed from
   * @returns the object as stored, or undefined when it does not exist
   * @throws ConflictError when the object changed since `resourceVersion` (409)
   */
  patchMetadata(
    key: ObjectKey,
    resourceVersion: string,
    patch: MetadataPatch,
  ): Promise<T | undefined>;
}

/** Options of a CustomObjectStore backed by the API server. */
export interface KubeStoreOptions extends KubeClientOptions {
  readonly observe?: ApiCallObserver | undefined;
}

/**
 * A CustomObjectStore talking to the API server. The client is loaded on the first call.
 * @param resource - the custom resource's group, version and plural
 * @param kind - the Kind, for messages
 * @param options - cluster access and an optional metrics observer
 */
export function kubeCustomObjectStore<T extends KubeObject>(
  resource: ResourceRef,
  kind: string,
  options: KubeStoreOptions = {},
): CustomObjectStore<T> & MetadataWriter<T> & ObjectLister<T> {
  let api: Promise<{ objects: CustomObjectsApi; k8s: typeof ClientNode }> | undefined;
  const client = () => {
    api ??= loadClient(options).then(({ k8s, kubeConfig }) => ({
      objects: kubeConfig.makeApiClient(k8s.CustomObjectsApi),
      k8s,
    }));
    return api;
  };

  async function call<R>(
    verb: 'get' | 'update' | 'patch',
    key: ObjectKey,
    request: (objects: CustomObjectsApi, k8s: typeof ClientNode) => Promise<R>,
  ): Promise<R | undefined> {
    const { objects, k8s } = await client();
    // A 404 on any request means the object is gone, which callers treat as "nothing to do".
    return apiCall(
      {
        verb,
        resource: resource.plural,
        action: `${verb} ${kind} ${formatKey(key)}`,
        observe: options.observe,
        absentOn404: true,
      },
      () => request(objects, k8s),
    );
  }

  return {
    get: async (key) => {
      assertValidKey(key, kind);
      const object = await call(
        'get',
        key,
        async (objects) =>
          (await objects.getNamespacedCustomObject({ ...resource, ...key })) as unknown,
      );
      if (object === undefined) return undefined;
      checkObject(object, resource, kind, key);
      return object as T;
    },
    replaceStatus: (object) => {
      const key = { namespace: object.metadata.namespace, name: object.metadata.name };
      return call(
        'update',
        key,
        async (objects) =>
          (await objects.replaceNamespacedCustomObjectStatus({
            ...resource,
            ...key,
            body: object,
          })) as T,
      );
    },
    list: async () => {
      const { objects } = await client();
      const answer: unknown = await apiCall(
        {
          verb: 'list',
          resource: resource.plural,
          action: `list ${kind}`,
          observe: options.observe,
        },
        () =>
          objects.listCustomObjectForAllNamespaces({
            group: resource.group,
            version: resource.version,
            resourcePlural: resource.plural,
          }) as Promise<unknown>,
      );
      return checkList(answer, resource, kind) as T[];
    },
    patchMetadata: (key, resourceVersion, patch) =>
      call(
        'patch',
        key,
        async (objects, k8s) =>
          (await objects.patchNamespacedCustomObject(
            { ...resource, ...key, body: { metadata: { ...patch, resourceVersion } } },
            k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
          )) as T,
      ),
  };
}

/**
 * Names reach the request path, where the client normalises `.` and `..` segments: a key
 * that is not a Kubernetes name could read another resource (the API group's discovery
 * document, a whole namespace). Parsed events are validated already; this is the last guard.
 * @throws MalformedEventError (the key came from an event)
 */
function assertValidKey(key: ObjectKey, kind: string): void {
  if (!isNamespaceName(key.namespace) || !isObjectName(key.name)) {
    throw new MalformedEventError(
      `${describeValue(key.namespace)}/${describeValue(key.name)} is not the name of a ${kind}: a namespace is a DNS-1123 label, a name a DNS-1123 subdomain`,
    );
  }
}

/**
 * What the API server returned must be the object asked for; anything else (a list, a
 * discovery document) is refused before a handler reads fields it does not have.
 */
function checkObject(value: unknown, resource: ResourceRef, kind: string, key: ObjectKey): void {
  const object = (typeof value === 'object' ? value : null) as Partial<KubeObject> | null;
  const metadata = object?.metadata;
  if (
    object?.kind !== kind ||
    object.apiVersion !== `${resource.group}/${resource.version}` ||
    metadata?.namespace !== key.namespace ||
    metadata.name !== key.name ||
    typeof metadata.uid !== 'string'
  ) {
    throw new Error(
      `the API server answered the read of ${kind} ${formatKey(key)} with something that is not that object`,
    );
  }
}

/**
 * A list answer must hold objects of the kind asked for, each with the metadata a caller
 * keys on; anything else is refused whole rather than half-used.
 */
function checkList(value: unknown, resource: ResourceRef, kind: string): KubeObject[] {
  const items = (typeof value === 'object' && value !== null ? value : {}) as {
    items?: unknown;
  };
  if (!Array.isArray(items.items))
    throw new Error(
      `the API server answered the list of ${kind} with something that is not a list`,
    );
  for (const item of items.items as unknown[]) {
    const object = (typeof item === 'object' ? item : null) as Partial<KubeObject> | null;
    const metadata = object?.metadata;
    if (
      object?.kind !== kind ||
      object.apiVersion !== `${resource.group}/${resource.version}` ||
      typeof metadata?.namespace !== 'string' ||
      typeof metadata.name !== 'string' ||
      typeof metadata.uid !== 'string'
    )
      throw new Error(`the API server's list of ${kind} holds an item that is not such an object`);
  }
  return items.items as KubeObject[];
}
