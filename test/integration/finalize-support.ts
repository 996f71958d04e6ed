/**
 * What the finalize tests share: projects with the finalizer on, deleted through the API the
 * way `kubectl delete` does, the ApiServerSource events the adapter sends for them (the live
 * object as data), the real finalize handler with real stores, Event recorder and teardown,
 * and inventories of a database (schemas, roles, extensions, publications, types, functions).
 */
import assert from 'node:assert/strict';
import pg from 'pg';
import { FINALIZE, handleFinalize, type FinalizeDeps } from '../../functions/finalize/handler.ts';
import { teardownDatabase } from '../../shared/db/teardown.ts';
import { kubeEventRecorder } from '../../shared/k8s/events.ts';
import { kubeSecretStore } from '../../shared/k8s/secrets.ts';
import { PROJECT_FINALIZER } from '../../shared/reconcile/finalizer.ts';
import {
  kubeProjectStore,
  PROJECT_RESOURCE,
  type LiveProject,
} from '../../shared/reconcile/project-store.ts';
import type { HandlerResult } from '../../shared/runtime/handler.ts';
import { createLogger } from '../../shared/telemetry/logger.ts';
import { kube, kubeConnection } from '../env/index.ts';
import { testEgress } from '../fixtures/egress.ts';
import {
  apiServerEvent,
  createProject,
  patchProject,
  type ProjectOptions,
} from '../fixtures/project.ts';

export const silent = { logger: createLogger({ name: FINALIZE, level: 'silent' }) };

/** The real collaborators of finalize against the test cluster (loopback databases allowed). */
export function finalizeDeps(overrides: Partial<FinalizeDeps> = {}): FinalizeDeps {
  const options = { kubeconfigPath: kubeConnection().kubeconfigPath };
  return {
    projects: kubeProjectStore(options),
    secrets: kubeSecretStore(options),
    events: kubeEventRecorder({ ...options, component: FINALIZE }),
    teardown: (target, project, policy) =>
      teardownDatabase(target, project, policy, { egress: testEgress, lockTimeoutMs: 5000 }),
    ...overrides,
  };
}

/** Creates a project that carries the finalizer, as validate-deps leaves it. */
export async function projectWithFinalizer(
  namespace: string,
  options: ProjectOptions = {},
): Promise<LiveProject> {
  const created = await createProject(namespace, options);
  return patchProject(namespace, created.metadata.name, {
    metadata: { finalizers: [PROJECT_FINALIZER] },
  });
}

/** Reads a project, or undefined once it is gone. */
export async function liveProject(
  namespace: string,
  name = 'demo',
): Promise<LiveProject | undefined> {
  try {
    return (await kube().customObjects.getNamespacedCustomObject({
      ...PROJECT_RESOURCE,
      namespace,
      name,
    })) as LiveProject;
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

/**
 * Deletes a project as `kubectl delete` does and returns the update event that announces it,
 * built from the live object as the adapter sends it.
 */
export async function deleteProject(namespace: string, name = 'demo') {
  await kube().customObjects.deleteNamespacedCustomObject({ ...PROJECT_RESOURCE, namespace, name });
  const live = await liveProject(namespace, name);
  assert.ok(live?.metadata.deletionTimestamp, 'the finalizer holds the project');
  assert.ok((live.metadata.generation ?? 0) >= 1);
  return { live, update: apiServerEvent(live, 'update') };
}

/** The last state of a deleted object, as the adapter's delete event carries it. */
export function deleteEventOf(lastSeen: LiveProject) {
  return apiServerEvent(lastSeen, 'delete');
}

/** Runs finalize on an event. */
export function finalize(
  event: ReturnType<typeof apiServerEvent>,
  deps: FinalizeDeps = finalizeDeps(),
): Promise<HandlerResult> {
  return handleFinalize(event, deps, silent);
}

/** The Events recorded on a project, oldest first. */
export async function projectEvents(namespace: string, name = 'demo') {
  const { items } = await kube().core.listNamespacedEvent({
    namespace,
    fieldSelector: `involvedObject.name=${name},involvedObject.kind=SupabaseProject`,
  });
  return items.map((e) => ({ type: e.type, reason: e.reason, message: e.message ?? '' }));
}

/** A database's objects, as sorted names per kind (roles are server-wide). */
export interface DatabaseInventory {
  readonly schemas: string[];
  readonly roles: string[];
  readonly extensions: string[];
  readonly publications: string[];
  readonly types: string[];
  readonly functions: string[];
}

/** Takes the inventory of a database, as `client` (a superuser) sees it. */
export async function inventoryOf(client: pg.Client): Promise<DatabaseInventory> {
  const names = async (sql: string) =>
    (await client.query<{ name: string }>(sql)).rows.map((r) => r.name).sort();
  const user = `NOT IN ('pg_catalog', 'information_schema', 'pg_toast')`;
  return {
    schemas: await names(
      `SELECT nspname AS name FROM pg_namespace WHERE nspname NOT LIKE 'pg_temp%' AND nspname NOT LIKE 'pg_toast_temp%'`,
    ),
    roles: await names(`SELECT rolname AS name FROM pg_roles`),
    extensions: await names(`SELECT extname AS name FROM pg_extension`),
    publications: await names(`SELECT pubname AS name FROM pg_publication`),
    types: await names(
      `SELECT format_type(t.oid, NULL) AS name FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname ${user}`,
    ),
    functions: await names(
      `SELECT p.oid::regprocedure::text AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname ${user}`,
    ),
  };
}

/** Runs `work` with a client of `connection` and closes it. */
export async function withClient<T>(
  connection: pg.ClientConfig,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client(connection);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
