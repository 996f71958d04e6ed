/**
 * What the deploy-components integration tests share: a project brought through the secrets
 * phase on the real API server (with controllers and kwok), runs of the phase, and reads of
 * what it applied (objects, resourceVersions, ReplicaSets, env resolved against the real
 * Secrets).
 */
import assert from 'node:assert/strict';
import type { V1Deployment, V1EnvVar } from '@kubernetes/client-node';
import { COMPONENTS, type ComponentName } from '../../shared/api/components.ts';
import { componentResourceName } from '../../shared/api/resource-names.ts';
import { COMPONENT_APPLY_ORDER, COMPONENT_BUILDERS } from '../../shared/components/index.ts';
import type { ChainEvent } from '../../shared/events/parse.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { kubeObjectApplier } from '../../shared/k8s/apply.ts';
import { kubeEventRecorder } from '../../shared/k8s/events.ts';
import { kubeSecretStore } from '../../shared/k8s/secrets.ts';
import { kubeProjectStore, type LiveProject } from '../../shared/reconcile/project-store.ts';
import { DEFAULT_API_KEY_POLICY } from '../../shared/secrets/api-keys.ts';
import { cryptoKeyGenerator } from '../../shared/secrets/generate.ts';
import type { HandlerResult } from '../../shared/runtime/handler.ts';
import {
  reconcileComponents,
  type DeployComponentsDeps,
} from '../../functions/deploy-components/handler.ts';
import { reconcileSecrets } from '../../functions/secrets/handler.ts';
import { kube, kubeConnection } from '../env/index.ts';
import { memoryLogger } from '../fixtures/memory-logger.ts';
import { createProject, createSecret, readProject } from '../fixtures/project.ts';

export { patchProject, readProject } from '../fixtures/project.ts';

/** A database password with every character that breaks naive quoting or URLs. */
export const HOSTILE_PASSWORD = `p'a"s@s:w/o%r d?#&=+`;

/** The database Secret's values of the test projects (never connected to here). */
export const DATABASE = {
  host: 'db.example.internal',
  port: '6543',
  database: 'app db',
  username: 'super user@x',
  password: HOSTILE_PASSWORD,
} as const;

function kubeOptions() {
  return { kubeconfigPath: kubeConnection().kubeconfigPath };
}

/** The phase's deps on the test API server with the real builders. */
export function deployDeps(overrides: Partial<DeployComponentsDeps> = {}): DeployComponentsDeps {
  return {
    projects: kubeProjectStore(kubeOptions()),
    secrets: kubeSecretStore(kubeOptions()),
    objects: kubeObjectApplier(kubeOptions()),
    events: kubeEventRecorder({ ...kubeOptions(), component: 'deploy-components' }),
    builders: COMPONENT_BUILDERS,
    order: COMPONENT_APPLY_ORDER,
    clock: () => new Date(),
    ...overrides,
  };
}

function chainEventOf(type: ChainEvent['type'], project: LiveProject): ChainEvent {
  return {
    kind: 'chain',
    type,
    key: { namespace: project.metadata.namespace, name: project.metadata.name },
    uid: project.metadata.uid,
    generation: project.metadata.generation ?? 1,
  };
}

/** Runs the secrets phase on the project's current generation. */
export async function runSecrets(namespace: string, name = 'demo'): Promise<void> {
  const project = await readProject(namespace, name);
  await reconcileSecrets(
    chainEventOf(CHAIN_EVENT.databaseInitialized, project),
    {
      projects: kubeProjectStore(kubeOptions()),
      secrets: kubeSecretStore(kubeOptions()),
      events: kubeEventRecorder({ ...kubeOptions(), component: 'secrets' }),
      generator: cryptoKeyGenerator,
      clock: () => new Date(),
      policy: DEFAULT_API_KEY_POLICY,
    },
    memoryLogger('secrets').logger,
  );
}

/** Runs deploy-components on the project's current generation. */
export async function runDeploy(
  namespace: string,
  name = 'demo',
  deps = deployDeps(),
): Promise<{ result: HandlerResult; lines: string[] }> {
  const project = await readProject(namespace, name);
  const { logger, lines } = memoryLogger('deploy-components');
  const result = await reconcileComponents(
    chainEventOf(CHAIN_EVENT.secretsReady, project),
    deps,
    logger,
  );
  return { result, lines };
}

/**
 * Creates the project's Secrets (the hostile database password) and the project, and runs
 * the secrets phase, so deploy-components finds what it reads.
 */
export async function preparedProject(
  namespace: string,
  spec: Record<string, unknown> = {},
  name = 'demo',
): Promise<LiveProject> {
  await createSecret(namespace, `${name}-db`, { ...DATABASE });
  await createSecret(namespace, `${name}-s3`, {
    endpoint: 'https://s3.example.internal',
    region: 'eu-west-1',
    bucket: 'files',
    accessKeyId: 'AKIDEXAMPLE',
    secretAccessKey: 'secret/key+value',
  });
  await createProject(namespace, { name, spec });
  await runSecrets(namespace, name);
  return readProject(namespace, name);
}

/** The Deployment of a component, or undefined. */
export async function readDeployment(
  namespace: string,
  component: ComponentName,
  name = 'demo',
): Promise<V1Deployment | undefined> {
  try {
    return await kube().apps.readNamespacedDeployment({
      namespace,
      name: componentResourceName(name, component),
    });
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

/** Every object in the namespace the phase may touch, by `Kind/name`, with its resourceVersion. */
export async function resourceVersions(namespace: string): Promise<Map<string, string>> {
  const { apps, core } = kube();
  const versions = new Map<string, string>();
  const add = (
    kind: string,
    items: { metadata?: { name?: string; resourceVersion?: string } }[],
  ) => {
    for (const item of items) {
      versions.set(`${kind}/${item.metadata?.name ?? ''}`, item.metadata?.resourceVersion ?? '');
    }
  };
  add('Deployment', (await apps.listNamespacedDeployment({ namespace })).items);
  add('Service', (await core.listNamespacedService({ namespace })).items);
  add('ConfigMap', (await core.listNamespacedConfigMap({ namespace })).items);
  add('Secret', (await core.listNamespacedSecret({ namespace })).items);
  return versions;
}

/** The ReplicaSet names of each component's Deployment. */
export async function replicaSets(namespace: string): Promise<Map<ComponentName, string[]>> {
  const sets = (await kube().apps.listNamespacedReplicaSet({ namespace })).items;
  const byComponent = new Map<ComponentName, string[]>();
  for (const component of COMPONENTS) {
    const deployment = componentResourceName('demo', component);
    byComponent.set(
      component,
      sets
        .filter((rs) => rs.metadata?.ownerReferences?.some((o) => o.name === deployment))
        .map((rs) => rs.metadata?.name ?? '')
        .sort(),
    );
  }
  return byComponent;
}

/**
 * A container's environment as the kubelet would resolve it: literal values, and
 * `secretKeyRef`s read from the real Secrets (undefined when absent).
 */
export async function resolvedEnv(
  namespace: string,
  env: readonly V1EnvVar[],
): Promise<Map<string, string | undefined>> {
  const resolved = new Map<string, string | undefined>();
  for (const variable of env) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (ref) {
      const secret = await kube().core.readNamespacedSecret({ namespace, name: ref.name ?? '' });
      const data = secret.data?.[ref.key];
      resolved.set(
        variable.name,
        data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8'),
      );
    } else {
      resolved.set(variable.name, variable.value);
    }
  }
  return resolved;
}

/** The pod-template annotations of a Deployment. */
export function templateAnnotations(deployment: V1Deployment | undefined): Record<string, string> {
  assert.ok(deployment, 'the Deployment exists');
  return deployment.spec?.template.metadata?.annotations ?? {};
}
