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
 * A reference to a Secret (core/v1 SecretReference). `namespace`, when given, must be the
 * project's namespace: a pod can only read Secrets of its own namespace. The first phase
 * checks that (CEL cannot see `metadata.namespace`) and reports it as a condition.
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
            "Namespace of the Secret. Optional; when set it must be the project's own namespace.",
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
    { description: `Reference to the Secret with ${what}.` },
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
export const Replicas = Type.Integer({
  description: 'Number of pods. 0 scales the component to zero (its objects are kept).',
  format: 'int32',
  minimum: REPLICAS.minimum,
  maximum: REPLICAS.maximum,
  default: REPLICAS.default,
});

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

/**
 * One `limits >= requests` rule. Quantities are compared with the CEL quantity library
 * (Kubernetes >= 1.29); an unparsable value is left to the per-value rule above.
 */
function limitNotBelowRequest(resource: 'cpu' | 'memory') {
  const limit = `self.limits['${resource}']`;
  const request = `self.requests['${resource}']`;
  return cel(
    `!has(self.limits) || !has(self.requests) || !('${resource}' in self.limits) || !('${resource}' in self.requests) || !isQuantity(string(${limit})) || !isQuantity(string(${request})) || quantity(string(${limit})).compareTo(quantity(string(${request}))) >= 0`,
    `limits.${resource} must be greater than or equal to requests.${resource}`,
    {
      messageExpression: `'limits.${resource} (' + string(${limit}) + ') is less than requests.${resource} (' + string(${request}) + '); a limit must be greater than or equal to its request'`,
      fieldPath: '.limits',
    },
  );
}

/** Compute resources (core/v1 ResourceRequirements without `claims`). */
export const Resources = Type.Object(
  {
    limits: Type.Optional(ResourceList('Maximum amount of compute resources allowed')),
    requests: Type.Optional(ResourceList('Minimum amount of compute resources required')),
  },
  {
    description:
      "Compute resources of the component's container. When unset, the reconciler's defaults apply; when set, it replaces them.",
    'x-kubernetes-validations': [limitNotBelowRequest('cpu'), limitNotBelowRequest('memory')],
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
