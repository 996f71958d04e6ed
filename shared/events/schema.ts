/**
 * The shapes of event data the reconciler relies on, checked with TypeBox so that a
 * malformed event is refused with a message naming the field, not a TypeError later.
 * Only what the decisions of shared/events read is required: functions re-read the live
 * object before acting (docs/architecture.md rule 1), so the rest of the object is not
 * trusted anyway.
 */
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';
import {
  DNS1123_LABEL_MAX,
  DNS1123_LABEL_PATTERN,
  DNS1123_SUBDOMAIN_MAX,
  DNS1123_SUBDOMAIN_PATTERN,
} from '../k8s/names.ts';
import { truncate } from '../runtime/describe.ts';
import { MalformedEventError } from '../runtime/errors.ts';

// Bounded like the API server bounds them, so an event cannot carry what no object has.
const NonEmpty = Type.String({ minLength: 1, maxLength: 316 });
// Names reach request paths: only what Kubernetes itself accepts (no `..`, no `/`).
const ObjectName = Type.String({
  minLength: 1,
  maxLength: DNS1123_SUBDOMAIN_MAX,
  pattern: DNS1123_SUBDOMAIN_PATTERN,
});
const NamespaceName = Type.String({
  minLength: 1,
  maxLength: DNS1123_LABEL_MAX,
  pattern: DNS1123_LABEL_PATTERN,
});

/** An object as ApiServerSource (mode Resource) sends it: the whole object. */
export const ResourceObjectSchema = Type.Object({
  apiVersion: NonEmpty,
  kind: NonEmpty,
  metadata: Type.Object({
    name: ObjectName,
    namespace: NamespaceName,
    uid: Type.String({ minLength: 1, maxLength: 128 }),
    resourceVersion: Type.String({ minLength: 1, maxLength: 64 }),
    generation: Type.Optional(Type.Integer({ minimum: 1 })),
    deletionTimestamp: Type.Optional(Type.String()),
    annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
    finalizers: Type.Optional(Type.Array(Type.String())),
    // Which project an owned object (a component's Deployment) belongs to; the owner's name
    // reaches a request path, hence a Kubernetes name.
    ownerReferences: Type.Optional(
      Type.Array(
        Type.Object({
          apiVersion: NonEmpty,
          kind: NonEmpty,
          name: ObjectName,
          uid: Type.String({ minLength: 1, maxLength: 128 }),
          controller: Type.Optional(Type.Boolean()),
        }),
        { maxItems: 64 },
      ),
    ),
  }),
  spec: Type.Optional(Type.Unknown()),
  status: Type.Optional(
    Type.Object({
      observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
      lastHandledReconcileAt: Type.Optional(Type.String()),
      lastHandledJwtRotation: Type.Optional(Type.String()),
    }),
  ),
});

/** An object from an ApiServerSource event, after validation. */
export type ResourceObject = Static<typeof ResourceObjectSchema>;

/**
 * Checks `value` against `schema`.
 * @param what - what the value is, for the message (e.g. `the event data`)
 * @throws MalformedEventError listing the first few problems with their JSON pointers
 */
export function checkShape<S extends Type.TSchema>(
  schema: S,
  value: unknown,
  what: string,
): Static<S> {
  if (Value.Check(schema, value)) return value;
  // A pointer names the sender's keys, which may be as long as the sender likes.
  const problems = [...Value.Errors(schema, value)]
    .slice(0, 5)
    .map((e) => truncate(`${e.instancePath || '/'} ${e.message}`, 200));
  throw new MalformedEventError(`${what} is not valid: ${problems.join('; ')}`);
}
