/**
 * deploy-components: consumes `dev.reconciler.supabase.secrets.ready` (from secrets) and
 * converges the project's workloads:
 * - the Secret `<project>-db-urls` (one URL-encoded connection URL per key a component
 *   declares, rendered with the database Secret's password);
 * - per enabled component, in the builders' order: its ConfigMaps, its Deployment (with a
 *   pod-template annotation hashing exactly what it consumes, so a changed input rolls it and
 *   nothing else) and its Service; a disabled component's objects are deleted;
 * - the Ingress to Kong when `spec.ingress.enabled`, deleted when not.
 * Everything is server-side applied as `supabase-reconciler` and owned by the project. A
 * field changed imperatively (`kubectl edit`, `kubectl scale`) is set back, with a Warning
 * Event; a field another applier owns is never forced: the phase fails with a condition
 * naming the manager and fields. Then NetworkReady and Progressing are set (the phase stays
 * DeployingComponents: health decides Ready) and the reply is
 * `dev.reconciler.supabase.components.deployed`.
 */
import { API_GROUP_VERSION, KIND } from '../../shared/api/group-version.ts';
import type { ComponentName } from '../../shared/api/components.ts';
import { COMPONENT_READY_CONDITIONS, type ConditionType } from '../../shared/api/conditions.ts';
import { isComponentEnabled } from '../../shared/api/enabled-components.ts';
import type { ComponentBuild, ComponentBuilder, Manifest } from '../../shared/components/types.ts';
import { parseEvent, type Accepts, type ReceivedEvent } from '../../shared/events/parse.ts';
import { ACKNOWLEDGED_DELETE, CHAIN_EVENT } from '../../shared/events/types.ts';
import type {
  FieldConflict,
  ObjectApplier,
  ObjectRef,
  StoredObject,
} from '../../shared/k8s/apply.ts';
import type { EventRecorder } from '../../shared/k8s/events.ts';
import { formatKey } from '../../shared/k8s/objects.ts';
import type { SecretObject, SecretStore } from '../../shared/k8s/secrets.ts';
import {
  failPermanently,
  isPhaseTarget,
  nextPhaseEvent,
  resolvePhaseTarget,
  writePhaseStatus,
  type PhaseTarget,
} from '../../shared/reconcile/phase.ts';
import type { LiveProject, ProjectStore } from '../../shared/reconcile/project-store.ts';
import { PermanentError } from '../../shared/runtime/errors.ts';
import {
  acknowledge,
  type EventHandler,
  type HandlerResult,
} from '../../shared/runtime/handler.ts';
import type { Logger } from '../../shared/telemetry/logger.ts';
import { collectConnectionUrls, renderConnectionUrls } from './connection-urls.ts';
import { KONG_PROXY_PORT, resolveInputs, type ResolvedInputs } from './inputs.ts';
import {
  canonicalJson,
  inputsHash,
  podReferences,
  sha256,
  withInputsHash,
  type ConsumedInputs,
} from './inputs-hash.ts';
import { connectionUrlsSecret, ingressManifest, ingressRef } from './objects.ts';
import { REASON, EVENT_REASON } from '../../shared/api/reasons.ts';
import { findCondition } from '../../shared/status/conditions.ts';

/** The function's name (its Knative Service), the `source` of its replies. */
export const DEPLOY_COMPONENTS_FUNCTION = 'deploy-components';

/** The events this function handles. */
export const DEPLOY_COMPONENTS_ACCEPTS: Accepts = {
  types: [CHAIN_EVENT.secretsReady, ACKNOWLEDGED_DELETE],
};

/** What the handler works with; every collaborator is injectable. */
export interface DeployComponentsDeps {
  /** Reads projects and writes their status. */
  readonly projects: ProjectStore;
  /** Reads the referenced Secrets (inputs, and the values the inputs hash covers). */
  readonly secrets: SecretStore;
  /** Server-side applies, reads and deletes the components' objects. */
  readonly objects: ObjectApplier;
  /** Records the Warning Event when drift is set back. */
  readonly events: EventRecorder;
  /** One pure builder per component (shared/components). */
  readonly builders: Readonly<Record<ComponentName, ComponentBuilder>>;
  /** The order components are applied in (the builders' order). */
  readonly order: readonly ComponentName[];
  /** The current time (condition times). */
  readonly clock: () => Date;
  /** The name replies come from (default `deploy-components`). */
  readonly functionName?: string;
}

/** A manifest's address. */
function refOf(manifest: Pick<Manifest, 'apiVersion' | 'kind' | 'metadata'>): ObjectRef {
  return {
    apiVersion: manifest.apiVersion,
    kind: manifest.kind,
    namespace: manifest.metadata.namespace,
    name: manifest.metadata.name,
  };
}

/** `Deployment team-a/demo-kong`: how an object is named in messages. */
function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace}/${ref.name}`;
}

/** How conflicts are worded: `.spec.replicas from "kubectl-edit" (Update)`. */
function describeConflicts(conflicts: readonly FieldConflict[]): string {
  return conflicts
    .map(
      (c) =>
        `${c.field} from "${c.manager}"${c.subresource ? ` (subresource ${c.subresource})` : ''}`,
    )
    .join(', ');
}

/** A conflict with another applier, kept to report once every object was tried. */
interface ApplyConflict {
  readonly ref: ObjectRef;
  readonly component?: ComponentName;
  readonly conflicts: readonly FieldConflict[];
}

/** What one run did, for the status and the Events. */
interface RunState {
  readonly reclaimed: { ref: ObjectRef; conflicts: readonly FieldConflict[] }[];
  readonly conflicts: ApplyConflict[];
  readonly secrets: Map<string, Promise<SecretObject | undefined>>;
}

/** Applies one object; records reclaimed fields and conflicts. */
async function applyOne(
  deps: DeployComponentsDeps,
  state: RunState,
  manifest: Manifest,
  component?: ComponentName,
): Promise<StoredObject | undefined> {
  const ref = refOf(manifest);
  const result = await deps.objects.apply(manifest);
  if (result.outcome === 'conflict') {
    state.conflicts.push({
      ref,
      conflicts: result.conflicts,
      ...(component ? { component } : {}),
    });
    return undefined;
  }
  if (result.reclaimed.length > 0) state.reclaimed.push({ ref, conflicts: result.reclaimed });
  return result.object;
}

/** Reads a Secret once per run. */
function readSecret(
  deps: DeployComponentsDeps,
  state: RunState,
  namespace: string,
  name: string,
): Promise<SecretObject | undefined> {
  let secret = state.secrets.get(name);
  if (!secret) {
    secret = deps.secrets.get({ namespace, name });
    state.secrets.set(name, secret);
  }
  return secret;
}

/**
 * What a component's pod template consumes, each value hashed on its own: the Secret keys
 * and Secrets it references as the API server has them now, and the ConfigMaps (the built
 * data for the component's own, the stored data for any other).
 */
async function consumedInputs(
  deps: DeployComponentsDeps,
  state: RunState,
  build: ComponentBuild,
  namespace: string,
): Promise<ConsumedInputs> {
  const template = (build.deployment.spec as { template?: unknown } | undefined)?.template;
  const refs = podReferences(template);
  const secretKeys: Record<string, string> = {};
  for (const { name, key } of refs.secretKeys) {
    const value = (await readSecret(deps, state, namespace, name))?.data.get(key);
    secretKeys[`${name}/${key}`] = value === undefined ? 'absent' : sha256(value.reveal());
  }
  const secrets: Record<string, string> = {};
  for (const name of refs.secrets) {
    const secret = await readSecret(deps, state, namespace, name);
    secrets[name] = secret
      ? sha256(
          canonicalJson(
            Object.fromEntries(
              [...secret.data].map(([key, value]) => [key, sha256(value.reveal())]),
            ),
          ),
        )
      : 'absent';
  }
  const configMaps: Record<string, string> = {};
  for (const name of refs.configMaps) {
    const own = build.configMaps.find((c) => c.metadata.name === name);
    const data =
      own ?? (await deps.objects.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name }));
    configMaps[name] = data
      ? sha256(canonicalJson({ data: data.data ?? {}, binaryData: data.binaryData ?? {} }))
      : 'absent';
  }
  return { secretKeys, secrets, configMaps };
}

/** The ports a Service manifest or stored Service lists. */
function servicePorts(service: Readonly<Record<string, unknown>>): number[] {
  const ports = (service.spec as { ports?: { port?: unknown }[] } | undefined)?.ports ?? [];
  return ports.map((p) => p.port).filter((p): p is number => typeof p === 'number');
}

/** Whether an object is owned by the project (deleting anything else is not ours to do). */
function ownedBy(object: StoredObject, project: LiveProject): boolean {
  return (object.metadata.ownerReferences ?? []).some((o) => o.uid === project.metadata.uid);
}

/** Deletes an object if it exists and the project owns it. */
async function deleteOwned(
  deps: DeployComponentsDeps,
  ref: ObjectRef,
  project: LiveProject,
  logger: Logger,
): Promise<void> {
  const existing = await deps.objects.get(ref);
  if (!existing || !ownedBy(existing, project)) return;
  if (await deps.objects.delete(ref, existing.metadata.uid)) {
    logger.info({ object: describeRef(ref) }, 'deleted');
  }
}

/** Records one Warning Event per object whose drifted fields were set back. */
async function reportReclaimed(
  deps: DeployComponentsDeps,
  state: RunState,
  project: LiveProject,
  logger: Logger,
): Promise<void> {
  for (const { ref, conflicts } of state.reclaimed) {
    const message = `${describeRef(ref)}: set back ${describeConflicts(conflicts)}, changed outside the SupabaseProject; change the SupabaseProject's spec instead`;
    logger.warn({ object: describeRef(ref), fields: conflicts.map((c) => c.field) }, message);
    try {
      await deps.events.record(
        {
          apiVersion: API_GROUP_VERSION,
          kind: KIND,
          namespace: project.metadata.namespace,
          name: project.metadata.name,
          uid: project.metadata.uid,
        },
        { type: 'Warning', reason: EVENT_REASON.DriftReverted, message },
      );
    } catch (error) {
      // The drift is set back either way; a lost Event must not undo the phase's work.
      logger.warn({ error: String(error) }, 'could not record the DriftReverted Event');
    }
  }
}

/**
 * Whether the chain of `generation` has finished: health-aggregate set Progressing False,
 * Succeeded, for it (Running and Ready).
 */
function chainSucceeded(project: LiveProject, generation: number): boolean {
  const progressing = findCondition(project.status?.conditions, 'Progressing');
  return (
    progressing?.status === 'False' &&
    progressing.reason === REASON.Succeeded &&
    progressing.observedGeneration === generation
  );
}

/** Fails the phase for conflicts with other appliers (never forced; permanent until fixed). */
function failOnConflicts(
  deps: DeployComponentsDeps,
  target: PhaseTarget,
  conflicts: readonly ApplyConflict[],
): Promise<HandlerResult> {
  const message = `${conflicts
    .map(
      (c) =>
        `${describeRef(c.ref)}: ${describeConflicts(c.conflicts)} (applied by another field manager)`,
    )
    .join(
      '; ',
    )}; the reconciler does not force fields another applier owns: stop applying them (or remove that manager's fields) and the next reconciliation takes over`;
  const component = conflicts.find((c) => c.component)?.component;
  const condition: ConditionType = component
    ? COMPONENT_READY_CONDITIONS[component]
    : 'NetworkReady';
  return failPermanently(
    deps.projects,
    target,
    condition,
    new PermanentError(REASON.FieldManagerConflict, message),
  );
}

/**
 * The phase logic on a parsed event.
 * @param event - the parsed event
 * @param deps - stores, applier, builders
 * @param logger - the event's logger
 * @returns the reply, or an acknowledgement (stale event, permanent failure)
 */
export async function reconcileComponents(
  event: ReceivedEvent,
  deps: DeployComponentsDeps,
  logger: Logger,
): Promise<HandlerResult> {
  const target = await resolvePhaseTarget(event, deps.projects);
  if (!isPhaseTarget(target)) return target;
  const project = target.project;
  const { namespace } = target.key;

  let resolved: ResolvedInputs;
  try {
    resolved = await resolveInputs(deps.secrets, project);
  } catch (error) {
    if (!(error instanceof PermanentError)) throw error;
    logger.warn({ reason: error.reason }, 'a referenced Secret is not usable');
    return failPermanently(deps.projects, target, 'Progressing', error);
  }

  const builds = deps.order.map((component) => ({
    component,
    enabled: isComponentEnabled(project.spec, component),
    build: deps.builders[component](project, resolved.inputs),
  }));
  const enabled = builds.filter((b) => b.enabled);
  const state: RunState = { reclaimed: [], conflicts: [], secrets: new Map() };

  const urls = renderConnectionUrls(
    collectConnectionUrls(enabled.map((b) => b.build.connectionUrls)),
    resolved.database,
  );
  await applyOne(deps, state, connectionUrlsSecret(project, urls));

  const missingPorts: string[] = [];
  let kongPort: number | undefined;
  for (const { component, build } of enabled) {
    for (const configMap of build.configMaps) await applyOne(deps, state, configMap, component);
    const template = (build.deployment.spec as { template?: unknown } | undefined)?.template;
    const hash = inputsHash(template, await consumedInputs(deps, state, build, namespace));
    logger.debug({ component, inputsHash: hash }, 'inputs hash');
    await applyOne(deps, state, withInputsHash(build.deployment, hash), component);
    const service = await applyOne(deps, state, build.service, component);
    if (service) {
      const stored = servicePorts(service);
      const missing = servicePorts(build.service).filter((p) => !stored.includes(p));
      if (missing.length > 0) {
        missingPorts.push(`${build.service.metadata.name} (${missing.join(', ')})`);
      }
    }
    if (component === 'kong') {
      const ports = servicePorts(build.service);
      kongPort = ports.includes(KONG_PROXY_PORT) ? KONG_PROXY_PORT : ports[0];
    }
  }

  for (const { build } of builds.filter((b) => !b.enabled)) {
    for (const manifest of [build.service, build.deployment, ...build.configMaps]) {
      await deleteOwned(deps, refOf(manifest), project, logger);
    }
  }

  const ingress = ingressManifest(project, kongPort);
  if (ingress) await applyOne(deps, state, ingress);
  else await deleteOwned(deps, ingressRef(project), project, logger);

  await reportReclaimed(deps, state, project, logger);
  if (state.conflicts.length > 0) {
    logger.warn(
      { objects: state.conflicts.map((c) => describeRef(c.ref)) },
      'fields owned by another applier',
    );
    return failOnConflicts(deps, target, state.conflicts);
  }

  const services = enabled.map((b) => b.build.service.metadata.name);
  const names = enabled.map((b) => b.component);
  // A copy of secrets.ready delivered after its chain ended applies the same objects again
  // (setting back any drift) but is no new reconciliation: it leaves the phase, the message
  // and Progressing as health-aggregate finished them, so it writes nothing (rules 4 and 5).
  // Every chain starts with Progressing True (validate-deps), so a chain under way is never
  // mistaken for one that ended.
  const ended = chainSucceeded(project, target.generation);
  const stillTarget = await writePhaseStatus(
    deps.projects,
    target,
    {
      ...(ended
        ? {}
        : {
            phase: 'DeployingComponents',
            message: 'Components applied; waiting for their rollouts',
          }),
      conditions: [
        missingPorts.length === 0
          ? {
              type: 'NetworkReady',
              status: 'True',
              observedGeneration: target.generation,
              reason: REASON.ServicesReady,
              message: `Services ${services.join(', ')} exist with their ports; clients reach Kong at ${resolved.inputs.urls.apiExternal} (from ${resolved.publicUrlSource})`,
            }
          : {
              type: 'NetworkReady',
              status: 'False',
              observedGeneration: target.generation,
              reason: REASON.ServicePortsMissing,
              message: `Services without the ports they were applied with: ${missingPorts.join('; ')}`,
            },
        ...(ended
          ? []
          : [
              {
                type: 'Progressing',
                status: 'True',
                observedGeneration: target.generation,
                reason: REASON.ComponentsApplied,
                message: `applied ${names.join(', ')}${ingress ? ' and the Ingress' : ''}; their Deployments roll out when an input changes`,
              } as const,
            ]),
      ],
    },
    deps.clock(),
  );
  if (!stillTarget) {
    return acknowledge('dropped_stale', `${formatKey(target.key)} was deleted or recreated`);
  }
  return nextPhaseEvent(
    CHAIN_EVENT.componentsDeployed,
    deps.functionName ?? DEPLOY_COMPONENTS_FUNCTION,
    target,
  );
}

/**
 * The runtime's handler: parses the CloudEvent (400 when it is not one this function
 * handles) and runs the phase.
 * @param deps - stores, applier and builders, built once per process
 */
export function createDeployComponentsHandler(deps: DeployComponentsDeps): EventHandler {
  return (event, { logger }) =>
    reconcileComponents(parseEvent(event, DEPLOY_COMPONENTS_ACCEPTS), deps, logger);
}
