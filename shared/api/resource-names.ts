/**
 * Names of the objects the reconciler derives from a project: `<metadata.name><suffix>`.
 * The suffix table is the single source for both the builders and the CRD's length rule on
 * `metadata.name`, so a new suffix cannot silently push a name past the DNS label limit.
 */
import type { ComponentName } from './components.ts';

/**
 * Suffix of each component's Deployment and Service (they share the name). The Service
 * name is what other components and Kong use as a host name.
 */
export const COMPONENT_NAME_SUFFIXES = {
  kong: '-kong',
  auth: '-auth',
  realtime: '-realtime',
  postgrest: '-postgrest',
  storageApi: '-storage-api',
  meta: '-meta',
  studio: '-studio',
} as const satisfies Record<ComponentName, string>;

/** Suffixes of the other objects a project owns (ConfigMaps, Secrets). */
export const AUXILIARY_NAME_SUFFIXES = {
  /** ConfigMap with Kong's declarative configuration and entry-point script. */
  kongConfig: '-kong-config',
  /** Secret with the generated JWT secret and the anon and service-role keys. */
  jwt: '-jwt',
} as const;

/** Every suffix the reconciler appends to a project's name. */
export const DERIVED_NAME_SUFFIXES: readonly string[] = [
  ...Object.values(COMPONENT_NAME_SUFFIXES),
  ...Object.values(AUXILIARY_NAME_SUFFIXES),
];

/** Kubernetes' limit for a DNS label (RFC 1123), which Service names must be. */
export const DNS_LABEL_MAX_LENGTH = 63;

/** The longest suffix in {@link DERIVED_NAME_SUFFIXES}. */
export const LONGEST_DERIVED_NAME_SUFFIX: string = DERIVED_NAME_SUFFIXES.reduce((a, b) =>
  b.length > a.length ? b : a,
);

/**
 * The longest `metadata.name` a SupabaseProject may have: every derived name must still be
 * a DNS label. Enforced by a CEL rule in the CRD.
 */
export const MAX_PROJECT_NAME_LENGTH = DNS_LABEL_MAX_LENGTH - LONGEST_DERIVED_NAME_SUFFIX.length;

/**
 * A project's name must be a DNS-1035 label (start with a letter, no dots) because it
 * starts the names of Services, which Kubernetes requires to be DNS-1035 labels.
 */
export const PROJECT_NAME_PATTERN = '^[a-z]([-a-z0-9]*[a-z0-9])?$';

/**
 * The name of a component's Deployment and Service.
 * @param projectName - `metadata.name` of the SupabaseProject
 * @param component - the component
 * @returns `<projectName><suffix>`, for example `demo-storage-api`
 */
export function componentResourceName(projectName: string, component: ComponentName): string {
  return `${projectName}${COMPONENT_NAME_SUFFIXES[component]}`;
}

/**
 * The name of one of the project's auxiliary objects.
 * @param projectName - `metadata.name` of the SupabaseProject
 * @param kind - which object
 * @returns `<projectName><suffix>`, for example `demo-jwt`
 */
export function auxiliaryResourceName(
  projectName: string,
  kind: keyof typeof AUXILIARY_NAME_SUFFIXES,
): string {
  return `${projectName}${AUXILIARY_NAME_SUFFIXES[kind]}`;
}

/**
 * Checks a project name the way the CRD does, for code that builds names before the API
 * server has seen them (tests, tools).
 * @param projectName - a candidate `metadata.name`
 * @returns a message saying what is wrong, or undefined when the name is usable
 */
export function projectNameProblem(projectName: string): string | undefined {
  if (!new RegExp(PROJECT_NAME_PATTERN).test(projectName)) {
    return `"${projectName}" must start with a lower-case letter and contain only lower-case letters, digits and '-', ending with a letter or digit`;
  }
  if (projectName.length > MAX_PROJECT_NAME_LENGTH) {
    return `"${projectName}" is ${projectName.length} characters long; at most ${MAX_PROJECT_NAME_LENGTH} are allowed so that "<name>${LONGEST_DERIVED_NAME_SUFFIX}" fits the ${DNS_LABEL_MAX_LENGTH}-character DNS label limit`;
  }
  return undefined;
}
