/**
 * What every component's objects have in common: names, labels, selector, owner reference,
 * replicas, image, resources, probes, and the Service beside the Deployment. A builder
 * describes its component with a ComponentDefinition and its environment; assembleComponent
 * makes the objects.
 */
import type { ComponentName } from '../api/components.ts';
import { resolveImage } from '../api/default-images.ts';
import { componentResourceName } from '../api/resource-names.ts';
import { REPLICAS } from '../api/schema/common.ts';
import { SPEC_DEFAULTS } from '../api/schema/spec.ts';
import { mergeEnv } from './env.ts';
import {
  MANAGED_BY,
  ownerReference,
  type BuiltMetadata,
  type ConfigMapManifest,
  type ContainerPort,
  type DeploymentManifest,
  type EnvVar,
  type Probe,
  type ResourceRequirements,
  type ServiceManifest,
  type Volume,
  type VolumeMount,
} from './manifests.ts';
import type { BuildableProject, ComponentBuild, ConnectionUrlSpec } from './types.ts';

/**
 * The `app.kubernetes.io/name` and `app.kubernetes.io/component` label values and the
 * container name of each component (the reference operator's, facts §2.0).
 */
export const COMPONENT_IDENTITIES = {
  kong: { name: 'kong', role: 'api-gateway', container: 'kong' },
  auth: { name: 'auth', role: 'authentication', container: 'auth' },
  realtime: { name: 'realtime', role: 'realtime', container: 'realtime' },
  postgrest: { name: 'postgrest', role: 'rest-api', container: 'postgrest' },
  storageApi: { name: 'storage', role: 'storage-api', container: 'storage' },
  meta: { name: 'meta', role: 'metadata', container: 'meta' },
  studio: { name: 'studio', role: 'studio', container: 'studio' },
} as const satisfies Record<ComponentName, { name: string; role: string; container: string }>;

/**
 * Default compute resources (facts §2.1), used when `spec.<component>.resources` is unset;
 * a set value replaces them whole, as in the reference operator (a partial merge would make
 * it impossible to drop a default limit).
 */
export const DEFAULT_RESOURCES = {
  kong: res('250m', '1Gi', '500m', '2.5Gi'),
  auth: res('50m', '64Mi', '100m', '128Mi'),
  postgrest: res('100m', '128Mi', '200m', '256Mi'),
  realtime: res('100m', '128Mi', '200m', '256Mi'),
  storageApi: res('100m', '256Mi', '500m', '512Mi'),
  meta: res('50m', '64Mi', '100m', '128Mi'),
  studio: res('100m', '256Mi', '500m', '512Mi'),
} as const satisfies Record<ComponentName, ResourceRequirements>;

function res(cpu: string, memory: string, cpuLimit: string, memoryLimit: string) {
  return { requests: { cpu, memory }, limits: { cpu: cpuLimit, memory: memoryLimit } } as const;
}

/**
 * Probe timing shared by every component.
 *
 * - startup: every 5 s for up to 5 minutes. GoTrue, Storage and Realtime run their database
 *   migrations before they listen, which on a first start against a remote database takes
 *   minutes; liveness and readiness begin only after the startup probe succeeded, so no
 *   initialDelaySeconds is needed and a slow first start is not killed.
 * - readiness: every 10 s, out of the Service after 3 failures (30 s).
 * - liveness: every 20 s, restarted after 3 failures (a minute). The liveness paths chosen
 *   per component do not query the database, so a database outage takes pods out of the
 *   Service (readiness) without restarting them in a loop.
 */
export const PROBE_TIMING = {
  startup: { periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 60 },
  readiness: { periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
  liveness: { periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 3 },
} as const;

/** The three probes of a container. */
export interface Probes {
  readonly startup: Probe;
  readonly readiness: Probe;
  readonly liveness: Probe;
}

/**
 * HTTP GET probes.
 * @param port - the container port serving the paths
 * @param ready - the path that says the component can serve (startup and readiness)
 * @param live - the path that says the process is alive (liveness); `ready` when omitted
 */
export function httpProbes(port: number, ready: string, live: string = ready): Probes {
  const get = (path: string) => ({ httpGet: { path, port, scheme: 'HTTP' as const } });
  return {
    startup: { ...get(ready), ...PROBE_TIMING.startup },
    readiness: { ...get(ready), ...PROBE_TIMING.readiness },
    liveness: { ...get(live), ...PROBE_TIMING.liveness },
  };
}

/**
 * Exec probes running one command.
 * @param command - the command and its arguments
 */
export function execProbes(command: readonly string[]): Probes {
  const exec = { exec: { command } };
  return {
    startup: { ...exec, ...PROBE_TIMING.startup },
    readiness: { ...exec, ...PROBE_TIMING.readiness },
    liveness: { ...exec, ...PROBE_TIMING.liveness },
  };
}

/** A port of the container, optionally also of the Service (same number on both). */
export interface PortDefinition {
  readonly name: string;
  readonly port: number;
  /** Whether the Service exposes it (PostgREST's admin port, for example, is for probes). */
  readonly service: boolean;
}

/** What a builder says about its component beyond the shared conventions. */
export interface ComponentDefinition {
  readonly component: ComponentName;
  readonly ports: readonly PortDefinition[];
  readonly probes: Probes;
  /** The builder's variables, in order, before extraEnv is merged in. */
  readonly env: readonly EnvVar[];
  readonly command?: readonly string[];
  readonly volumes?: readonly Volume[];
  readonly volumeMounts?: readonly VolumeMount[];
  readonly configMaps?: readonly ConfigMapManifest[];
  readonly connectionUrls?: readonly ConnectionUrlSpec[];
}

/**
 * The labels of a component's objects (Deployment, pod template, Service, ConfigMaps).
 * @param project - the project
 * @param component - the component
 */
export function componentLabels(
  project: BuildableProject,
  component: ComponentName,
): Readonly<Record<string, string>> {
  const identity = COMPONENT_IDENTITIES[component];
  return {
    'app.kubernetes.io/name': identity.name,
    'app.kubernetes.io/instance': project.metadata.name,
    'app.kubernetes.io/component': identity.role,
    'app.kubernetes.io/part-of': 'supabase',
    'app.kubernetes.io/managed-by': MANAGED_BY,
  };
}

/**
 * The Deployment's selector and the Service's selector. A Deployment's selector cannot be
 * changed after creation, so it holds only what identifies the pods for good (component and
 * project), never a label that might be renamed or versioned later.
 * @param project - the project
 * @param component - the component
 */
export function selectorLabels(
  project: BuildableProject,
  component: ComponentName,
): Readonly<Record<string, string>> {
  return {
    'app.kubernetes.io/name': COMPONENT_IDENTITIES[component].name,
    'app.kubernetes.io/instance': project.metadata.name,
  };
}

/**
 * Metadata of an object the component owns.
 * @param project - the project
 * @param component - the component whose labels it carries
 * @param name - the object's name
 */
export function componentMetadata(
  project: BuildableProject,
  component: ComponentName,
  name: string,
): BuiltMetadata {
  return {
    name,
    namespace: project.metadata.namespace,
    labels: componentLabels(project, component),
    ownerReferences: [ownerReference(project)],
  };
}

/**
 * The replicas a component runs: `spec.<component>.replicas`, where 0 stays 0 (the reference
 * operator turned 0 into 1, gap 15); the schema default when unset.
 * @param project - the project
 * @param component - the component
 */
export function resolveReplicas(project: BuildableProject, component: ComponentName): number {
  return project.spec[component]?.replicas ?? REPLICAS.default;
}

/**
 * The container's resources: `spec.<component>.resources` when set, else the defaults.
 * @param project - the project
 * @param component - the component
 */
export function resolveResources(
  project: BuildableProject,
  component: ComponentName,
): ResourceRequirements {
  return project.spec[component]?.resources ?? DEFAULT_RESOURCES[component];
}

/**
 * The objects of one component from its definition.
 * @param project - the project
 * @param definition - the component's ports, probes, environment and extras
 */
export function assembleComponent(
  project: BuildableProject,
  definition: ComponentDefinition,
): ComponentBuild {
  const { component } = definition;
  const name = componentResourceName(project.metadata.name, component);
  const metadata = componentMetadata(project, component, name);
  const selector = selectorLabels(project, component);
  const ports: ContainerPort[] = definition.ports.map((p) => ({
    name: p.name,
    containerPort: p.port,
    protocol: 'TCP',
  }));
  const deployment: DeploymentManifest = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata,
    spec: {
      replicas: resolveReplicas(project, component),
      // The deployment controller reports a rollout stuck this long (ProgressDeadlineExceeded),
      // which health-aggregate turns into Degraded.
      progressDeadlineSeconds:
        project.spec.progressDeadlineSeconds ?? SPEC_DEFAULTS.progressDeadlineSeconds,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: componentLabels(project, component) },
        spec: {
          // The kubelet would otherwise inject <SERVICE>_PORT-style variables for every
          // Service of the namespace, which Kong (KONG_*) and Realtime (PORT) read as
          // configuration when a Service name happens to match.
          enableServiceLinks: false,
          containers: [
            {
              name: COMPONENT_IDENTITIES[component].container,
              image: resolveImage(project, component),
              ...(definition.command ? { command: definition.command } : {}),
              ports,
              env: mergeEnv(component, definition.env, project.spec[component]?.extraEnv),
              resources: resolveResources(project, component),
              startupProbe: definition.probes.startup,
              readinessProbe: definition.probes.readiness,
              livenessProbe: definition.probes.liveness,
              ...(definition.volumeMounts ? { volumeMounts: definition.volumeMounts } : {}),
            },
          ],
          ...(definition.volumes ? { volumes: definition.volumes } : {}),
        },
      },
    },
  };
  const service: ServiceManifest = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata,
    spec: {
      type: 'ClusterIP',
      selector,
      ports: definition.ports
        .filter((p) => p.service)
        .map((p) => ({ name: p.name, port: p.port, targetPort: p.port, protocol: 'TCP' })),
    },
  };
  return {
    component,
    deployment,
    service,
    configMaps: definition.configMaps ?? [],
    connectionUrls: definition.connectionUrls ?? [],
  };
}

/**
 * In-cluster base URL of a component's Service (same namespace, so the short name resolves
 * through the pod's DNS search path).
 * @param project - the project
 * @param component - the component
 * @param port - the Service port
 */
export function serviceUrl(project: BuildableProject, component: ComponentName, port: number) {
  return `http://${componentResourceName(project.metadata.name, component)}:${port}`;
}
