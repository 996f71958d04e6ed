/**
 * Turns the JSON Schema TypeBox emits into a Kubernetes structural schema
 * (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema):
 * every node has a `type`, no `$id`/`$schema`, no `additionalProperties: false` (pruning
 * already drops unknown fields), enums carry their type, and maps use
 * `additionalProperties` instead of a catch-all `patternProperties`.
 */

/** A JSON Schema node as plain JSON. */
export type JsonSchema = Record<string, unknown>;

/** Keys TypeBox or JSON Schema use that a CRD schema must not carry. */
const DROPPED_KEYS = new Set(['$id', '$schema', 'title', 'examples']);

/** Our own markers on schema nodes (read by walkers in shared/api), never sent to Kubernetes. */
const PRIVATE_KEY_PREFIX = 'x-supabase-reconciler-';

/** TypeBox's key pattern for `Type.Record(Type.String(), ...)`. */
const ANY_KEY_PATTERNS = new Set(['^.*$', '^(.*)$']);

function isObject(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonType(value: unknown): string {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  throw new Error(`cannot infer a structural type for the enum value ${JSON.stringify(value)}`);
}

/** `anyOf: [{const: 'a'}, {const: 'b'}]` (TypeBox's union of literals) → an enum. */
function constUnionToEnum(node: JsonSchema): JsonSchema {
  const { anyOf, ...rest } = node;
  if (!Array.isArray(anyOf) || !anyOf.every((s) => isObject(s) && 'const' in s)) return node;
  const values = (anyOf as JsonSchema[]).map((s) => s.const);
  return { ...rest, enum: values };
}

function convert(input: JsonSchema, path: string): JsonSchema {
  let node = constUnionToEnum(input);
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (DROPPED_KEYS.has(key) || key.startsWith(PRIVATE_KEY_PREFIX)) continue;
    if (key === 'additionalProperties' && value === false) continue;
    if (key === 'const') {
      out.enum = [value];
      continue;
    }
    if (key === 'properties' && isObject(value)) {
      out.properties = Object.fromEntries(
        Object.entries(value).map(([name, child]) => [
          name,
          convert(child as JsonSchema, `${path}.${name}`),
        ]),
      );
      continue;
    }
    if (key === 'patternProperties' && isObject(value)) {
      const entries = Object.entries(value);
      const [only] = entries;
      if (entries.length !== 1 || !only || !ANY_KEY_PATTERNS.has(only[0])) {
        throw new Error(`${path}: patternProperties cannot be expressed in a structural schema`);
      }
      out.additionalProperties = convert(only[1] as JsonSchema, `${path}[*]`);
      continue;
    }
    if (key === 'items' && isObject(value)) {
      out.items = convert(value, `${path}[]`);
      continue;
    }
    if (key === 'anyOf' || key === 'oneOf' || key === 'allOf' || key === 'not') {
      // Only the int-or-string form is structural; anything else must be rewritten by hand.
      if (node['x-kubernetes-int-or-string'] !== true) {
        throw new Error(`${path}: ${key} is only allowed with x-kubernetes-int-or-string`);
      }
    }
    out[key] = value;
  }
  node = out;
  if (node.type === undefined && Array.isArray(node.enum) && node.enum.length > 0) {
    const types = new Set(node.enum.map(jsonType));
    if (types.size !== 1) throw new Error(`${path}: an enum must have values of one type`);
    node = { type: [...types][0], ...node };
  }
  const typed =
    typeof node.type === 'string' ||
    node['x-kubernetes-int-or-string'] === true ||
    node['x-kubernetes-preserve-unknown-fields'] === true;
  if (!typed) throw new Error(`${path}: a structural schema node needs a type`);
  return node;
}

/**
 * Converts a TypeBox schema (or any JSON Schema built from the same constructs) to a
 * structural schema.
 * @param schema - the schema; not modified
 * @param path - where the schema sits, for error messages
 * @returns a new plain-JSON schema
 * @throws Error naming the path of a construct a structural schema cannot express
 */
export function toStructuralSchema(schema: unknown, path = '$'): JsonSchema {
  // The JSON round trip drops TypeBox's non-JSON markers (symbols, functions).
  const plain: unknown = JSON.parse(JSON.stringify(schema));
  if (!isObject(plain)) throw new Error(`${path}: a schema must be an object`);
  return convert(plain, path);
}
