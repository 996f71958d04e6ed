/** What the end-to-end scenarios share: reading a project and waiting for a state. */
import { createHash } from 'node:crypto';
import { Watch } from '@kubernetes/client-node';
import { API_GROUP_VERSION, PLURAL } from '../../shared/api/group-version.ts';
import type { Phase } from '../../shared/api/phases.ts';
import { kubeProjectStore, type LiveProject } from '../../shared/reconcile/project-store.ts';
import { kube, kubeConnection } from '../env/index.ts';

/** The project as the API server has it now (undefined when it does not exist). */
export function readProject(namespace: string, name: string): Promise<LiveProject | undefined> {
  return kubeProjectStore({ kubeconfigPath: kubeConnection().kubeconfigPath }).get({
    namespace,
    name,
  });
}

/**
 * Polls the project until `done` holds.
 * @throws Error with the last status seen when it does not hold within `timeoutMs`
 */
export async function waitForProject(
  namespace: string,
  name: string,
  done: (project: LiveProject) => boolean,
  timeoutMs = 90_000,
): Promise<LiveProject> {
  const deadline = Date.now() + timeoutMs;
  let last: LiveProject | undefined;
  while (Date.now() < deadline) {
    last = await readProject(namespace, name);
    if (last && done(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    `${namespace}/${name} did not reach the expected state in ${timeoutMs} ms; last status: ${JSON.stringify(last?.status ?? null)}`,
  );
}

/** Whether the project is Running and Ready for its current generation. */
export function isRunningAndReady(project: LiveProject): boolean {
  const generation = project.metadata.generation ?? 1;
  const ready = project.status?.conditions?.find((c) => c.type === 'Ready');
  return (
    project.status?.phase === 'Running' &&
    project.status.observedGeneration === generation &&
    ready?.status === 'True' &&
    ready.observedGeneration === generation
  );
}

/** Every phase a project's status went through while watched, in order (repeats collapsed). */
export interface PhaseRecorder {
  readonly phases: Phase[];
  stop(): void;
}

/**
 * Watches one project and records each phase its stored status takes: a watch sees every
 * write, so a phase held only between two writes is not missed as a poll could miss it.
 */
export async function recordPhases(namespace: string, name: string): Promise<PhaseRecorder> {
  const phases: Phase[] = [];
  const watch = new Watch(kube().kubeConfig);
  const controller = await watch.watch(
    `/apis/${API_GROUP_VERSION}/namespaces/${namespace}/${PLURAL}`,
    { fieldSelector: `metadata.name=${name}` },
    (_type, object: LiveProject) => {
      const phase = object.status?.phase;
      if (phase && phases.at(-1) !== phase) phases.push(phase);
    },
    () => undefined,
  );
  return {
    phases,
    stop: () => {
      controller.abort();
    },
  };
}

/** What a Deployment looked like: enough to tell a rollout from a scale from nothing. */
export interface DeploymentShape {
  readonly generation: number;
  /** SHA-256 of the pod template: a different one means a new ReplicaSet, a rollout. */
  readonly templateHash: string;
  readonly replicas: number;
  readonly resourceVersion: string;
}

/** The namespace's Deployments by name. */
export async function deploymentShapes(namespace: string): Promise<Map<string, DeploymentShape>> {
  const list = await kube().apps.listNamespacedDeployment({ namespace });
  return new Map(
    list.items.map((d) => [
      d.metadata!.name!,
      {
        generation: d.metadata!.generation!,
        templateHash: sha256(JSON.stringify(d.spec!.template)),
        replicas: d.spec!.replicas!,
        resourceVersion: d.metadata!.resourceVersion!,
      },
    ]),
  );
}

/** SHA-256 of a text, hex: compares values without ever printing them. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Polls `probe` until it resolves true.
 * @throws Error naming `what` when it does not within `timeoutMs`
 */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The printed lines of one project's events: `<namespace>/<name> ` starts its column. */
export function projectLines(lines: readonly string[], namespace: string, name: string): string[] {
  return lines.filter((l) => l.includes(`  ${namespace}/${name} `));
}

/** The trace id a printed line ends with. */
export function traceOf(line: string): string {
  return line.slice(line.lastIndexOf('trace ') + 'trace '.length).trim();
}

/**
 * The traces in which validate-deps started a chain for the project (it replied).
 * Knative delivers at least once, so one change may start more than one chain (see
 * update.test.ts); each runs the same idempotent phases.
 */
export function chainTraces(lines: readonly string[], namespace: string, name: string): string[] {
  return projectLines(lines, namespace, name)
    .filter((l) => l.includes(' validate-deps ') && l.includes('→ '))
    .map(traceOf);
}

/**
 * Waits until every chain validate-deps started for the project has reached health-aggregate
 * (its last phase prints a line in the chain's trace), so that nothing of them still runs.
 * @throws Error listing the lines when they do not end within `timeoutMs`
 */
export async function waitForChainsToEnd(
  lines: readonly string[],
  namespace: string,
  name: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mine = projectLines(lines, namespace, name);
    const ended = new Set(mine.filter((l) => l.includes(' health-aggregate ')).map(traceOf));
    if (chainTraces(lines, namespace, name).every((t) => ended.has(t))) return;
    if (Date.now() > deadline) {
      throw new Error(`chains of ${namespace}/${name} did not end:\n${mine.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
