/**
 * `status` of a SupabaseProject, written only by the reconciler's functions through the
 * status subresource. Nothing here is rewritten on every pass (no per-pass timestamps other
 * than `lastReconcileTime`), so a status write that changes nothing can be skipped.
 */
import Type, { type TOptional } from 'typebox';
import { COMPONENTS, type ComponentName } from '../components.ts';
import { CONDITION_STATUSES } from '../conditions.ts';
import { PHASES } from '../phases.ts';
import { SSL_MODES } from './spec.ts';

/** A condition (metav1.Condition, with the same bounds controller-gen emits). */
export const ConditionSchema = Type.Object({
  type: Type.String({
    description: 'Condition type, for example Ready or PostgreSQLConnected.',
    maxLength: 316,
    pattern:
      '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
  }),
  status: Type.Enum(CONDITION_STATUSES, { description: 'True, False or Unknown.' }),
  observedGeneration: Type.Optional(
    Type.Integer({
      description: 'metadata.generation the condition was computed from.',
      format: 'int64',
      minimum: 0,
    }),
  ),
  lastTransitionTime: Type.String({
    description: 'When status last changed (not when the condition was last written).',
    format: 'date-time',
  }),
  reason: Type.String({
    description: 'CamelCase reason for the last transition.',
    minLength: 1,
    maxLength: 1024,
    pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
  }),
  message: Type.String({ description: 'Human-readable details.', maxLength: 32768 }),
});

/** Observed state of one component. */
export const ComponentStatusSchema = Type.Object({
  enabled: Type.Optional(Type.Boolean({ description: 'Whether the spec asks for it to run.' })),
  image: Type.Optional(Type.String({ description: 'Image the Deployment runs.' })),
  replicas: Type.Optional(
    Type.Integer({ description: 'Desired pods.', format: 'int32', minimum: 0 }),
  ),
  readyReplicas: Type.Optional(
    Type.Integer({ description: 'Pods that are ready.', format: 'int32', minimum: 0 }),
  ),
  updatedReplicas: Type.Optional(
    Type.Integer({
      description: 'Pods that run the current pod template.',
      format: 'int32',
      minimum: 0,
    }),
  ),
  availableReplicas: Type.Optional(
    Type.Integer({
      description: 'Pods that have been ready for minReadySeconds (serving).',
      format: 'int32',
      minimum: 0,
    }),
  ),
  ready: Type.Optional(
    Type.Boolean({ description: 'Whether every desired pod is ready and up to date.' }),
  ),
  message: Type.Optional(Type.String({ description: 'Why it is not ready, when it is not.' })),
});

/** Observed connectivity to an external dependency. No secret value is ever recorded. */
export const DependencyStatusSchema = Type.Object({
  connected: Type.Boolean({ description: 'Whether the last check succeeded.' }),
  latencyMs: Type.Optional(
    Type.Integer({ description: 'Round trip of the last check, in ms.', minimum: 0 }),
  ),
  lastConnectedTime: Type.Optional(
    Type.String({ description: 'When a check last succeeded.', format: 'date-time' }),
  ),
  error: Type.Optional(
    Type.String({ description: 'Why the last check failed (never contains credentials).' }),
  ),
  sslMode: Type.Optional(
    Type.Enum(SSL_MODES, {
      description: 'PostgreSQL only: the sslMode the last check connected with.',
    }),
  ),
  encrypted: Type.Optional(
    Type.Boolean({
      description:
        'PostgreSQL only: whether the last connection was encrypted (TLS); prefer and allow may connect without.',
    }),
  ),
  serverVerified: Type.Optional(
    Type.Boolean({
      description:
        "PostgreSQL only: whether the server's certificate was verified (sslMode verify-ca or verify-full); false means the reconciler cannot tell the database from an impostor.",
    }),
  ),
  httpsAssumed: Type.Optional(
    Type.Boolean({
      description:
        'S3 only: true when the endpoint key of the storage Secret names no scheme (a bare host, as the reference operator and the AWS SDK accept) and https:// was assumed.',
    }),
  ),
});

const url = (what: string) =>
  Type.Optional(Type.String({ description: `URL of ${what}.`, maxLength: 2048 }));

/** URLs at which the project is reached. */
export const EndpointsSchema = Type.Object({
  api: url('the API gateway (Kong)'),
  auth: url('the Auth API (/auth/v1)'),
  rest: url('the REST API (/rest/v1)'),
  realtime: url('the Realtime API (/realtime/v1)'),
  storage: url('the Storage API (/storage/v1)'),
  studio: url('Studio'),
});

const componentsStatusProperties = Object.fromEntries(
  COMPONENTS.map((component) => [component, Type.Optional(ComponentStatusSchema)]),
) as Record<ComponentName, TOptional<typeof ComponentStatusSchema>>;

/** The schema of `status`. */
export const SupabaseProjectStatusSchema = Type.Object(
  {
    phase: Type.Optional(Type.Enum(PHASES, { description: 'Summary of where the project is.' })),
    message: Type.Optional(Type.String({ description: 'Human-readable summary.' })),
    observedGeneration: Type.Optional(
      Type.Integer({
        description: 'metadata.generation the status describes.',
        format: 'int64',
        minimum: 0,
      }),
    ),
    conditions: Type.Optional(
      Type.Array(ConditionSchema, {
        description: 'Conditions, one per type.',
        maxItems: 64,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      }),
    ),
    lastReconcileTime: Type.Optional(
      Type.String({ description: 'When a reconciliation last finished.', format: 'date-time' }),
    ),
    lastTraceId: Type.Optional(
      Type.String({
        description: 'W3C trace id of the last reconciliation (open it in Jaeger).',
        pattern: '^[0-9a-f]{32}$',
      }),
    ),
    lastHandledReconcileAt: Type.Optional(
      Type.String({
        description:
          'The value of the supabase.reconciler.dev/requestedAt annotation the last reconciliation was started for (set the annotation to any new value to ask for one).',
        maxLength: 256,
      }),
    ),
    lastHandledJwtRotation: Type.Optional(
      Type.String({
        description:
          'The value of the supabase.reconciler.dev/rotate-jwt-secret annotation the last reconciliation was started for (the JWT secret is rotated once per value).',
        maxLength: 256,
      }),
    ),
    componentsReady: Type.Optional(
      Type.String({
        description: 'Ready components / enabled components, for example 6/7.',
        pattern: '^[0-9]+/[0-9]+$',
      }),
    ),
    components: Type.Optional(
      Type.Object(componentsStatusProperties, { description: 'Observed state per component.' }),
    ),
    dependencies: Type.Optional(
      Type.Object(
        {
          postgresql: Type.Optional(DependencyStatusSchema),
          s3: Type.Optional(DependencyStatusSchema),
        },
        { description: 'Connectivity to the external PostgreSQL and S3.' },
      ),
    ),
    endpoints: Type.Optional(EndpointsSchema),
  },
  { description: 'Observed state, written by the reconciler.' },
);
