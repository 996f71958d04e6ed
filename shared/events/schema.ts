/**
 * The shapes of event data the reconciler relies on, checked with TypeBox so that a
 * malformed event is refused with a message naming the field, not a TypeError later.
 * Only what the decisions of shared/events read is required: functions re-read the live
 * object before acting (DESIGN.md rule 1), so the rest of the object is not trusted anyway.
 */
import Type, { type Static } from 'typebox';
import Value from 'typebox/value';
import { MalformedEventError } from '../runtime/errors.ts';

const NonEmpty = Type.String({ minLength: 1 });

/** An object as ApiServerSource (mode Resource) sends it: the whole object. */
export const ResourceObjectSchema = Type.Object({
  apiVersion: NonEmpty,
  kind: NonEmpty,
  metadata: Type.Object({
    name: NonEmpty,
    namespace: NonEmpty,
    uid: NonEmpty,
    resourceVersion: NonEmpty,
    generation: Type.Optional(Type.Integer({ minimum: 1 })),
    deletionTimestamp: Type.Optional(Type.String()),
    annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
    finalizers: Type.Optional(Type.Array(Type.String())),
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
  const problems = [...Value.Errors(schema, value)]
    .slice(0, 5)
    .map((e) => `${e.instancePath || '/'} ${e.message}`);
  throw new MalformedEventError(`${what} is not valid: ${problems.join('; ')}`);
}
