/**
 * Required properties of `spec` as CEL rules instead of OpenAPI `required`. A missing required
 * property is an error the API server treats as blocking: it then skips every CEL rule of the
 * object and adds "<nil>: Invalid value: null: some validation rules were not checked because
 * the object was invalid". A rule with reason FieldValueRequired reports the same
 * `spec.storage: Required value: …` and lets the other rules run, so one attempt shows every
 * problem. The TypeBox schemas keep their required properties (and so the TypeScript types);
 * only the CRD is rewritten.
 */
import { cel, type CelRule } from './schema/cel.ts';
import type { JsonSchema } from './structural-schema.ts';

/**
 * The rule that makes one property required.
 * @param property - the property's name (a CEL identifier)
 * @param what - what it holds, for the message
 */
export function requiredRule(property: string, what: string): CelRule {
  return cel(`has(self.${property})`, `${property} is required: ${what}`, {
    fieldPath: `.${property}`,
    reason: 'FieldValueRequired',
  });
}

function describe(node: JsonSchema | undefined): string {
  const text = typeof node?.description === 'string' ? node.description : '';
  const first = text.split('. ')[0]?.replace(/\.$/, '') ?? '';
  return first.length > 0 ? first.charAt(0).toLowerCase() + first.slice(1) : 'see the CRD';
}

/**
 * Rewrites every `required` list of a structural schema into rules on the same node, except
 * the keys of a `map` list (`x-kubernetes-list-map-keys`), which Kubernetes insists be
 * required or defaulted.
 * @param schema - a structural schema; not modified
 * @param keep - properties of this node that stay in `required`
 * @returns a new schema without `required` (but for `keep`)
 */
export function requiredAsRules(schema: JsonSchema, keep: readonly string[] = []): JsonSchema {
  const out: JsonSchema = { ...schema };
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (properties) {
    out.properties = Object.fromEntries(
      Object.entries(properties).map(([name, child]) => [name, requiredAsRules(child)]),
    );
  }
  if (typeof schema.items === 'object') {
    const mapKeys = (schema['x-kubernetes-list-map-keys'] ?? []) as string[];
    out.items = requiredAsRules(schema.items as JsonSchema, mapKeys);
  }
  if (typeof schema.additionalProperties === 'object') {
    out.additionalProperties = requiredAsRules(schema.additionalProperties as JsonSchema);
  }
  const required = ((schema.required ?? []) as string[]).filter((name) => !keep.includes(name));
  if (required.length > 0) {
    const kept = ((schema.required ?? []) as string[]).filter((name) => keep.includes(name));
    if (kept.length > 0) out.required = kept;
    else delete out.required;
    const rules = required.map((name) => requiredRule(name, describe(properties?.[name])));
    const existing = (schema['x-kubernetes-validations'] ?? []) as CelRule[];
    // Required first: a reader meets the missing field before what depends on it.
    out['x-kubernetes-validations'] = [...rules, ...existing];
  }
  return out;
}
