/**
 * Auth (GoTrue): users, sessions and tokens, behind Kong's `/auth/v1/`.
 *
 * Differences from the reference operator (facts §2.3, §12): API_EXTERNAL_URL and
 * GOTRUE_SITE_URL come from the project's public URLs, never localhost (gap 18); the
 * database URL is URL-encoded by deploy-components and carries the project's sslmode
 * (gap 22); GoTrue connects as `supabase_auth_admin`, as upstream Supabase does, instead of
 * the Secret's admin user (see AUTH_CONNECTION_URL); probes on `/health`.
 */
import { SMTP_SECRET_KEYS } from '../api/secret-keys.ts';
import { assembleComponent, httpProbes } from './component.ts';
import { jwtEnv } from './env.ts';
import { fromSecret, literal, type EnvVar } from './manifests.ts';
import type { BuildInputs, ComponentBuilder, ConnectionUrlSpec } from './types.ts';
import { AUTH_PORT } from './ports.ts';

/**
 * GoTrue's database connection. `supabase_auth_admin` owns the `auth` schema GoTrue
 * migrates (init-db's migrations create it and give it the database Secret's password, see
 * shared/db/role-passwords.ts), which keeps GoTrue's objects owned by the role upstream
 * Supabase gives them and GoTrue away from everything else the admin user can touch.
 */
export const AUTH_CONNECTION_URL: ConnectionUrlSpec = {
  key: 'auth',
  scheme: 'postgres',
  role: 'supabase_auth_admin',
  sslmode: true,
};

/**
 * Where the links in GoTrue's mails point, under API_EXTERNAL_URL: Kong routes `/auth/v1/`
 * to GoTrue, whose own default (`/verify`) would miss it (upstream's .env.example sets these).
 */
export const MAILER_URL_PATH = '/auth/v1/verify';

/**
 * Mail through the user's SMTP server, when `spec.auth.smtpSecretRef` names one: every value
 * from that Secret by `secretKeyRef` (so a changed Secret changes the inputs hash and rolls
 * Auth), and sign-ups are no longer confirmed automatically, since confirmation mail can be
 * sent. Without the reference, nothing: GoTrue cannot send mail, so it confirms at once.
 * @param smtpSecret - the Secret's name, or undefined
 */
export function smtpEnv(smtpSecret: string | undefined): EnvVar[] {
  if (smtpSecret === undefined) return [literal('GOTRUE_MAILER_AUTOCONFIRM', 'true')];
  const K = SMTP_SECRET_KEYS;
  return [
    literal('GOTRUE_MAILER_AUTOCONFIRM', 'false'),
    fromSecret('GOTRUE_SMTP_HOST', smtpSecret, K.host),
    fromSecret('GOTRUE_SMTP_PORT', smtpSecret, K.port),
    fromSecret('GOTRUE_SMTP_USER', smtpSecret, K.username),
    fromSecret('GOTRUE_SMTP_PASS', smtpSecret, K.password),
    fromSecret('GOTRUE_SMTP_ADMIN_EMAIL', smtpSecret, K.from),
    literal('GOTRUE_MAILER_URLPATHS_INVITE', MAILER_URL_PATH),
    literal('GOTRUE_MAILER_URLPATHS_CONFIRMATION', MAILER_URL_PATH),
    literal('GOTRUE_MAILER_URLPATHS_RECOVERY', MAILER_URL_PATH),
    literal('GOTRUE_MAILER_URLPATHS_EMAIL_CHANGE', MAILER_URL_PATH),
  ];
}

/**
 * Builds Auth's Deployment and Service.
 * @param project - the project
 * @param inputs - resolved inputs (public URLs, Secret names)
 */
export const buildAuth: ComponentBuilder = (project, inputs: BuildInputs) =>
  assembleComponent(project, {
    component: 'auth',
    ports: [{ name: 'http', port: AUTH_PORT, service: true }],
    // supabase/supabase docker/docker-compose.yml: the auth healthcheck GETs /health on 9999.
    // It answers without touching the database, so it also serves as liveness.
    probes: httpProbes(AUTH_PORT, '/health'),
    env: [
      literal('API_EXTERNAL_URL', inputs.urls.apiExternal),
      literal('GOTRUE_SITE_URL', inputs.urls.site),
      literal('GOTRUE_API_HOST', '0.0.0.0'),
      literal('GOTRUE_API_PORT', String(AUTH_PORT)),
      literal('GOTRUE_DB_DRIVER', 'postgres'),
      fromSecret('GOTRUE_DB_DATABASE_URL', inputs.secrets.connectionUrls, AUTH_CONNECTION_URL.key),
      ...jwtEnv('auth', inputs.secrets.jwt),
      literal('GOTRUE_JWT_EXP', '3600'),
      literal('GOTRUE_JWT_ADMIN_ROLES', 'service_role'),
      literal('GOTRUE_JWT_AUD', 'authenticated'),
      literal('GOTRUE_JWT_DEFAULT_GROUP_NAME', 'authenticated'),
      literal('GOTRUE_DISABLE_SIGNUP', 'false'),
      literal('GOTRUE_EXTERNAL_EMAIL_ENABLED', 'true'),
      ...smtpEnv(inputs.secrets.smtp),
    ],
    connectionUrls: [AUTH_CONNECTION_URL],
  });
