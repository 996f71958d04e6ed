/** What the end-to-end scenarios share: reading a project and waiting for a state. */
import { createHash, randomBytes } from 'node:crypto';
import { Watch } from '@kubernetes/client-node';
import { API_GROUP_VERSION, PLURAL } from '../../shared/api/group-version.ts';
import type { Phase } from '../../shared/api/phases.ts';
import { kubeProjectStore, type LiveProject } from '../../shared/reconcile/project-store.ts';
import type { RecordedSpan } from '../../shared/telemetry/span-store.ts';
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

const CHAIN_PHASES = ['validate-deps', 'init-db', 'secrets', 'deploy-components'];

/**
 * Whether the chain of one trace has ended, from its printed lines (in the order the phases
 * finished): its last phase answered without a reply (failed permanently, or acknowledged),
 * or deploy-components replied and health-aggregate then handled the reply.
 */
function chainEnded(traceLines: readonly string[]): boolean {
  const last = traceLines.findLastIndex((l) => CHAIN_PHASES.some((fn) => l.includes(`  ${fn} `)));
  const line = traceLines[last];
  if (line === undefined) return false;
  if (line.includes('  error: ')) return false;
  if (!line.includes('  → ')) return true;
  if (!line.includes('  deploy-components ')) return false;
  return traceLines.slice(last + 1).some((l) => l.includes('  health-aggregate '));
}

/**
 * Waits until every chain validate-deps started for the project has ended (see chainEnded),
 * so that nothing of them still runs.
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
    const running = chainTraces(lines, namespace, name).filter(
      (trace) => !chainEnded(mine.filter((l) => traceOf(l) === trace)),
    );
    if (running.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `chains ${running.join(', ')} of ${namespace}/${name} did not end:\n${mine.join('\n')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A W3C traceparent of a new random trace, to find the spans of an injected event. */
export function newTraceparent(): { traceparent: string; traceId: string } {
  const traceId = randomBytes(16).toString('hex');
  return { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`, traceId };
}

/**
 * Waits until `count` functions recorded a `process <type>` span in the trace, and returns
 * them: how the functions answered an event published into the broker.
 */
export async function waitForProcessSpans(
  spans: (traceId: string) => Promise<RecordedSpan[]>,
  traceId: string,
  count: number,
  timeoutMs = 30_000,
): Promise<RecordedSpan[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = (await spans(traceId)).filter((s) => s.name.startsWith('process '));
    if (found.length >= count) return found;
    if (Date.now() > deadline) {
      throw new Error(
        `${count} process spans expected in trace ${traceId}, found ${JSON.stringify(found)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
