/**
 * Every reason the reconciler writes, in one place a user (and an alert) can scan: the
 * `reason` of `status.conditions[]` and of the Kubernetes Events it records on a project.
 * CamelCase, as Kubernetes conventions ask. A PermanentError carries one of these (its type
 * says so), so a reason cannot be invented where it is used.
 *
 * Grouped by the condition that carries it; README.md ("Conditions and phases") explains
 * what a user does about each.
 */

/** Condition reasons. */
export const REASON = {
  // --- The chain as a whole (Progressing, Ready, any phase's condition) -------------------
  /** A chain for a new generation (or a reconcile request) started. */
  Reconciling: 'Reconciling',
  /** Everything the condition covers holds. */
  Succeeded: 'Succeeded',
  /** Work is under way and will report again. */
  InProgress: 'InProgress',
  /** Not evaluated yet for this generation. */
  Pending: 'Pending',
  /** Progressing=False: a permanent failure stopped the chain; the failing condition says why. */
  Failed: 'Failed',
  /** Progressing=False: the broker gave up on an event after its retries (the dead-letter sink saw it). */
  RetriesExhausted: 'RetriesExhausted',

  // --- Referenced Secrets (any phase that reads one) ---------------------------------------
  /** A Secret the spec names does not exist. */
  SecretNotFound: 'SecretNotFound',
  /** A Secret lacks a key the reconciler needs. */
  SecretKeyMissing: 'SecretKeyMissing',
  /** A key the reconciler needs is empty. */
  SecretKeyEmpty: 'SecretKeyEmpty',
  /** A secretRef names another namespace, which is not allowed. */
  SecretNamespaceNotAllowed: 'SecretNamespaceNotAllowed',
  /** The database Secret's port is not a TCP port. */
  InvalidPort: 'InvalidPort',
  /** The database Secret's `ca.crt` is not a PEM certificate. */
  InvalidCACertificate: 'InvalidCACertificate',
  /** The SMTP Secret's `from` is not an email address. */
  SmtpSenderInvalid: 'SmtpSenderInvalid',
  /**
   * AuthReady=False: `spec.auth.oauthSecretRef` is set, but no key contract for OAuth
   * providers is defined yet; the reconciler refuses it rather than ignore it.
   */
  OAuthSecretRefUnsupported: 'OAuthSecretRefUnsupported',

  // --- PostgreSQLConnected and S3Connected (validate-deps) ---------------------------------
  /** The dependency answered with these credentials. */
  Connected: 'Connected',
  /** Timeout, connection refused, 5xx: the broker retries. */
  Unreachable: 'Unreachable',
  /** The dependency asked us to slow down: the broker retries. */
  RateLimited: 'RateLimited',
  /** The address resolves into a range the egress policy refuses. */
  EgressRefused: 'EgressRefused',
  /** PostgreSQL refused the username/password. */
  AuthenticationFailed: 'AuthenticationFailed',
  /** The database named in the Secret does not exist. */
  DatabaseNotFound: 'DatabaseNotFound',
  /** sslMode requires TLS and the server does not offer it. */
  TLSNotOffered: 'TLSNotOffered',
  /** The server's certificate did not verify against the CA given. */
  TLSVerificationFailed: 'TLSVerificationFailed',
  /** The bucket does not exist. */
  BucketNotFound: 'BucketNotFound',
  /** The S3 credentials were refused or may not list the bucket. */
  S3AccessDenied: 'S3AccessDenied',
  /** The bucket is in another region than the Secret says. */
  S3WrongRegion: 'S3WrongRegion',
  /** The S3 endpoint is not a usable URL. */
  S3EndpointInvalid: 'S3EndpointInvalid',
  /** The S3 server refused the request for another reason (4xx). */
  S3RequestRefused: 'S3RequestRefused',
  /** The S3 server's certificate did not verify. */
  S3TLSVerificationFailed: 'S3TLSVerificationFailed',

  // --- DatabaseInitialized (init-db) -------------------------------------------------------
  /** Every migration is applied and the login roles have the Secret's password. */
  MigrationsApplied: 'MigrationsApplied',
  /** The database could not be reached now: the broker retries. */
  DatabaseUnavailable: 'DatabaseUnavailable',
  /** The database user lacks a privilege a migration needs. */
  InsufficientPrivilege: 'InsufficientPrivilege',
  /** An applied migration's checksum differs from the shipped file's. */
  MigrationChanged: 'MigrationChanged',
  /** A migration failed. */
  MigrationFailed: 'MigrationFailed',
  /** Another SQL error, with its SQLSTATE in the message. */
  SqlError: 'SqlError',
  /** A login role's password could not be set. */
  LoginRoleRefused: 'LoginRoleRefused',
  /** Another project on the same server already set the login roles' passwords. */
  LoginRolesClaimed: 'LoginRolesClaimed',

  // --- SecretsReady (secrets) --------------------------------------------------------------
  /** The JWT secret, API keys and dashboard credentials exist and are valid. */
  KeysReady: 'KeysReady',
  /** A provided JWT Secret is unusable (short secret, keys not signed with it). */
  InvalidJwtSecret: 'InvalidJwtSecret',
  /** A provided dashboard Secret is unusable. */
  InvalidDashboardSecret: 'InvalidDashboardSecret',
  /**
   * SecretsReady=True (and a Warning Event when it happens): the reference operator's
   * `<project>-jwt` was adopted on request; the JWT secret is kept, the API keys were re-signed,
   * so clients need the new anon and service_role keys.
   */
  JwtSecretAdopted: 'JwtSecretAdopted',
  /**
   * `<project>-jwt` was made by the reference operator, and the project does not carry the
   * annotation `supabase.reconciler.dev/adopt-jwt-secret: strrl` that allows taking it over.
   */
  JwtSecretAdoptionRequired: 'JwtSecretAdoptionRequired',

  // --- NetworkReady and <Component>Ready (deploy-components) -------------------------------
  /** Every enabled component's Service exists with its ports. */
  ServicesReady: 'ServicesReady',
  /** A Service came back without a port it was applied with. */
  ServicePortsMissing: 'ServicePortsMissing',
  /** Progressing=True: every object applied; Deployments roll out, health decides Ready. */
  ComponentsApplied: 'ComponentsApplied',
  /** Another field manager applies fields of one of our objects: never forced. */
  FieldManagerConflict: 'FieldManagerConflict',

  // --- <Component>Ready, Ready, Degraded, Available (health-aggregate) ----------------------
  /** <Component>Ready=True: every desired Pod is ready and runs the current template (or replicas is 0). */
  ComponentReady: 'ComponentReady',
  /** <Component>Ready=False: the component's Deployment does not exist (not applied yet). */
  DeploymentMissing: 'DeploymentMissing',
  /** <Component>Ready=False, degraded: the Deployment of a component that was ready is gone. */
  DeploymentLost: 'DeploymentLost',
  /** <Component>Ready=False: a new template is rolling out (old Pods may still serve). */
  RollingOut: 'RollingOut',
  /** <Component>Ready=False: the Pods of a component that was never ready are not ready yet. */
  PodsStarting: 'PodsStarting',
  /** <Component>Ready=False, degraded: Pods of a component that was ready are not ready now. */
  PodsUnavailable: 'PodsUnavailable',
  /**
   * <Component>Ready, Degraded, Progressing: the rollout made no progress within
   * `spec.progressDeadlineSeconds` (the deployment controller's own condition says so).
   */
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  /** Ready=True: every enabled component is ready for the current generation. */
  ComponentsReady: 'ComponentsReady',
  /** Ready=False: components are still rolling out or starting. */
  ComponentsNotReady: 'ComponentsNotReady',
  /** Ready=False: a component is degraded (Degraded says which and why). */
  ComponentsDegraded: 'ComponentsDegraded',
  /** Ready=False: NetworkReady is not True (a Service lacks its ports). */
  NetworkNotReady: 'NetworkNotReady',
  /** Degraded=True: a component that was ready is not (Pods unavailable, Deployment gone). */
  ComponentUnavailable: 'ComponentUnavailable',
  /** Degraded=False: no component is degraded. */
  AsExpected: 'AsExpected',
  /** Available=True: Kong has an available Pod, so the API answers. */
  KongAvailable: 'KongAvailable',
  /** Available=False: no Kong Pod is available (or Kong is scaled to 0). */
  KongUnavailable: 'KongUnavailable',

  // --- Progressing while the project is deleted (finalize) ---------------------------------
  /** Progressing=True: finalize carries out the deletion policy before the finalizer comes off. */
  Terminating: 'Terminating',
  /**
   * Progressing=False: deletionPolicy Delete would drop objects that the user's own objects
   * depend on (a view on auth.users, a policy calling auth.uid()); nothing was dropped.
   */
  DependentObjects: 'DependentObjects',

  // --- The API server's answers (any phase) ------------------------------------------------
  /** The reconciler's credentials were refused by the API server. */
  Unauthorized: 'Unauthorized',
  /** The reconciler's ServiceAccount lacks a right (RBAC). */
  Forbidden: 'Forbidden',
  /** The API server refused an object as invalid. */
  Invalid: 'Invalid',
  /** Another refusal of the API server, with its status in the message. */
  ApiError: 'ApiError',
} as const;

/** A condition reason. */
export type Reason = (typeof REASON)[keyof typeof REASON];

/**
 * Reasons of Kubernetes Events that are not a condition's transition (transitions are
 * recorded with the condition's own reason).
 */
export const EVENT_REASON = {
  /** Warning: fields of an owned object changed with kubectl were set back. */
  DriftReverted: 'DriftReverted',
  /** Warning: the project's sslMode does not verify the database server. */
  DatabaseServerNotVerified: 'DatabaseServerNotVerified',
  /** Normal: a deleted project's database was kept (deletionPolicy Retain). */
  DatabaseRetained: 'DatabaseRetained',
  /** Normal, or Warning when something was kept: what deletionPolicy Delete dropped and kept. */
  DatabaseDeleted: 'DatabaseDeleted',
  /**
   * Warning: a project was deleted without its database work (forced by annotation, Secret
   * gone, credentials refused, database unreachable under Retain, no inventory): what was
   * left behind.
   */
  DatabaseCleanupSkipped: 'DatabaseCleanupSkipped',
} as const;

/** A Kubernetes Event reason that is not a condition reason. */
export type EventReason = (typeof EVENT_REASON)[keyof typeof EVENT_REASON];

/**
 * The reasons for an unusable referenced Secret: those of shared/reconcile/referenced-secret.ts
 * and of validate-deps' SMTP and OAuth checks.
 */
export const SECRET_REASONS: ReadonlySet<string> = new Set<Reason>([
  REASON.SecretNotFound,
  REASON.SecretKeyMissing,
  REASON.SecretKeyEmpty,
  REASON.SecretNamespaceNotAllowed,
  REASON.InvalidPort,
  REASON.SmtpSenderInvalid,
  REASON.OAuthSecretRefUnsupported,
]);
