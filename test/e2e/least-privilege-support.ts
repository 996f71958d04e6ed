/**
 * What the least-privilege test reads and compares: the API server's audit log (which function
 * made which request, by its User-Agent `supabase-reconciler/<function>`), the RBAC objects the
 * manifests of deploy/ render to, and SubjectAccessReviews of a ServiceAccount.
 */
import { readFile } from 'node:fs/promises';
import { AuthorizationV1Api } from '@kubernetes/client-node';
import { functionUserAgent } from '../../shared/k8s/client.ts';
import { kube } from '../env/index.ts';

/** One kind of request: verb, resource (with its subresource) and scope. */
export interface Call {
  readonly verb: string;
  /** The API group; '' for the core group. */
  readonly group: string;
  /** The resource, with `/<subresource>` when there is one (`supabaseprojects/status`). */
  readonly resource: string;
  /** `namespace`: a request inside one namespace; `cluster`: across every namespace. */
  readonly scope: 'namespace' | 'cluster';
}

/** A call as one line of text, e.g. `update supabase.reconciler.dev/supabaseprojects/status (namespace)`. */
export function callKey(call: Call): string {
  return `${call.verb} ${call.group || 'core'}/${call.resource} (${call.scope})`;
}

/** The fields of an audit event (audit.k8s.io/v1 Event) this test reads. */
interface AuditEvent {
  readonly stage?: string;
  readonly verb?: string;
  readonly userAgent?: string;
  readonly requestURI?: string;
  readonly stageTimestamp?: string;
  readonly objectRef?: {
    readonly resource?: string;
    readonly subresource?: string;
    readonly namespace?: string;
    readonly apiGroup?: string;
  };
  readonly responseStatus?: { readonly code?: number };
}

/** What the functions called, by function. */
export interface RecordedCalls {
  /** Resource requests, by function name. */
  readonly calls: ReadonlyMap<string, ReadonlyMap<string, Call>>;
  /** Non-resource requests (discovery documents), by function name: `get /apis/apps/v1`. */
  readonly nonResource: ReadonlyMap<string, ReadonlySet<string>>;
}

/**
 * Reads the audit log for the requests each function made since `since`, inside `namespaces`
 * or cluster-wide (other test files' namespaces are not this test's).
 *
 * A server-side apply that creates its object (answered 201) is authorized twice by the API
 * server: as the request's verb `patch`, and as `create` (apiserver's patch handler checks
 * create for an apply that creates). The audit event names only `patch`; the `create` is
 * recorded here from the 201.
 * @param auditLogPath - the test API server's audit log
 * @param functions - the function names (User-Agents)
 */
export async function readRecordedCalls(
  auditLogPath: string,
  functions: readonly string[],
  since: Date,
  namespaces: readonly string[],
): Promise<RecordedCalls> {
  const byAgent = new Map(functions.map((fn) => [functionUserAgent(fn), fn]));
  const calls = new Map(functions.map((fn) => [fn, new Map<string, Call>()]));
  const nonResource = new Map(functions.map((fn) => [fn, new Set<string>()]));
  for (const line of (await readFile(auditLogPath, 'utf8')).split('\n')) {
    if (!line.includes('supabase-reconciler/')) continue;
    const event = JSON.parse(line) as AuditEvent;
    const fn = byAgent.get(event.userAgent ?? '');
    if (!fn || event.stage !== 'ResponseComplete' || !event.verb) continue;
    if (new Date(event.stageTimestamp ?? 0) < since) continue;
    const ref = event.objectRef;
    if (!ref?.resource) {
      nonResource.get(fn)?.add(`${event.verb} ${(event.requestURI ?? '').split('?')[0] ?? ''}`);
      continue;
    }
    if (ref.namespace !== undefined && !namespaces.includes(ref.namespace)) continue;
    const base = {
      group: ref.apiGroup ?? '',
      resource: ref.subresource ? `${ref.resource}/${ref.subresource}` : ref.resource,
      scope: ref.namespace === undefined ? 'cluster' : 'namespace',
    } as const;
    const verbs = [event.verb];
    if (event.verb === 'patch' && event.responseStatus?.code === 201) verbs.push('create');
    for (const verb of verbs) {
      const call = { ...base, verb };
      calls.get(fn)?.set(callKey(call), call);
    }
  }
  return { calls, nonResource };
}

/** An RBAC rule as the manifests write it. */
interface PolicyRule {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly verbs?: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly nonResourceURLs?: readonly string[];
}

/** A rendered manifest object, as far as this test reads it. */
export interface Manifest {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  readonly rules?: readonly PolicyRule[];
  readonly roleRef?: { readonly kind?: string; readonly name?: string };
  readonly subjects?: readonly { kind?: string; name?: string; namespace?: string }[];
  readonly spec?: unknown;
}

/** One permission a role grants a ServiceAccount through one binding. */
export interface Grant extends Call {
  /** `ClusterRole/<name> via ClusterRoleBinding/<name>`, for messages. */
  readonly via: string;
  /** A `*` or a resourceNames restriction: the test refuses both (neither is used here). */
  readonly unusual?: string;
}

/**
 * Every permission the manifests give a ServiceAccount: each (Cluster)RoleBinding naming it,
 * each rule of the role it binds, expanded to one Grant per verb and resource. A
 * ClusterRoleBinding grants in every namespace (`cluster`), a RoleBinding in its own
 * (`namespace`).
 * @param objects - the rendered manifests (roles and bindings)
 * @param account - the ServiceAccount's namespace and name
 */
export function grantsOf(
  objects: readonly Manifest[],
  account: { readonly namespace: string; readonly name: string },
): Grant[] {
  const roles = new Map(
    objects
      .filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')
      .map((o) => [`${o.kind ?? ''}/${o.metadata?.name ?? ''}`, o]),
  );
  const grants: Grant[] = [];
  for (const binding of objects) {
    if (binding.kind !== 'ClusterRoleBinding' && binding.kind !== 'RoleBinding') continue;
    const names = (binding.subjects ?? []).some(
      (s) =>
        s.kind === 'ServiceAccount' && s.name === account.name && s.namespace === account.namespace,
    );
    if (!names) continue;
    const roleKey = `${binding.roleRef?.kind ?? ''}/${binding.roleRef?.name ?? ''}`;
    const role = roles.get(roleKey);
    const via = `${roleKey} via ${binding.kind}/${binding.metadata?.name ?? ''}`;
    if (!role) throw new Error(`${via}: the role is not in the manifests`);
    const scope = binding.kind === 'ClusterRoleBinding' ? 'cluster' : 'namespace';
    for (const rule of role.rules ?? []) {
      const unusual = rule.nonResourceURLs?.length
        ? `nonResourceURLs ${rule.nonResourceURLs.join(',')}`
        : rule.resourceNames?.length
          ? `resourceNames ${rule.resourceNames.join(',')}`
          : undefined;
      for (const group of rule.apiGroups ?? [''])
        for (const resource of rule.resources ?? [''])
          for (const verb of rule.verbs ?? []) {
            const star = [group, resource, verb].includes('*') ? 'a wildcard' : undefined;
            const odd = star ?? unusual;
            grants.push({ verb, group, resource, scope, via, ...(odd ? { unusual: odd } : {}) });
          }
    }
  }
  return grants;
}

/** What a SubjectAccessReview asks: a resource request, or a non-resource path. */
export type Access =
  | (Omit<Call, 'scope'> & { readonly namespace?: string | undefined })
  | { readonly verb: string; readonly path: string };

/** Describes an access for a message: `get core/secrets in team-a`. */
export function describeAccess(access: Access): string {
  if ('path' in access) return `${access.verb} ${access.path}`;
  const where = access.namespace ? `in ${access.namespace}` : 'cluster-wide';
  return `${access.verb} ${access.group || 'core'}/${access.resource} ${where}`;
}

let authorization: AuthorizationV1Api | undefined;

/**
 * Asks the API server whether a ServiceAccount may do something (SubjectAccessReview, with the
 * groups its token carries, so the cluster's default bindings for every account count too).
 * @returns whether RBAC allows it
 */
export async function mayServiceAccount(
  account: { readonly namespace: string; readonly name: string },
  access: Access,
): Promise<boolean> {
  authorization ??= kube().kubeConfig.makeApiClient(AuthorizationV1Api);
  const review = await authorization.createSubjectAccessReview({
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: `system:serviceaccount:${account.namespace}:${account.name}`,
        groups: [
          'system:serviceaccounts',
          `system:serviceaccounts:${account.namespace}`,
          'system:authenticated',
        ],
        ...('path' in access
          ? { nonResourceAttributes: { verb: access.verb, path: access.path } }
          : {
              resourceAttributes: {
                verb: access.verb,
                group: access.group,
                resource: access.resource.split('/')[0] ?? '',
                ...(access.resource.includes('/')
                  ? { subresource: access.resource.split('/')[1] ?? '' }
                  : {}),
                ...(access.namespace ? { namespace: access.namespace } : {}),
              },
            }),
      },
    },
  });
  return review.status?.allowed === true;
}
