/**
 * The dependency checks, each run to a result rather than an exception, so that one
 * failing dependency does not hide the state of the other: both conditions are recorded.
 */
import {
  REQUIRED_DASHBOARD_BASIC_AUTH_SECRET_KEYS,
  REQUIRED_SMTP_SECRET_KEYS,
  REQUIRED_STORAGE_SECRET_KEYS,
  SMTP_SECRET_KEYS,
  isComponentEnabled,
} from '../../shared/api/index.ts';
import { REASON } from '../../shared/api/reasons.ts';
import { describeTarget, type SslMode } from '../../shared/db/target.ts';
import type { LiveProject } from '../../shared/reconcile/index.ts';
import {
  readDatabaseTarget,
  readReferencedSecret,
} from '../../shared/reconcile/referenced-secret.ts';
import { PermanentError, ReconcilerError } from '../../shared/runtime/errors.ts';
import { describeBucket } from '../../shared/s3/target.ts';
import type { ValidateDepsDeps } from './deps.ts';
import { bucketTarget } from './targets.ts';

/** How one check ended. */
export type CheckResult =
  | {
      readonly ok: true;
      /** What was reached, for the condition message (no secret values). */
      readonly reached: string;
      readonly latencyMs?: number;
      /** PostgreSQL only: the mode and how the connection is protected. */
      readonly tls?: DatabaseTls;
      /** S3 only: the endpoint key named no scheme and https was assumed. */
      readonly httpsAssumed?: boolean;
    }
  | { readonly ok: false; readonly error: ReconcilerError };

/** How the PostgreSQL connection is protected, for `status.dependencies.postgresql`. */
export interface DatabaseTls {
  readonly sslMode: SslMode;
  readonly encrypted: boolean;
  readonly serverVerified: boolean;
}

/** Runs a check; a ReconcilerError becomes a failed result, anything else (a bug) is thrown. */
async function settle(check: () => Promise<CheckResult>): Promise<CheckResult> {
  try {
    return await check();
  } catch (error) {
    if (error instanceof ReconcilerError) return { ok: false, error };
    throw error;
  }
}

/** The database Secret, then a real connection with `select 1`. */
export function checkPostgres(deps: ValidateDepsDeps, project: LiveProject): Promise<CheckResult> {
  return settle(async () => {
    const target = await readDatabaseTarget(deps.secrets, project);
    const { latencyMs, encrypted, serverVerified } = await deps.probeDatabase(target, {
      timeoutMs: deps.timeouts.postgresMs,
    });
    return {
      ok: true,
      reached: describeTarget(target),
      latencyMs,
      tls: { sslMode: target.sslMode, encrypted, serverVerified },
    };
  });
}

/** The storage Secret, then a real HeadBucket. */
export function checkS3(deps: ValidateDepsDeps, project: LiveProject): Promise<CheckResult> {
  return settle(async () => {
    const { secretRef } = project.spec.storage;
    const values = await readReferencedSecret(
      deps.secrets,
      project,
      secretRef,
      REQUIRED_STORAGE_SECRET_KEYS,
      'storage Secret',
      'spec.storage.secretRef',
    );
    const target = bucketTarget(values, project.spec.storage, secretRef.name);
    const { latencyMs } = await deps.probeBucket(target, { timeoutMs: deps.timeouts.s3Ms });
    return {
      ok: true,
      reached: describeBucket(target),
      latencyMs,
      ...(target.schemeAssumed ? { httpsAssumed: true } : {}),
    };
  });
}

/**
 * The dashboard basic-auth Secret, when Studio runs and the spec references one (Kong reads
 * it for the Studio route; with Studio disabled nothing would use it).
 * @returns undefined when there is nothing to check
 */
export function checkDashboardAuth(
  deps: ValidateDepsDeps,
  project: LiveProject,
): Promise<CheckResult> | undefined {
  const ref = project.spec.studio?.dashboardBasicAuthSecretRef;
  if (!ref || !isComponentEnabled(project.spec, 'studio')) return undefined;
  return settle(async () => {
    await readReferencedSecret(
      deps.secrets,
      project,
      ref,
      REQUIRED_DASHBOARD_BASIC_AUTH_SECRET_KEYS,
      'dashboard basic-auth Secret',
      'spec.studio.dashboardBasicAuthSecretRef',
    );
    return { ok: true, reached: `the dashboard basic-auth Secret "${ref.name}"` };
  });
}

/**
 * `spec.auth.oauthSecretRef`: refused until a key contract for OAuth providers is defined
 * and wired (the reference operator accepted the field and ignored it; ignoring it here too
 * would leave users believing sign-in with a provider is configured).
 * @returns undefined when the field is not set
 */
export function checkOAuth(project: LiveProject): Promise<CheckResult> | undefined {
  const ref = project.spec.auth?.oauthSecretRef;
  if (!ref) return undefined;
  return settle(() => {
    throw new PermanentError(
      REASON.OAuthSecretRefUnsupported,
      `spec.auth.oauthSecretRef (Secret "${ref.name}") is not supported yet: no provider settings would reach Auth. Remove the field; until it is supported, configure providers with spec.auth.extraEnv (GOTRUE_EXTERNAL_<PROVIDER>_ENABLED, _CLIENT_ID, _SECRET by secretKeyRef, _REDIRECT_URI)`,
    );
  });
}

/**
 * The SMTP Secret, when the spec references one: every key GoTrue's settings read
 * (`host`, `port`, `username`, `password`, `from`), a port that is a port number and a `from`
 * that is an address. No connection is attempted: GoTrue connects only when it sends mail.
 * Its problems are reported on AuthReady.
 * @returns undefined when there is nothing to check
 */
export function checkSmtp(
  deps: ValidateDepsDeps,
  project: LiveProject,
): Promise<CheckResult> | undefined {
  const ref = project.spec.auth?.smtpSecretRef;
  if (!ref) return undefined;
  return settle(async () => {
    const values = await readReferencedSecret(
      deps.secrets,
      project,
      ref,
      REQUIRED_SMTP_SECRET_KEYS,
      'SMTP Secret',
      'spec.auth.smtpSecretRef',
    );
    // The port is not a secret; it may be shown. The sender address is not quoted.
    const port = values[SMTP_SECRET_KEYS.port].reveal().trim();
    if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65_535) {
      throw new PermanentError(
        REASON.InvalidPort,
        `the SMTP Secret "${ref.name}" has port "${port}", which is not a port number (1-65535; usually 587 or 465)`,
      );
    }
    if (!/^[^@\s]+@[^@\s]+$/.test(values[SMTP_SECRET_KEYS.from].reveal().trim())) {
      throw new PermanentError(
        REASON.SmtpSenderInvalid,
        `the SMTP Secret "${ref.name}" has a "${SMTP_SECRET_KEYS.from}" that is not an email address (name@domain); GoTrue sends mail from it`,
      );
    }
    return { ok: true, reached: `the SMTP Secret "${ref.name}"` };
  });
}
