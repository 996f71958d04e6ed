/**
 * `spec` of a SupabaseProject. Field names are the reference operator's (facts §1.2), so a
 * manifest written for it is accepted after changing `apiVersion` only. Unlike the
 * reference operator, every field here is used by the reconciler.
 */
import Type from 'typebox';
import type { ComponentName } from '../components.ts';
import { OWNED_ENV } from '../owned-env.ts';
import { cel, DNS_LABEL_PATTERN, DNS_SUBDOMAIN_PATTERN } from './cel.ts';
import {
  boundedInteger,
  extraEnv,
  Image,
  Replicas,
  Resources,
  secretReference,
  stringEnum,
} from './common.ts';

/** PostgreSQL `sslmode` values (libpq), weakest first. */
export const SSL_MODES = [
  'disable',
  'allow',
  'prefer',
  'require',
  'verify-ca',
  'verify-full',
] as const;

/**
 * What deleting a project does to its database (`spec.database.deletionPolicy`): `Retain`
 * keeps it as it is; `Delete` drops what init-db created there and nothing else.
 */
export const DELETION_POLICIES = ['Retain', 'Delete'] as const;

/** Defaults the API server writes into the stored object. */
export const SPEC_DEFAULTS = {
  sslMode: 'require',
  maxConnections: 20,
  forcePathStyle: true,
  studioEnabled: true,
  ingressEnabled: false,
  deletionPolicy: 'Retain',
  progressDeadlineSeconds: 600,
} as const satisfies Record<string, unknown>;

/**
 * Bounds of `spec.progressDeadlineSeconds`. The default is Kubernetes' own for Deployments;
 * below a few seconds a rollout would be declared stuck before a Pod could be scheduled.
 */
export const PROGRESS_DEADLINE_SECONDS = { minimum: 5, maximum: 86_400 } as const;

/** Bounds of `spec.database.maxConnections`. */
export const MAX_CONNECTIONS = { minimum: 1, maximum: 100 } as const;

/** Longest `spec.projectId`: a DNS label. */
export const PROJECT_ID_MAX_LENGTH = 63;

/**
 * The fields every component has, plus its extra ones.
 * @param component - the component's spec key
 * @param what - what the component is, for the description
 * @param extra - fields only this component has
 */
function componentSchema<Extra extends Parameters<typeof Type.Object>[0]>(
  component: ComponentName,
  what: string,
  extra: Extra,
) {
  return Type.Object(
    {
      image: Type.Optional(Image),
      replicas: Type.Optional(Replicas),
      resources: Type.Optional(Resources),
      extraEnv: Type.Optional(extraEnv(component, OWNED_ENV[component])),
      ...extra,
    },
    {
      description: what,
      // `{}` makes the server apply the nested defaults (replicas), so the stored object
      // shows what runs even when the user wrote nothing for the component.
      default: {},
    },
  );
}

const Database = Type.Object(
  {
    secretRef: secretReference(
      'the connection to PostgreSQL (keys host, port, database, username, password)',
    ),
    sslMode: Type.Optional(
      stringEnum('sslMode', SSL_MODES, {
        description: 'libpq sslmode the components use to connect.',
        default: SPEC_DEFAULTS.sslMode,
      }),
    ),
    maxConnections: Type.Optional(
      boundedInteger('maxConnections', MAX_CONNECTIONS, {
        description: 'Most connections each component may open to PostgreSQL (its pool size).',
        default: SPEC_DEFAULTS.maxConnections,
      }),
    ),
    deletionPolicy: Type.Optional(
      stringEnum('deletionPolicy', DELETION_POLICIES, {
        description:
          'What deleting the project does to the database. Retain (default) keeps every object and row (and the bucket is never touched). Delete drops exactly what the reconciler created there (the schemas, roles, extensions, publication and types its migrations made that did not exist before, and its ledger), never your own tables; it stops and reports instead when your objects depend on what it would drop. The annotation supabase.reconciler.dev/force-delete lets a deletion finish without touching the database.',
        default: SPEC_DEFAULTS.deletionPolicy,
      }),
    ),
  },
  { description: 'The external PostgreSQL database (supabase/postgres image).' },
);

const Storage = Type.Object(
  {
    secretRef: secretReference(
      'the S3 bucket (keys endpoint, region, bucket, accessKeyId, secretAccessKey)',
    ),
    forcePathStyle: Type.Optional(
      Type.Boolean({
        description:
          'Path-style S3 addressing (endpoint/bucket/key), which MinIO and most S3-compatible servers need. false uses virtual-hosted style.',
        default: SPEC_DEFAULTS.forcePathStyle,
      }),
    ),
  },
  { description: 'The external S3 bucket the Storage API keeps objects in.' },
);

const Studio = componentSchema('studio', 'Supabase Studio, the dashboard.', {
  enabled: Type.Optional(
    Type.Boolean({
      description: 'Whether to run Studio (and its Kong route).',
      default: SPEC_DEFAULTS.studioEnabled,
    }),
  ),
  publicUrl: Type.Optional(
    Type.String({
      description: 'URL at which browsers reach the API gateway, used by Studio.',
      maxLength: 2048,
      'x-kubernetes-validations': [
        cel(
          "isURL(self) && url(self).getScheme() in ['http', 'https'] && url(self).getHostname() != ''",
          'publicUrl must be an absolute http or https URL, for example https://supabase.example.com',
        ),
      ],
    }),
  ),
  dashboardBasicAuthSecretRef: Type.Optional(
    secretReference('the basic-auth credentials of the dashboard route (keys username, password)'),
  ),
});

const Ingress = Type.Object(
  {
    enabled: Type.Optional(
      Type.Boolean({
        description: 'Whether to create an Ingress for the API gateway.',
        default: SPEC_DEFAULTS.ingressEnabled,
      }),
    ),
    className: Type.Optional(
      Type.String({
        description: 'IngressClass name; the cluster default when unset.',
        maxLength: 253,
        'x-kubernetes-validations': [
          cel(
            `self.matches(r'${DNS_SUBDOMAIN_PATTERN}')`,
            "className must be an IngressClass name: lower-case letters, digits, '-' and '.'",
          ),
        ],
      }),
    ),
    annotations: Type.Optional(
      Type.Record(Type.String({ maxLength: 317 }), Type.String(), {
        description: 'Annotations of the Ingress (for example for cert-manager).',
        maxProperties: 64,
      }),
    ),
    host: Type.Optional(
      Type.String({
        description: 'Host name the Ingress serves, for example api.example.com.',
        maxLength: 253,
        'x-kubernetes-validations': [
          cel(
            `self.matches(r'^(\\*\\.)?${DNS_SUBDOMAIN_PATTERN.slice(1)}')`,
            'host must be a lower-case DNS name, optionally starting with "*.", for example api.example.com',
          ),
        ],
      }),
    ),
    tlsSecretName: Type.Optional(
      Type.String({
        description: 'Secret with the TLS certificate for host; no TLS when unset.',
        maxLength: 253,
        'x-kubernetes-validations': [
          cel(
            `self.matches(r'${DNS_SUBDOMAIN_PATTERN}')`,
            "tlsSecretName must be a Secret name: lower-case letters, digits, '-' and '.'",
          ),
        ],
      }),
    ),
  },
  {
    description: 'Exposure of the API gateway (Kong) through an Ingress.',
    'x-kubernetes-validations': [
      cel(
        '!has(self.enabled) || !self.enabled || has(self.host)',
        'ingress.host is required when ingress.enabled is true',
      ),
    ],
  },
);

/** The schema of `spec`. */
export const SupabaseProjectSpecSchema = Type.Object(
  {
    projectId: Type.String({
      description: 'Identifier of the project, a DNS label (lower-case letters, digits, -).',
      maxLength: PROJECT_ID_MAX_LENGTH,
      'x-kubernetes-validations': [
        cel(
          `self.matches(r'${DNS_LABEL_PATTERN}')`,
          "projectId must be a DNS label: lower-case letters, digits and '-', starting and ending with a letter or digit, for example my-project",
        ),
      ],
    }),
    database: Database,
    storage: Storage,
    kong: Type.Optional(componentSchema('kong', 'Kong, the API gateway.', {})),
    auth: Type.Optional(
      componentSchema('auth', 'Auth (GoTrue), users and sessions.', {
        smtpSecretRef: Type.Optional(secretReference('the SMTP server GoTrue sends mail through')),
        oauthSecretRef: Type.Optional(
          secretReference('the client credentials of external OAuth providers'),
        ),
      }),
    ),
    realtime: Type.Optional(
      componentSchema('realtime', 'Realtime, database changes over WebSockets.', {}),
    ),
    postgrest: Type.Optional(componentSchema('postgrest', 'PostgREST, the REST API.', {})),
    storageApi: Type.Optional(componentSchema('storageApi', 'Storage API, files in S3.', {})),
    meta: Type.Optional(
      componentSchema('meta', 'postgres-meta, the database API Studio uses.', {}),
    ),
    studio: Type.Optional(Studio),
    ingress: Type.Optional(Ingress),
    progressDeadlineSeconds: Type.Optional(
      boundedInteger('progressDeadlineSeconds', PROGRESS_DEADLINE_SECONDS, {
        description:
          "Seconds a component's rollout may make no progress before it is reported as stuck (Degraded, reason ProgressDeadlineExceeded). Set on every component's Deployment.",
        default: SPEC_DEFAULTS.progressDeadlineSeconds,
      }),
    ),
  },
  { description: 'Desired state of a self-hosted Supabase project.' },
);
