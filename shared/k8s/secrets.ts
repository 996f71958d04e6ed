/**
 * Secrets, read and written behind a narrow interface. Values come back wrapped in
 * Sensitive, so a Secret that reaches a log line or an error message prints `[redacted]`.
 */
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { Sensitive } from '../secrets/sensitive.ts';
import { loadClient } from './client.ts';
import { apiCall } from './api-call.ts';
import type { KubeStoreOptions } from './custom-objects.ts';
import { formatKey, type ObjectKey } from './objects.ts';

/** Who owns an object: the project it was made for (garbage-collected with it). */
export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
  readonly blockOwnerDeletion?: boolean;
}

/** A Secret as the reconciler sees it. */
export interface SecretObject {
  readonly key: ObjectKey;
  readonly resourceVersion: string;
  readonly uid: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly ownerReferences: readonly OwnerReference[];
  readonly type: string;
  /** Every key, decoded (UTF-8) and wrapped. */
  readonly data: ReadonlyMap<string, Sensitive>;
}

/** A Secret to create or replace. Values are plain strings here: the store encodes them. */
export interface SecretDraft {
  readonly key: ObjectKey;
  /** Required when replacing: the optimistic-concurrency precondition. */
  readonly resourceVersion?: string | undefined;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly ownerReferences?: readonly OwnerReference[];
  readonly type?: string;
  readonly data: Readonly<Record<string, Sensitive>>;
}

/** What functions need of Secrets. */
export interface SecretStore {
  /** @returns the Secret, or undefined when it does not exist */
  get(key: ObjectKey): Promise<SecretObject | undefined>;
  /** @throws ConflictError when it exists already (409) */
  create(draft: SecretDraft): Promise<SecretObject>;
  /** @throws ConflictError when it changed since `draft.resourceVersion` was read */
  replace(draft: SecretDraft): Promise<SecretObject>;
}

function fromApi(secret: V1Secret, key: ObjectKey): SecretObject {
  const data = new Map<string, Sensitive>();
  for (const [name, value] of Object.entries(secret.data ?? {})) {
    data.set(name, new Sensitive(Buffer.from(value, 'base64').toString('utf8')));
  }
  // stringData is write-only; a Secret read back carries data only.
  return {
    key,
    resourceVersion: secret.metadata?.resourceVersion ?? '',
    uid: secret.metadata?.uid ?? '',
    labels: secret.metadata?.labels ?? {},
    annotations: secret.metadata?.annotations ?? {},
    ownerReferences: (secret.metadata?.ownerReferences ?? []).map((o) => ({
      apiVersion: o.apiVersion,
      kind: o.kind,
      name: o.name,
      uid: o.uid,
      ...(o.controller === undefined ? {} : { controller: o.controller }),
      ...(o.blockOwnerDeletion === undefined ? {} : { blockOwnerDeletion: o.blockOwnerDeletion }),
    })),
    type: secret.type ?? 'Opaque',
    data,
  };
}

function toApi(draft: SecretDraft): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: draft.key.name,
      namespace: draft.key.namespace,
      ...(draft.resourceVersion ? { resourceVersion: draft.resourceVersion } : {}),
      ...(draft.labels ? { labels: { ...draft.labels } } : {}),
      ...(draft.annotations ? { annotations: { ...draft.annotations } } : {}),
      ...(draft.ownerReferences
        ? { ownerReferences: draft.ownerReferences.map((o) => ({ ...o })) }
        : {}),
    },
    type: draft.type ?? 'Opaque',
    data: Object.fromEntries(
      Object.entries(draft.data).map(([name, value]) => [
        name,
        Buffer.from(value.reveal(), 'utf8').toString('base64'),
      ]),
    ),
  };
}

/**
 * A SecretStore backed by the API server; the client is loaded on the first call.
 * @param options - cluster access and an optional metrics observer
 */
export function kubeSecretStore(options: KubeStoreOptions = {}): SecretStore {
  let api: Promise<CoreV1Api> | undefined;
  const client = (): Promise<CoreV1Api> => {
    api ??= loadClient(options).then(({ k8s, kubeConfig }) =>
      kubeConfig.makeApiClient(k8s.CoreV1Api),
    );
    return api;
  };
  const spec = (verb: 'get' | 'create' | 'update', key: ObjectKey) => ({
    verb,
    resource: 'secrets',
    action: `${verb} Secret ${formatKey(key)}`,
    observe: options.observe,
  });

  return {
    async get(key) {
      const core = await client();
      const secret = await apiCall({ ...spec('get', key), absentOn404: true }, () =>
        core.readNamespacedSecret(key),
      );
      return secret ? fromApi(secret, key) : undefined;
    },
    async create(draft) {
      const core = await client();
      const created = await apiCall(spec('create', draft.key), () =>
        core.createNamespacedSecret({ namespace: draft.key.namespace, body: toApi(draft) }),
      );
      return fromApi(created, draft.key);
    },
    async replace(draft) {
      const core = await client();
      const replaced = await apiCall(spec('update', draft.key), () =>
        core.replaceNamespacedSecret({ ...draft.key, body: toApi(draft) }),
      );
      return fromApi(replaced, draft.key);
    },
  };
}
