/**
 * Secrets are read only from the project's namespace (a pod can mount no other), so a
 * `secretRef.namespace` naming another namespace is refused. The CRD's CEL rules cannot read
 * `metadata.namespace`, so the API server refuses it through a ValidatingAdmissionPolicy
 * (admissionregistration.k8s.io/v1, GA since Kubernetes 1.30) generated here for every Secret
 * reference of the spec, found by walking the schema. The first phase refuses it again with
 * the same message (referenced-secret.ts), for a cluster where the policy is not installed.
 *
 * On UPDATE a reference that already named the same other namespace is let through, so an
 * object created before the policy existed can still be changed and deleted (its finalizer
 * removed); validate-deps reports it.
 */
import { API_GROUP, PLURAL } from './group-version.ts';
import { celString } from './schema/cel.ts';
import { SECRET_REFERENCE_MARKER } from './schema/common.ts';
import { SupabaseProjectSpecSchema } from './schema/spec.ts';

/** Where deploy/ keeps the generated policy, relative to the repository root. */
export const SECRET_NAMESPACE_POLICY_YAML_PATH = 'deploy/admission/secret-namespace-policy.yaml';

/** The name of the policy and of its binding. */
export const SECRET_NAMESPACE_POLICY_NAME = 'supabase-reconciler-secret-namespace';

/** A manifest as plain JSON. */
export interface AdmissionManifest {
  readonly apiVersion: 'admissionregistration.k8s.io/v1';
  readonly kind: 'ValidatingAdmissionPolicy' | 'ValidatingAdmissionPolicyBinding';
  readonly metadata: { readonly name: string };
  readonly spec: Readonly<Record<string, unknown>>;
}

/**
 * The message for a Secret reference naming another namespace; the policy and validate-deps
 * both say exactly this.
 * @param field - the reference's path, e.g. `spec.storage.secretRef`
 * @param referenced - the namespace the reference names
 * @param projectNamespace - the project's namespace
 */
export function secretNamespaceMessage(
  field: string,
  referenced: string,
  projectNamespace: string,
): string {
  return `${field}.namespace is "${referenced}", but Secrets are read only from the project's namespace "${projectNamespace}": create the Secret in "${projectNamespace}" and remove ${field}.namespace`;
}

type SchemaNode = Record<string, unknown>;

/**
 * The property paths (below `spec`) of every Secret reference of the spec, in schema order:
 * every node made by `secretReference()`. Lists are not searched: a Secret reference inside a
 * list would need a rule over the list, which the walk reports instead of missing it.
 * @throws Error when a Secret reference sits inside a list
 */
export function secretReferencePaths(): readonly (readonly string[])[] {
  const found: string[][] = [];
  const walk = (node: SchemaNode, path: string[], inList: boolean): void => {
    if (node[SECRET_REFERENCE_MARKER] === true) {
      if (inList) throw new Error(`spec.${path.join('.')}: a Secret reference inside a list`);
      found.push(path);
      return;
    }
    const properties = node.properties as Record<string, SchemaNode> | undefined;
    for (const [name, child] of Object.entries(properties ?? {})) {
      walk(child, [...path, name], inList);
    }
    if (typeof node.items === 'object' && node.items !== null) {
      walk(node.items as SchemaNode, [...path, '[]'], true);
    }
  };
  walk(JSON.parse(JSON.stringify(SupabaseProjectSpecSchema)) as SchemaNode, [], false);
  return found;
}

/** `has(...)` of every step down to `<root>.spec.<path>.namespace`, joined with `&&`. */
function present(root: string, path: readonly string[]): string {
  const steps = ['spec', ...path, 'namespace'];
  return steps.map((_, i) => `has(${[root, ...steps.slice(0, i + 1)].join('.')})`).join(' && ');
}

/** One validation: the reference of `path`, when it names a namespace, names the object's. */
function validation(path: readonly string[]) {
  const field = `spec.${path.join('.')}`;
  const value = (root: string) => `${root}.${field}.namespace`;
  // The message's text with its two values as CEL expressions, so the policy says exactly
  // what secretNamespaceMessage says.
  const referenced = '{{referenced}}';
  const own = '{{own}}';
  const messageExpression = secretNamespaceMessage(field, referenced, own)
    .split(/(\{\{referenced\}\}|\{\{own\}\})/)
    .filter((part) => part.length > 0)
    .map((part) =>
      part === referenced
        ? value('object')
        : part === own
          ? 'object.metadata.namespace'
          : celString(part),
    )
    .join(' + ');
  return {
    expression: [
      `!(${present('object', path)})`,
      `${value('object')} == object.metadata.namespace`,
      `(oldObject != null && ${present('oldObject', path)} && ${value('oldObject')} == ${value('object')})`,
    ].join(' || '),
    message: `${field}.namespace must be the project's namespace: Secrets are read only from there; remove ${field}.namespace`,
    messageExpression,
    reason: 'Invalid',
  };
}

/** The policy: one validation per Secret reference of the spec. */
export function secretNamespacePolicy(): AdmissionManifest {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: SECRET_NAMESPACE_POLICY_NAME },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: [API_GROUP],
            apiVersions: ['*'],
            operations: ['CREATE', 'UPDATE'],
            resources: [PLURAL],
          },
        ],
      },
      validations: secretReferencePaths().map(validation),
    },
  };
}

/**
 * The binding that puts the policy in force (in every namespace unless a selector is given).
 * @param namespaceSelector - limits the binding to some namespaces (tests use it so the
 *   policy applies to their namespaces only on the shared test API server)
 * @param name - the binding's name
 */
export function secretNamespacePolicyBinding(
  namespaceSelector?: Readonly<Record<string, unknown>>,
  name = SECRET_NAMESPACE_POLICY_NAME,
): AdmissionManifest {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name },
    spec: {
      policyName: SECRET_NAMESPACE_POLICY_NAME,
      validationActions: ['Deny'],
      ...(namespaceSelector ? { matchResources: { namespaceSelector } } : {}),
    },
  };
}
