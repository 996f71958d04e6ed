/**
 * Schema pieces several spec fields share: Secret references, images, replicas, compute
 * resources and extra environment variables. The shapes follow core/v1 so manifests written
 * for the reference operator (which embeds the core/v1 Go types) are accepted as they are.
 */
import Type from 'typebox';
import {
  cel,
  celStringList,
  DNS_LABEL_PATTERN,
  DNS_SUBDOMAIN_PATTERN,
  ENV_VAR_NAME_PATTERN,
  IMAGE_REFERENCE_PATTERN,
} from './cel.ts';

/** Default and bounds of `spec.<component>.replicas`. 0 is allowed and scales to zero. */
export const REPLICAS = { default: 1, minimum: 0, maximum: 10 } as const;

/** Most extra variables one component may have; bounds the cost of the CEL rules. */
export const MAX_EXTRA_ENV = 64;

/** Longest extra variable name; bounds the cost of the CEL rules. */
export const MAX_ENV_NAME_LENGTH = 128;

/**
 * Marks the schema of a Secret reference, so that the admission policy refusing another
 * namespace (secret-namespace-policy.ts) finds every one of them. Dropped from the CRD (see
 * structural-schema.ts: keys starting with `x-supabase-reconciler-` are ours).
 */
export const SECRET_REFERENCE_MARKER = 'x-supabase-reconciler-secret-reference';

/**
 * A reference to a Secret (core/v1 SecretReference). `namespace`, when given, must be the
 * project's namespace: a pod can only read Secrets of its own namespace. CEL rules of a CRD
 * cannot read `metadata.namespace`, so the ValidatingAdmissionPolicy of
 * deploy/admission/ refuses another namespace at the API server, and the first phase refuses
 * it again (for a cluster without the policy) with the same message.
 * @param what - what the Secret holds, for descriptions
 */
export function secretReference(what: string) {
  return Type.Object(
    {
      name: Type.String({
        description: 'Name of the Secret.',
        maxLength: 253,
        'x-kubernetes-validations': [
          cel('size(self) > 0', 'the Secret name must not be empty'),
          cel(
            `size(self) == 0 || self.matches(r'${DNS_SUBDOMAIN_PATTERN}')`,
            "the Secret name must be a DNS subdomain: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit",
          ),
        ],
      }),
      namespace: Type.Optional(
        Type.String({
          description:
            "Namespace of the Secret. Optional; when set it must be the project's own namespace (Secrets are read only from there).",
          maxLength: 63,
          'x-kubernetes-validations': [
            cel(
              `self.matches(r'${DNS_LABEL_PATTERN}')`,
              "the namespace must be a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit",
            ),
          ],
        }),
      ),
    },
    { description: `Reference to the Secret with ${what}.`, [SECRET_REFERENCE_MARKER]: true },
  );
}

/** A container image reference with a tag or a digest. */
export const Image = Type.String({
  description:
    'Container image with a tag or a digest. When unset, the reconciler uses the default image of its release, so upgrading the reconciler upgrades the component.',
  maxLength: 512,
  'x-kubernetes-validations': [
    cel(
      `self.matches(r'${IMAGE_REFERENCE_PATTERN}')`,
      'the image must be a reference with a tag or a digest, for example kong/kong:3.9.1 or registry.example.com/kong/kong@sha256:<64 hex digits>',
    ),
  ],
});

/** Number of pods of a component. */
export const Replicas = boundedInteger('replicas', REPLICAS, {
  description: 'Number of pods. 0 scales the component to zero (its objects are kept).',
  default: REPLICAS.default,
});

/**
 * An int32 within bounds, checked by a CEL rule rather than OpenAPI `minimum`/`maximum`: the
 * API server prints the rule's message, which names the field and the allowed range, where
 * `maximum` would print only "should be less than or equal to 10". (The message cannot
 * include the value: `string(int)` has no cost bound the CRD's budget accepts; the server
 * prints the value before the message anyway.)
 * @param field - the field's name, for the message
 * @param bounds - the smallest and largest allowed values
 * @param options - description and default
 */
export function boundedInteger(
  field: string,
  bounds: { readonly minimum: number; readonly maximum: number },
  options: { readonly description: string; readonly default?: number },
) {
  return Type.Integer({
    description: `${options.description} From ${String(bounds.minimum)} to ${String(bounds.maximum)}.`,
    format: 'int32',
    ...(options.default === undefined ? {} : { default: options.default }),
    'x-kubernetes-validations': [
      cel(
        `self >= ${String(bounds.minimum)} && self <= ${String(bounds.maximum)}`,
        `${field} must be an integer from ${String(bounds.minimum)} to ${String(bounds.maximum)}`,
      ),
    ],
  });
}

/**
 * A string from a fixed set, checked by a CEL rule rather than an OpenAPI `enum`: a value
 * outside an `enum` is an error the API server treats as blocking, so it skips every CEL rule
 * of the object and adds "some validation rules were not checked"; a rule's error does not.
 * `maxLength` bounds the rule's cost; it is far above the longest value so that a mistyped
 * value meets the rule's message, not a length error.
 * @param field - the field's name, for the message
 * @param values - the allowed values
 * @param options - description and default
 */
export function stringEnum<const V extends readonly string[]>(
  field: string,
  values: V,
  options: { readonly description: string; readonly default?: V[number] },
) {
  return Type.Unsafe<V[number]>({
    type: 'string',
    description: `${options.description} One of: ${values.join(', ')}.`,
    maxLength: 64,
    ...(options.default === undefined ? {} : { default: options.default }),
    'x-kubernetes-validations': [
      cel(`self in ${celStringList(values)}`, `${field} must be one of: ${values.join(', ')}`),
    ],
  });
}

/**
 * A resource quantity (`500m`, `1`, `256Mi`), as an integer or a string like core/v1's.
 * CEL checks the syntax, because the OpenAPI pattern's message would be a regular
 * expression no user wants to read.
 */
export const Quantity = Type.Unsafe<number | string>({
  maxLength: 64,
  anyOf: [{ type: 'integer' }, { type: 'string' }],
  'x-kubernetes-int-or-string': true,
  'x-kubernetes-validations': [
    cel(
      "isQuantity(string(self)) && !quantity(string(self)).isLessThan(quantity('0'))",
      'must be a non-negative Kubernetes quantity, for example 250m, 1, 512Mi or 2Gi',
    ),
  ],
});

const ResourceList = (what: string) =>
  Type.Record(Type.String({ maxLength: 253 }), Quantity, {
    description: `${what} by resource name (cpu, memory, ...).`,
    maxProperties: 16,
  });

/** A limit of resource `k` that parses and is below a request of `k` that parses. */
const LIMIT_BELOW_REQUEST =
  'k in self.requests && isQuantity(string(self.limits[k])) && isQuantity(string(self.requests[k])) && quantity(string(self.limits[k])).compareTo(quantity(string(self.requests[k]))) < 0';

/**
 * `limits >= requests` for every resource name (cpu, memory, ephemeral-storage, hugepages-*,
 * extended resources), compared with the CEL quantity library (Kubernetes >= 1.29); an
 * unparsable value is left to the per-value rule above. The message names the first offending
 * resource with both values: listing all of them exceeds the CRD's cost budget (map keys have
 * no length bound the estimator can see), and map order decides which one is first.
 */
const limitsNotBelowRequests = cel(
  `!has(self.limits) || !has(self.requests) || !self.limits.exists(k, ${LIMIT_BELOW_REQUEST})`,
  'every limit must be greater than or equal to the request of the same resource',
  {
    messageExpression: `self.limits.filter(k, ${LIMIT_BELOW_REQUEST}).map(k, 'limits.' + k + ' (' + string(self.limits[k]) + ') is less than requests.' + k + ' (' + string(self.requests[k]) + '); a limit must be greater than or equal to its request')[0]`,
    fieldPath: '.limits',
  },
);

/** Compute resources (core/v1 ResourceRequirements without `claims`). */
export const Resources = Type.Object(
  {
    limits: Type.Optional(ResourceList('Maximum amount of compute resources allowed')),
    requests: Type.Optional(ResourceList('Minimum amount of compute resources required')),
  },
  {
    description:
      "Compute resources of the component's container. When unset, the reconciler's defaults apply; when set, it replaces them.",
    'x-kubernetes-validations': [limitsNotBelowRequests],
  },
);

const KeySelector = (what: string) =>
  Type.Object(
    {
      name: Type.String({ description: `Name of the ${what}.`, maxLength: 253 }),
      key: Type.String({ description: `Key in the ${what}.`, maxLength: 253 }),
      optional: Type.Optional(
        Type.Boolean({ description: `Whether the ${what} or its key may be missing.` }),
      ),
    },
    { description: `Selects a key of a ${what} in the project's namespace.` },
  );

/** Source of an extra variable's value (core/v1 EnvVarSource). */
const EnvVarSource = Type.Object(
  {
    secretKeyRef: Type.Optional(KeySelector('Secret')),
    configMapKeyRef: Type.Optional(KeySelector('ConfigMap')),
    fieldRef: Type.Optional(
      Type.Object(
        {
          apiVersion: Type.Optional(Type.String({ maxLength: 64 })),
          fieldPath: Type.String({ maxLength: 256 }),
        },
        { description: 'A field of the pod, for example metadata.name or status.podIP.' },
      ),
    ),
    resourceFieldRef: Type.Optional(
      Type.Object(
        {
          containerName: Type.Optional(Type.String({ maxLength: 63 })),
          resource: Type.String({ maxLength: 253 }),
          divisor: Type.Optional(Quantity),
        },
        { description: 'A resource limit or request of the container, for example limits.cpu.' },
      ),
    ),
  },
  {
    description: 'Where the value comes from.',
    'x-kubernetes-validations': [
      cel(
        '[has(self.secretKeyRef), has(self.configMapKeyRef), has(self.fieldRef), has(self.resourceFieldRef)].filter(x, x).size() == 1',
        'valueFrom must set exactly one of secretKeyRef, configMapKeyRef, fieldRef or resourceFieldRef',
      ),
    ],
  },
);

/**
 * One extra environment variable (core/v1 EnvVar) of a component. The owned-variable rule
 * sits on each name rather than on the list: the error then points at the offending entry
 * and names it, and the rule stays cheap enough for the CRD's CEL cost budget.
 * @param componentLabel - the component's spec key, for messages
 * @param owned - the variables the reconciler owns for this component
 */
function envVar(componentLabel: string, owned: readonly string[]) {
  return Type.Object(
    {
      name: Type.String({
        description: 'Name of the variable.',
        maxLength: MAX_ENV_NAME_LENGTH,
        'x-kubernetes-validations': [
          cel(
            `self.matches(r'${ENV_VAR_NAME_PATTERN}')`,
            "the variable name must consist of letters, digits, '_', '-' and '.', and must not start with a digit",
          ),
          cel(
            `!(self in ${celStringList(owned)})`,
            `extraEnv may not set a variable the reconciler owns for ${componentLabel}; owned variables: ${owned.join(', ')}`,
            {
              messageExpression: `self + ' is set by the reconciler for ${componentLabel} and may not be set in extraEnv; owned variables: ${owned.join(', ')}'`,
            },
          ),
        ],
      }),
      value: Type.Optional(Type.String({ description: 'Literal value.' })),
      valueFrom: Type.Optional(EnvVarSource),
    },
    {
      'x-kubernetes-validations': [
        cel(
          '!has(self.valueFrom) || !has(self.value) || size(self.value) == 0',
          'an extra variable may set value or valueFrom, not both',
        ),
      ],
    },
  );
}

/**
 * `extraEnv` of one component: core/v1 EnvVars added to the container. A variable the
 * reconciler owns for that component is refused with a message naming it; other variables
 * the reconciler sets with a default are replaced by the one given here.
 * @param componentLabel - the component's spec key, for messages
 * @param owned - the variables the reconciler owns for this component
 */
export function extraEnv(componentLabel: string, owned: readonly string[]) {
  return Type.Array(envVar(componentLabel, owned), {
    description: `Extra environment variables for the container. May not set the variables the reconciler owns for ${componentLabel}: ${owned.join(', ')}. Variables the reconciler sets with a default are replaced by these.`,
    maxItems: MAX_EXTRA_ENV,
    // Unique names: two entries for one variable would leave which one wins to the runtime.
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['name'],
  });
}
