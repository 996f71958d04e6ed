/**
 * The contract between deploy-components and the component builders. A builder is pure:
 * (project, resolved inputs) -> the objects of one component, as plain manifests (only
 * shared/k8s imports the Kubernetes client, so these are plain shapes). It never sees a secret
 * value: pods read secret values through `secretKeyRef`s, and a value that needs the password
 * inside a string (a connection URL, URL-encoded) is declared as a `connectionUrl`, which
 * deploy-components renders into the Secret `<project>-db-urls` (see ConnectionUrlSpec).
 */
import type { ComponentName } from '../api/components.ts';
import type { SslMode, SupabaseProject } from '../api/types.ts';

/** A project as builders read it: its spec and the metadata owner references need. */
export type BuildableProject = Pick<SupabaseProject, 'apiVersion' | 'kind' | 'spec'> & {
  readonly metadata: { readonly name: string; readonly namespace: string; readonly uid: string };
};

/** Non-secret values resolved from the project's Secrets and spec before building. */
export interface BuildInputs {
  /** The database Secret's non-secret keys and `spec.database.sslMode`. */
  readonly database: {
    readonly host: string;
    readonly port: number;
    readonly name: string;
    readonly user: string;
    readonly sslMode: SslMode;
  };
  /** The storage Secret's non-secret keys and `spec.storage.forcePathStyle`. */
  readonly storage: {
    readonly endpoint: string;
    readonly region: string;
    readonly bucket: string;
    readonly forcePathStyle: boolean;
  };
  /** Names of the Secrets pods read values from (all in the project's namespace). */
  readonly secrets: {
    /** The user's database Secret (key `password`). */
    readonly database: string;
    /** The user's storage Secret (keys `accessKeyId`, `secretAccessKey`). */
    readonly storage: string;
    /** `<project>-jwt` (shared/secrets/conventions.ts says which variable reads which key). */
    readonly jwt: string;
    /** Studio's basic-auth credentials (keys `username`, `password`). */
    readonly dashboard: string;
    /** `<project>-db-urls`, written by deploy-components: one key per ConnectionUrlSpec. */
    readonly connectionUrls: string;
    /** The user's SMTP Secret (`spec.auth.smtpSecretRef`, shared/api SMTP_SECRET_KEYS), if any. */
    readonly smtp?: string;
  };
  /** Public URLs: never localhost (from `studio.publicUrl` / the ingress host). */
  readonly urls: {
    /** Where clients reach Kong (GoTrue's API_EXTERNAL_URL, Studio's public API URL). */
    readonly apiExternal: string;
    /** GoTrue's SITE_URL: where users are sent back after sign-in. */
    readonly site: string;
  };
}

/**
 * A database connection URL a component reads from `<project>-db-urls`. deploy-components
 * renders it with every part URL-encoded (a password with `@`, `/`, `%`, `:` or a space must
 * survive, which Kubernetes' `$(VAR)` expansion cannot do) and the project's sslmode.
 */
export interface ConnectionUrlSpec {
  /** The key in `<project>-db-urls`, e.g. `auth`. */
  readonly key: string;
  /** `postgres` or `postgresql`, as the component expects. */
  readonly scheme: 'postgres' | 'postgresql';
  /**
   * The role to connect as: `database-user` (the Secret's username) or a login role that
   * init-db gives the Secret's password (`authenticator`, `supabase_auth_admin`,
   * `supabase_storage_admin`).
   */
  readonly role:
    'database-user' | 'authenticator' | 'supabase_auth_admin' | 'supabase_storage_admin';
  /** Whether to append `?sslmode=<mode>` (a driver that does not understand it gets none). */
  readonly sslmode: boolean;
}

/** A Kubernetes object as a plain manifest. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly ownerReferences?: readonly Readonly<Record<string, unknown>>[];
  };
  readonly [field: string]: unknown;
}

/** What one component is made of. */
export interface ComponentBuild {
  readonly component: ComponentName;
  /** apps/v1 Deployment named componentResourceName(project, component). */
  readonly deployment: Manifest;
  /** v1 Service with the same name and the component's ports. */
  readonly service: Manifest;
  /** ConfigMaps the pods mount or read (Kong's declarative configuration). */
  readonly configMaps: readonly Manifest[];
  /** Connection URLs the pods read from `<project>-db-urls`. */
  readonly connectionUrls: readonly ConnectionUrlSpec[];
}

/** Builds one component. Pure: same input, same output, no I/O. */
export type ComponentBuilder = (project: BuildableProject, inputs: BuildInputs) => ComponentBuild;
