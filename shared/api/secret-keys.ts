/**
 * Keys the user's Secrets must hold, exactly as the reference operator names them, so
 * Secrets made for it work unchanged. The values are read only by pods (through
 * `secretKeyRef`) and by the dependency checks; they never appear in status or logs.
 */

/** Keys of the Secret named by `spec.database.secretRef`. */
export const DATABASE_SECRET_KEYS = {
  host: 'host',
  port: 'port',
  database: 'database',
  username: 'username',
  password: 'password',
} as const;

/**
 * Optional keys of the database Secret. `ca.crt` (the Kubernetes convention, as in
 * `kubernetes.io/tls` and cert-manager Secrets) holds the PEM CA certificate(s) that sslMode
 * `verify-ca` and `verify-full` check the server's certificate against; without it they use
 * the system's CAs.
 */
export const OPTIONAL_DATABASE_SECRET_KEYS = {
  caCertificate: 'ca.crt',
} as const;

/** Keys of the Secret named by `spec.storage.secretRef` (camelCase, as upstream). */
export const STORAGE_SECRET_KEYS = {
  endpoint: 'endpoint',
  region: 'region',
  bucket: 'bucket',
  accessKeyId: 'accessKeyId',
  secretAccessKey: 'secretAccessKey',
} as const;

/** Keys of the Secret named by `spec.studio.dashboardBasicAuthSecretRef`. */
export const DASHBOARD_BASIC_AUTH_SECRET_KEYS = {
  username: 'username',
  password: 'password',
} as const;

/**
 * Keys of the Secret named by `spec.auth.smtpSecretRef`, the reference operator's documented
 * names: the SMTP server GoTrue sends mail through (GOTRUE_SMTP_HOST, GOTRUE_SMTP_PORT,
 * GOTRUE_SMTP_USER, GOTRUE_SMTP_PASS) and the address mail comes from
 * (GOTRUE_SMTP_ADMIN_EMAIL).
 */
export const SMTP_SECRET_KEYS = {
  host: 'host',
  port: 'port',
  username: 'username',
  password: 'password',
  from: 'from',
} as const;

/** Every key the SMTP Secret must have, in the order checks report them. */
export const REQUIRED_SMTP_SECRET_KEYS = Object.values(SMTP_SECRET_KEYS);

/** Every key the database Secret must have, in the order checks report them. */
export const REQUIRED_DATABASE_SECRET_KEYS = Object.values(DATABASE_SECRET_KEYS);

/** Every key the storage Secret must have, in the order checks report them. */
export const REQUIRED_STORAGE_SECRET_KEYS = Object.values(STORAGE_SECRET_KEYS);

/** Every key the dashboard basic-auth Secret must have. */
export const REQUIRED_DASHBOARD_BASIC_AUTH_SECRET_KEYS = Object.values(
  DASHBOARD_BASIC_AUTH_SECRET_KEYS,
);
