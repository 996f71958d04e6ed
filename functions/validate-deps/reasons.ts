/**
 * Condition reasons validate-deps writes besides the ones the error layers give
 * (AuthenticationFailed, DatabaseNotFound, TLSNotOffered, TLSVerificationFailed from shared/db;
 * BucketNotFound, S3AccessDenied, S3WrongRegion, S3EndpointInvalid from shared/s3;
 * EgressRefused from shared/net/egress.ts; the Secret reasons and InvalidCACertificate of
 * shared/reconcile/referenced-secret.ts).
 */
export const VALIDATE_DEPS_REASON = {
  /** The dependency answered with these credentials. */
  Connected: 'Connected',
  /** Timeout, connection refused, 5xx: the broker retries. */
  Unreachable: 'Unreachable',
  /** The dependency asked us to slow down: the broker retries. */
  RateLimited: 'RateLimited',
} as const;

/** The reasons shared/reconcile/referenced-secret.ts gives for an unusable Secret. */
export const SECRET_REASONS: ReadonlySet<string> = new Set([
  'SecretNotFound',
  'SecretKeyMissing',
  'SecretKeyEmpty',
  'SecretNamespaceNotAllowed',
  'InvalidPort',
]);
