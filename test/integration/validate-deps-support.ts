/**
 * What the validate-deps integration tests share: a project whose Secrets point at the real
 * PostgreSQL and S3 of the test environment, stores that count every API call, the handler
 * wired as index.ts wires it, and a scan for secret values.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { trace, TraceFlags, type Span } from '@opentelemetry/api';
import { CloudEvent } from 'cloudevents';
import { API_GROUP, API_VERSION, PLURAL } from '../../shared/api/index.ts';
import { probeDatabase } from '../../shared/db/connect.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { kubeEventRecorder } from '../../shared/k8s/events.ts';
import { kubeSecretStore, type SecretStore } from '../../shared/k8s/secrets.ts';
import {
  kubeProjectStore,
  type LiveProject,
  type ProjectMetadataWriter,
  type ProjectStore,
} from '../../shared/reconcile/index.ts';
import type { EventContext } from '../../shared/runtime/handler.ts';
import { probeBucket } from '../../shared/s3/probe.ts';
import type { Logger } from '../../shared/telemetry/logger.ts';
import { noMetrics } from '../../shared/telemetry/metrics-recorder.ts';
import type { ValidateDepsDeps } from '../../functions/validate-deps/deps.ts';
import { testEgress } from '../fixtures/egress.ts';
import { memoryLogger as memoryLoggerNamed } from '../fixtures/memory-logger.ts';
import { createProject, type ProjectOptions } from '../fixtures/project.ts';
import {
  freshBucket,
  freshDatabase,
  kube,
  kubeConnection,
  postgresConnection,
  s3Connection,
} from '../env/index.ts';

/** Where SupabaseProjects are addressed. */
export const PROJECT_REF = { group: API_GROUP, version: API_VERSION, plural: PLURAL } as const;

/** The database of this test file (created once by `sharedDatabase`). */
let database: Promise<string> | undefined;

/** A fresh database for the test file, created on first use. */
export function sharedDatabase(): Promise<string> {
  database ??= freshDatabase('validate_deps').then((c) => c.database);
  return database;
}

/** The values of the database Secret that reach the test PostgreSQL. */
export async function databaseSecretData(): Promise<Record<string, string>> {
  const pg = postgresConnection();
  return {
    host: pg.host,
    port: String(pg.port),
    database: await sharedDatabase(),
    username: pg.user,
    password: pg.password,
  };
}

/** The values of the storage Secret that reach a fresh bucket of the test S3 server. */
export async function storageSecretData(): Promise<Record<string, string>> {
  const s3 = s3Connection();
  return {
    endpoint: s3.endpoint,
    region: s3.region,
    bucket: await freshBucket('vd'),
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  };
}

/** Creates (or replaces) an Opaque Secret with string values. */
export async function putSecret(
  namespace: string,
  name: string,
  data: Record<string, string>,
): Promise<void> {
  const body = { metadata: { name, namespace }, type: 'Opaque', stringData: data };
  try {
    await kube().core.createNamespacedSecret({ namespace, body });
  } catch {
    await kube().core.replaceNamespacedSecret({ namespace, name, body });
  }
}

export {
  createProject,
  apiServerEvent,
  patchProject,
  readProject,
  type ProjectOptions,
} from '../fixtures/project.ts';

/** A namespace's project with working Secrets. */
export async function workingProject(
  namespace: string,
  options: ProjectOptions = {},
): Promise<LiveProject> {
  const name = options.name ?? 'demo';
  await putSecret(namespace, `${name}-db`, await databaseSecretData());
  await putSecret(namespace, `${name}-s3`, await storageSecretData());
  return createProject(namespace, options);
}

/** Replaces a project's status as the administrator (to set up a phase). */
export async function setStatus(
  project: LiveProject,
  status: Record<string, unknown>,
): Promise<LiveProject> {
  return (await kube().customObjects.replaceNamespacedCustomObjectStatus({
    ...PROJECT_REF,
    namespace: project.metadata.namespace,
    name: project.metadata.name,
    body: { ...project, status },
  })) as LiveProject;
}

/** A chain event about `project` (default: a reconcile request for its generation). */
export function chainEventFor(
  project: LiveProject,
  change: { type?: string; uid?: string; generation?: number } = {},
): CloudEvent<unknown> {
  return new CloudEvent<unknown>({
    type: change.type ?? CHAIN_EVENT.reconcileRequested,
    source: '/supabase-reconciler/resync',
    subject: `namespaces/${project.metadata.namespace}/supabaseprojects/${project.metadata.name}`,
    projectuid: change.uid ?? project.metadata.uid,
    generation: String(change.generation ?? project.metadata.generation ?? 1),
    data: {},
  });
}

/** Every API call a run made, by store and verb. */
export interface CallCounts {
  projectGets: number;
  statusWrites: number;
  metadataPatches: number;
  secretGets: number;
}

/** Sum of the calls. */
export function totalCalls(counts: CallCounts): number {
  return counts.projectGets + counts.statusWrites + counts.metadataPatches + counts.secretGets;
}

/** The real stores (test API server, administrator), wrapped to count every call. */
export function countingStores(): {
  projects: ProjectStore & ProjectMetadataWriter;
  secrets: SecretStore;
  counts: CallCounts;
} {
  const options = { kubeconfigPath: kubeConnection().kubeconfigPath };
  const projects = kubeProjectStore(options);
  const secrets = kubeSecretStore(options);
  const counts: CallCounts = { projectGets: 0, statusWrites: 0, metadataPatches: 0, secretGets: 0 };
  return {
    counts,
    projects: {
      get: (key) => {
        counts.projectGets++;
        return projects.get(key);
      },
      replaceStatus: (object) => {
        counts.statusWrites++;
        return projects.replaceStatus(object);
      },
      patchMetadata: (key, resourceVersion, patch) => {
        counts.metadataPatches++;
        return projects.patchMetadata(key, resourceVersion, patch);
      },
    },
    secrets: {
      get: (key) => {
        counts.secretGets++;
        return secrets.get(key);
      },
      create: (draft) => secrets.create(draft),
      replace: (draft) => secrets.replace(draft),
    },
  };
}

/** Handler dependencies as index.ts builds them, on counting stores. */
export function testDeps(overrides: Partial<ValidateDepsDeps> = {}): {
  deps: ValidateDepsDeps;
  counts: CallCounts;
} {
  const { projects, secrets, counts } = countingStores();
  return {
    counts,
    deps: {
      name: 'validate-deps',
      projects,
      secrets,
      // The test servers are on loopback: allowed explicitly (fixtures/egress.ts).
      probeDatabase: (target, options) => probeDatabase(target, { ...options, egress: testEgress }),
      probeBucket: (target, options) => probeBucket(target, { ...options, egress: testEgress }),
      events: kubeEventRecorder({
        kubeconfigPath: kubeConnection().kubeconfigPath,
        component: 'validate-deps',
      }),
      now: () => new Date(),
      timeouts: { postgresMs: 3000, s3Ms: 3000 },
      ...overrides,
    },
  };
}

/** A logger that keeps its JSON lines in memory. */
export function memoryLogger(): { logger: Logger; lines: string[] } {
  return memoryLoggerNamed('validate-deps');
}

/** A handler context with a valid (non-recording) span of a random trace. */
export function testContext(): EventContext & { traceId: string; lines: string[] } {
  const traceId = randomBytes(16).toString('hex');
  const span: Span = trace.wrapSpanContext({
    traceId,
    spanId: randomBytes(8).toString('hex'),
    traceFlags: TraceFlags.SAMPLED,
  });
  const { logger, lines } = memoryLogger();
  return { logger, span, metrics: noMetrics, traceId, lines };
}

/** A value that must never leave its Secret. */
export function secretValue(prefix: string): string {
  return `${prefix}-${randomBytes(12).toString('hex')}`;
}

/**
 * Fails when any of `values` occurs in `haystack`.
 * @param where - what the haystack is, for the message (never the value found)
 */
export function assertNoValues(haystack: string, values: readonly string[], where: string): void {
  assert.ok(values.length > 0, 'there are values to look for');
  for (const [index, value] of values.entries())
    assert.ok(!haystack.includes(value), `secret value #${index} appears in ${where}`);
}
