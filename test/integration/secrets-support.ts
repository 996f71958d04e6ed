/**
 * What the secrets integration tests share: projects on the real API server, stores that
 * count their writes, a generator that records what it made, a logger kept in memory, and a
 * scan for secret values in anything that leaves a Secret.
 */
import assert from 'node:assert/strict';
import { memoryLogger as memoryLoggerNamed } from '../fixtures/memory-logger.ts';
import { createProject as createFixtureProject, readProject } from '../fixtures/project.ts';
import { API_GROUP, API_VERSION, PLURAL } from '../../shared/api/index.ts';
import type { ChainEvent } from '../../shared/events/parse.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { kubeEventRecorder } from '../../shared/k8s/events.ts';
import { kubeSecretStore, type SecretObject, type SecretStore } from '../../shared/k8s/secrets.ts';
import {
  kubeProjectStore,
  type LiveProject,
  type ProjectStore,
} from '../../shared/reconcile/project-store.ts';
import { ConflictError } from '../../shared/runtime/errors.ts';
import { DEFAULT_API_KEY_POLICY } from '../../shared/secrets/api-keys.ts';
import { cryptoKeyGenerator, type KeyGenerator } from '../../shared/secrets/generate.ts';
import { jwtSecretName } from '../../shared/secrets/names.ts';
import type { SecretsDeps } from '../../functions/secrets/handler.ts';
import type { Logger } from '../../shared/telemetry/logger.ts';
import { kube, kubeConnection } from '../env/index.ts';

export { patchProject, readProject } from '../fixtures/project.ts';

/** Where SupabaseProjects are addressed. */
export const PROJECT_REF = { group: API_GROUP, version: API_VERSION, plural: PLURAL } as const;

/** Creates a SupabaseProject and returns it as stored. */
export function createProject(
  namespace: string,
  name = 'demo',
  options: { annotations?: Record<string, string>; studio?: Record<string, unknown> } = {},
): Promise<LiveProject> {
  return createFixtureProject(namespace, {
    name,
    ...(options.annotations ? { annotations: options.annotations } : {}),
    ...(options.studio ? { spec: { studio: options.studio } } : {}),
  });
}

/** The chain event init-db sends for a project. */
export function databaseInitialized(
  project: LiveProject,
  change: Partial<Pick<ChainEvent, 'uid' | 'generation'>> = {},
): ChainEvent {
  return {
    kind: 'chain',
    type: CHAIN_EVENT.databaseInitialized,
    key: { namespace: project.metadata.namespace, name: project.metadata.name },
    uid: change.uid ?? project.metadata.uid,
    generation: change.generation ?? project.metadata.generation ?? 1,
  };
}

/** Write counters of the stores a run used. */
export interface WriteCounts {
  secretCreates: number;
  secretReplaces: number;
  statusWrites: number;
}

function kubeOptions() {
  return { kubeconfigPath: kubeConnection().kubeconfigPath };
}

/** A Secret store on the test API server, as the administrator. */
export function adminSecretStore(): SecretStore {
  return kubeSecretStore(kubeOptions());
}

/** Reads the `<project>-jwt` Secret. */
export async function readJwtSecret(namespace: string, name = 'demo'): Promise<SecretObject> {
  const secret = await adminSecretStore().get({ namespace, name: jwtSecretName(name) });
  assert.ok(secret, `Secret ${jwtSecretName(name)} exists`);
  return secret;
}

/** A generator that records every value it hands out (to scan for them later). */
export function recordingGenerator(inner: KeyGenerator = cryptoKeyGenerator): {
  generator: KeyGenerator;
  values: string[];
} {
  const values: string[] = [];
  return {
    values,
    generator: {
      generate(kind) {
        const value = inner.generate(kind);
        values.push(value.reveal());
        return value;
      },
    },
  };
}

/** A logger that keeps its JSON lines in memory. */
export function memoryLogger(): { logger: Logger; lines: string[] } {
  return memoryLoggerNamed('secrets');
}

/** Everything a run of the handler needs, with its write counters and generated values. */
export interface TestDeps {
  readonly deps: SecretsDeps;
  readonly counts: WriteCounts;
  /** Secret writes the API server refused with 409 (lost races). */
  readonly conflicts: { count: number };
  readonly generated: string[];
}

/** Real stores wrapped to count writes; the CSPRNG generator wrapped to record. */
export function testDeps(overrides: Partial<SecretsDeps> = {}): TestDeps {
  const counts: WriteCounts = { secretCreates: 0, secretReplaces: 0, statusWrites: 0 };
  const projects: ProjectStore = kubeProjectStore(kubeOptions());
  const secrets = adminSecretStore();
  const { generator, values } = recordingGenerator();
  const conflicts = { count: 0 };
  const counted = async <T>(write: () => Promise<T>): Promise<T> => {
    try {
      return await write();
    } catch (error) {
      if (error instanceof ConflictError) conflicts.count++;
      throw error;
    }
  };
  return {
    counts,
    conflicts,
    generated: values,
    deps: {
      projects: {
        get: (key) => projects.get(key),
        replaceStatus: (object) => {
          counts.statusWrites++;
          return projects.replaceStatus(object);
        },
      },
      secrets: {
        get: (key) => secrets.get(key),
        create: async (draft) => {
          const created = await counted(() => secrets.create(draft));
          counts.secretCreates++;
          return created;
        },
        replace: async (draft) => {
          const replaced = await counted(() => secrets.replace(draft));
          counts.secretReplaces++;
          return replaced;
        },
      },
      events: kubeEventRecorder({ ...kubeOptions(), component: 'secrets' }),
      generator,
      clock: () => new Date(),
      policy: DEFAULT_API_KEY_POLICY,
      ...overrides,
    },
  };
}

/** Every value of the Secrets in a namespace, revealed: what must never leak. */
export async function secretValues(namespace: string): Promise<string[]> {
  const list = await kube().core.listNamespacedSecret({ namespace });
  return list.items.flatMap((s) =>
    Object.values(s.data ?? {})
      .map((v) => Buffer.from(v, 'base64').toString('utf8'))
      // "supabase" (the generated username) is public and occurs in names and messages.
      .filter((v) => v.length >= 12),
  );
}

/**
 * Fails when any of `values` occurs in `haystack`.
 * @param where - what the haystack is, for the message (never the value found)
 */
export function assertNoValues(haystack: string, values: readonly string[], where: string): void {
  assert.ok(values.length > 0, 'there are values to look for');
  for (const [index, value] of values.entries()) {
    assert.ok(!haystack.includes(value), `secret value #${index} appears in ${where}`);
  }
}

/** The project's status and the namespace's Kubernetes Events, as one JSON text. */
export async function statusAndEvents(namespace: string, name = 'demo'): Promise<string> {
  const project = await readProject(namespace, name);
  const events = await kube().core.listNamespacedEvent({ namespace });
  return JSON.stringify({ status: project.status, events: events.items });
}
