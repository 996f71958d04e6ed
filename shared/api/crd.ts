/**
 * The SupabaseProject CustomResourceDefinition, built from the TypeBox schemas. The YAML in
 * deploy/crd/ is this object rendered by scripts/generate-crd.ts; a unit test fails when
 * the two drift apart.
 */
import {
  API_GROUP,
  API_VERSION,
  CATEGORIES,
  CRD_NAME,
  KIND,
  LIST_KIND,
  PLURAL,
  SHORT_NAMES,
  SINGULAR,
} from './group-version.ts';
import {
  DNS_LABEL_MAX_LENGTH,
  LONGEST_DERIVED_NAME_SUFFIX,
  MAX_PROJECT_NAME_LENGTH,
  PROJECT_NAME_PATTERN,
} from './resource-names.ts';
import { cel } from './schema/cel.ts';
import { SupabaseProjectSpecSchema } from './schema/spec.ts';
import { SupabaseProjectStatusSchema } from './schema/status.ts';
import { requiredAsRules, requiredRule } from './required-rules.ts';
import { toStructuralSchema, type JsonSchema } from './structural-schema.ts';

/** A CRD as plain JSON, the shape written in YAML and sent to the API server. */
export interface CustomResourceDefinitionManifest {
  readonly apiVersion: 'apiextensions.k8s.io/v1';
  readonly kind: 'CustomResourceDefinition';
  readonly metadata: { readonly name: string };
  readonly spec: Readonly<Record<string, unknown>>;
}

/** `kubectl get sbp` columns. */
export const PRINTER_COLUMNS = [
  { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  {
    name: 'Components',
    type: 'string',
    description: 'Ready components / enabled components.',
    jsonPath: '.status.componentsReady',
  },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  // Only with -o wide: the reason is often long.
  { name: 'Message', type: 'string', priority: 1, jsonPath: '.status.message' },
] as const;

/**
 * Rules on `metadata.name`. The name starts the name of every Service the project owns, so it
 * must be a DNS-1035 label short enough for the longest suffix. They sit on the `name`
 * property of `metadata` (the only place besides `generateName` a CRD may restrict), so the
 * API server reports them at `metadata.name` with the value; at the root they would be
 * reported at `<nil>`.
 */
const nameRules = [
  cel(
    `self.matches(r'${PROJECT_NAME_PATTERN}')`,
    "metadata.name must start with a lower-case letter and contain only lower-case letters, digits and '-' (no '.'), because it starts the names of the project's Services",
  ),
  cel(
    `size(self) <= ${MAX_PROJECT_NAME_LENGTH}`,
    // No maxLength (its error would not say why) and no messageExpression with the actual
    // length: metadata.name has no length bound the cost estimate can see, so any string
    // built from it exceeds the budget.
    `metadata.name must be at most ${MAX_PROJECT_NAME_LENGTH} characters, so that "<name>${LONGEST_DERIVED_NAME_SUFFIX}" fits the ${DNS_LABEL_MAX_LENGTH}-character limit of a DNS label`,
  ),
];

/** The `openAPIV3Schema` of the only version. */
export function supabaseProjectOpenApiSchema(): JsonSchema {
  return {
    type: 'object',
    description:
      'A self-hosted Supabase project: its components run in this namespace, its data in an external PostgreSQL and S3 bucket.',
    properties: {
      apiVersion: {
        type: 'string',
        description: 'Versioned schema of this representation of an object.',
      },
      kind: { type: 'string', description: 'REST resource this object represents.' },
      metadata: {
        type: 'object',
        properties: { name: { type: 'string', 'x-kubernetes-validations': nameRules } },
      },
      spec: requiredAsRules(toStructuralSchema(SupabaseProjectSpecSchema, 'spec')),
      status: toStructuralSchema(SupabaseProjectStatusSchema, 'status'),
    },
    'x-kubernetes-validations': [requiredRule('spec', 'the desired state of the project')],
  };
}

/**
 * The SupabaseProject CRD as plain JSON (for tests: `applyCrd(supabaseProjectCrd())`).
 * @returns a new object each call
 */
export function supabaseProjectCrd(): CustomResourceDefinitionManifest {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: CRD_NAME },
    spec: {
      group: API_GROUP,
      scope: 'Namespaced',
      names: {
        kind: KIND,
        listKind: LIST_KIND,
        plural: PLURAL,
        singular: SINGULAR,
        shortNames: [...SHORT_NAMES],
        categories: [...CATEGORIES],
      },
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: PRINTER_COLUMNS.map((column) => ({ ...column })),
          schema: { openAPIV3Schema: supabaseProjectOpenApiSchema() },
        },
      ],
    },
  };
}
