/**
 * How a builder's environment and the user's `spec.<component>.extraEnv` combine, and the
 * `secretKeyRef`s of the Secret `<project>-jwt` each component reads.
 */
import type { ComponentName } from '../api/components.ts';
import { DEFAULTED_ENV, OWNED_ENV } from '../api/owned-env.ts';
import type { ExtraEnvVar } from '../api/types.ts';
import {
  JWT_SECRET_ENV,
  JWT_SECRET_SETTINGS,
  type SecretEnvBinding,
} from '../secrets/conventions.ts';
import { fromSecret, literal, type EnvVar } from './manifests.ts';

/**
 * Variables the builders set that shared/api/owned-env.ts does not list yet, and that must
 * stay the reconciler's (a probe or the database connection depends on them). The builders
 * treat them as owned; until OWNED_ENV lists them the CRD does not refuse them in extraEnv,
 * so mergeEnv drops such an entry instead of letting it break the probe or the connection.
 */
export const ADDITIONAL_OWNED_ENV = {
  kong: [],
  auth: [],
  // Realtime's TLS switch, derived from spec.database.sslMode.
  realtime: ['DB_SSL'],
  // The admin server answers the readiness and liveness probes.
  postgrest: ['PGRST_ADMIN_SERVER_PORT'],
  storageApi: [],
  // The URL-encoded connection URL (replaces PG_META_DB_HOST/PORT/NAME/USER/PASSWORD).
  meta: ['PG_META_DB_URL'],
  studio: [],
} as const satisfies Record<ComponentName, readonly string[]>;

/**
 * Every variable extraEnv may not set for a component: OWNED_ENV (refused by the CRD) and
 * ADDITIONAL_OWNED_ENV.
 * @param component - the component
 */
export function reservedEnv(component: ComponentName): ReadonlySet<string> {
  return new Set<string>([...OWNED_ENV[component], ...ADDITIONAL_OWNED_ENV[component]]);
}

/**
 * The variables a builder may set: owned, defaulted, or added here.
 * @param component - the component
 */
export function knownEnv(component: ComponentName): ReadonlySet<string> {
  return new Set<string>([...reservedEnv(component), ...DEFAULTED_ENV[component]]);
}

/**
 * The container's environment: the builder's variables with the user's extraEnv merged by
 * name. An extra variable with the name of a builder variable replaces it in place (that is
 * how a DEFAULTED variable is tuned; a duplicate name would leave the winner to the kubelet);
 * other extra variables follow in their order. Reserved variables are never replaced: the CRD
 * refuses those of OWNED_ENV, and this drops any that reach the builder anyway (an object
 * stored under an older CRD, or ADDITIONAL_OWNED_ENV).
 * @param component - the component
 * @param base - the builder's variables, in order
 * @param extra - `spec.<component>.extraEnv`
 */
export function mergeEnv(
  component: ComponentName,
  base: readonly EnvVar[],
  extra: readonly ExtraEnvVar[] | undefined,
): EnvVar[] {
  const reserved = reservedEnv(component);
  const merged: EnvVar[] = [...base];
  for (const entry of extra ?? []) {
    if (reserved.has(entry.name)) continue;
    const variable: EnvVar = entry;
    const at = merged.findIndex((e) => e.name === entry.name);
    if (at >= 0) merged[at] = variable;
    else merged.push(variable);
  }
  return merged;
}

/**
 * The variables a component reads from the Secret `<project>-jwt`, as
 * shared/secrets/conventions.ts records them, followed by the literal settings that fix how
 * the component decodes the secret (PGRST_JWT_SECRET_IS_BASE64=false).
 * @param component - the component
 * @param jwtSecret - the Secret's name (`inputs.secrets.jwt`)
 */
export function jwtEnv(component: ComponentName, jwtSecret: string): EnvVar[] {
  const bindings = JWT_SECRET_ENV[component] as readonly SecretEnvBinding[];
  const settings: Readonly<Record<string, string>> =
    (JWT_SECRET_SETTINGS as Partial<Record<ComponentName, Readonly<Record<string, string>>>>)[
      component
    ] ?? {};
  return [
    ...bindings.map(({ env, key }) => fromSecret(env, jwtSecret, key)),
    ...Object.entries(settings).map(([name, value]) => literal(name, value)),
  ];
}
