/**
 * validate-deps against the real API server, PostgreSQL and S3, driving the handler
 * directly: a valid project is validated end to end; each bad input gives its own condition;
 * a repeated event writes nothing; events that start nothing cost no API call; stale and
 * foreign events are dropped.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { CloudEvent } from 'cloudevents';
import { applyCrd, freshNamespace, postgresConnection, TEST_SUPERUSER } from '../env/index.ts';
import { freePort } from '../env/ports.ts';
import { supabaseProjectCrd, type SupabaseProjectStatus } from '../../shared/api/index.ts';
import { RECONCILE_REQUEST_ANNOTATION } from '../../shared/events/decisions.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { PROJECT_FINALIZER, type LiveProject } from '../../shared/reconcile/index.ts';
import { TransientError } from '../../shared/runtime/errors.ts';
import { isAcknowledgement, type HandlerResult } from '../../shared/runtime/handler.ts';
import { findCondition } from '../../shared/status/conditions.ts';
import { createValidateDepsHandler } from '../../functions/validate-deps/handler.ts';
import {
  apiServerEvent,
  chainEventFor,
  createProject,
  databaseSecretData,
  patchProject,
  putSecret,
  readProject,
  setStatus,
  storageSecretData,
  testContext,
  testDeps,
  totalCalls,
  workingProject,
} from './validate-deps-support.ts';

before(async () => {
  await applyCrd(supabaseProjectCrd());
});

async function run(event: CloudEvent<unknown>, overrides = {}) {
  const { deps, counts } = testDeps(overrides);
  const context = testContext();
  const result = await createValidateDepsHandler(deps)(event, context);
  return { result, counts, context };
}

function condition(status: SupabaseProjectStatus | undefined, type: string) {
  const found = findCondition(status?.conditions, type);
  assert.ok(found, `condition ${type} is set`);
  return found;
}

function assertReply(result: HandlerResult, project: LiveProject) {
  assert.ok(result instanceof CloudEvent, 'a reply event');
  assert.equal(result.type, CHAIN_EVENT.dependenciesValidated);
  assert.equal(
    result.subject,
    `namespaces/${project.metadata.namespace}/supabaseprojects/${project.metadata.name}`,
  );
  assert.equal(result.projectuid, project.metadata.uid);
  assert.equal(Number(result.generation), project.metadata.generation);
  assert.equal(result.source, '/supabase-reconciler/validate-deps');
}

describe('a valid project', () => {
  test('is validated: both conditions True, dependencies, finalizer, phase, reply', async () => {
    const namespace = await freshNamespace('vd-ok');
    const created = await workingProject(namespace);
    const { result, context } = await run(apiServerEvent(created));
    assertReply(result, created);

    const project = await readProject(namespace);
    const status = project.status;
    assert.equal(status?.phase, 'InitializingDatabase');
    assert.equal(status.observedGeneration, 1);
    assert.equal(status.lastTraceId, context.traceId);
    assert.deepEqual(project.metadata.finalizers, [PROJECT_FINALIZER]);
    assert.equal(project.metadata.generation, 1, 'the finalizer does not bump the generation');
    for (const type of ['PostgreSQLConnected', 'S3Connected'] as const) {
      const c = condition(status, type);
      assert.equal(c.status, 'True');
      assert.equal(c.reason, 'Connected');
      assert.equal(c.observedGeneration, 1);
    }
    assert.match(
      condition(status, 'PostgreSQLConnected').message,
      new RegExp(`^connected to ${TEST_SUPERUSER}@`),
    );
    assert.match(condition(status, 'S3Connected').message, /^connected to bucket "vd-/);
    assert.equal(condition(status, 'Progressing').status, 'True');
    assert.equal(condition(status, 'Progressing').reason, 'Reconciling');
    for (const dependency of [status.dependencies?.postgresql, status.dependencies?.s3]) {
      assert.equal(dependency?.connected, true);
      assert.ok(typeof dependency.latencyMs === 'number' && dependency.latencyMs >= 0);
      assert.match(dependency.lastConnectedTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal(dependency.error, undefined);
    }
    assert.equal(status.dependencies?.s3?.httpsAssumed, undefined, 'the endpoint names its scheme');
  });

  test('the same event again changes nothing (no status write, no patch) and replies again', async () => {
    const namespace = await freshNamespace('vd-twice');
    const created = await workingProject(namespace);
    const event = apiServerEvent(created);
    const first = await run(event);
    assert.equal(first.counts.statusWrites, 2, 'the chain start and the result');
    assert.equal(first.counts.metadataPatches, 1, 'the finalizer');
    const before = await readProject(namespace);

    const second = await run(event);
    assertReply(second.result, created);
    assert.equal(second.counts.statusWrites, 0);
    assert.equal(second.counts.metadataPatches, 0);
    const after = await readProject(namespace);
    assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion);
  });

  test('our own status writes and metadata-only updates cost no API call', async () => {
    const namespace = await freshNamespace('vd-own');
    const created = await workingProject(namespace);
    await run(apiServerEvent(created));
    // The object as our writes left it: each write's update event carries such an object.
    const ownWrite = await readProject(namespace);
    const labelled = await patchProject(namespace, 'demo', { metadata: { labels: { a: 'b' } } });
    for (const object of [ownWrite, labelled]) {
      const { result, counts } = await run(apiServerEvent(object, 'update'));
      assert.ok(isAcknowledgement(result));
      assert.equal(result.outcome, 'dropped_own_write');
      assert.equal(totalCalls(counts), 0, JSON.stringify(counts));
    }
  });

  test('a stale (older generation) or foreign (other uid) chain event is dropped', async () => {
    const namespace = await freshNamespace('vd-stale');
    await workingProject(namespace);
    const updated = await patchProject(namespace, 'demo', { spec: { projectId: 'demo-2' } });
    assert.equal(updated.metadata.generation, 2);
    for (const event of [
      chainEventFor(updated, { generation: 1 }),
      chainEventFor(updated, { uid: '00000000-0000-4000-8000-000000000000' }),
    ]) {
      const { result, counts } = await run(event);
      assert.ok(isAcknowledgement(result));
      assert.equal(result.outcome, 'dropped_stale');
      assert.equal(counts.statusWrites + counts.metadataPatches + counts.secretGets, 0);
    }
    assert.equal((await readProject(namespace)).status, undefined, 'nothing written');
  });

  test('a spec change of a Running project is Updating while validated, then the chain goes on', async () => {
    const namespace = await freshNamespace('vd-update');
    const created = await workingProject(namespace);
    await run(apiServerEvent(created));
    await setStatus(await readProject(namespace), {
      ...(await readProject(namespace)).status,
      phase: 'Running',
    });
    const updated = await patchProject(namespace, 'demo', { spec: { projectId: 'demo-2' } });
    const seen: (string | undefined)[] = [];
    const { deps } = testDeps();
    const { result } = await run(apiServerEvent(updated, 'update'), {
      // Look at the phase while the probe runs, i.e. after the chain start was recorded.
      probeDatabase: async (...args: Parameters<typeof deps.probeDatabase>) => {
        seen.push((await readProject(namespace)).status?.phase);
        return deps.probeDatabase(...args);
      },
    });
    assertReply(result, updated);
    assert.deepEqual(seen, ['Updating']);
    const status = (await readProject(namespace)).status;
    assert.equal(status?.observedGeneration, 2);
    assert.equal(condition(status, 'PostgreSQLConnected').observedGeneration, 2);
  });
});

/** One bad input: how to set it up, and what the status must then say. */
interface BadCase {
  readonly name: string;
  readonly setup: (namespace: string) => Promise<Record<string, unknown> | undefined>;
  readonly condition: 'PostgreSQLConnected' | 'S3Connected' | 'StudioReady';
  readonly reason: string;
  readonly message: RegExp;
}

const permanentCases: BadCase[] = [
  {
    name: 'missing database Secret',
    setup: async (ns) => {
      await putSecret(ns, 'demo-s3', await storageSecretData());
      return undefined;
    },
    condition: 'PostgreSQLConnected',
    reason: 'SecretNotFound',
    message:
      /database Secret "demo-db" \(spec\.database\.secretRef\.name\) does not exist in namespace "vd-bad-[a-z0-9-]+"; create it with the keys host, port, database, username, password/,
  },
  {
    name: 'missing key',
    setup: async (ns) => {
      const data = await databaseSecretData();
      delete data.password;
      await putSecret(ns, 'demo-db', data);
      await putSecret(ns, 'demo-s3', await storageSecretData());
      return undefined;
    },
    condition: 'PostgreSQLConnected',
    reason: 'SecretKeyMissing',
    message: /database Secret "demo-db" has no key "password"/,
  },
  {
    name: 'empty key',
    setup: async (ns) => {
      await putSecret(ns, 'demo-db', await databaseSecretData());
      await putSecret(ns, 'demo-s3', { ...(await storageSecretData()), bucket: '' });
      return undefined;
    },
    condition: 'S3Connected',
    reason: 'SecretKeyEmpty',
    message: /storage Secret "demo-s3" has an empty "bucket"/,
  },
  {
    name: 'port that is not a port number',
    setup: async (ns) => {
      await putSecret(ns, 'demo-db', { ...(await databaseSecretData()), port: '54x' });
      await putSecret(ns, 'demo-s3', await storageSecretData());
      return undefined;
    },
    condition: 'PostgreSQLConnected',
    reason: 'InvalidPort',
    message: /not a port number/,
  },
  {
    name: 'wrong password',
    setup: async (ns) => {
      await putSecret(ns, 'demo-db', { ...(await databaseSecretData()), password: 'wrong-pw' });
      await putSecret(ns, 'demo-s3', await storageSecretData());
      return undefined;
    },
    condition: 'PostgreSQLConnected',
    reason: 'AuthenticationFailed',
    message: new RegExp(
      `password authentication failed for user "${TEST_SUPERUSER}"; check the username and password keys`,
    ),
  },
  {
    name: 'missing bucket',
    setup: async (ns) => {
      await putSecret(ns, 'demo-db', await databaseSecretData());
      await putSecret(ns, 'demo-s3', { ...(await storageSecretData()), bucket: 'no-such-bucket' });
      return undefined;
    },
    condition: 'S3Connected',
    reason: 'BucketNotFound',
    message:
      /bucket "no-such-bucket" at http:\/\/127\.0\.0\.1:\d+ .*: the bucket does not exist; create it, or fix the bucket key/,
  },
  {
    name: 'wrong S3 secret key',
    setup: async (ns) => {
      await putSecret(ns, 'demo-db', await databaseSecretData());
      await putSecret(ns, 'demo-s3', {
        ...(await storageSecretData()),
        secretAccessKey: 'wrong-secret-key-0123456789',
      });
      return undefined;
    },
    condition: 'S3Connected',
    reason: 'S3AccessDenied',
    message: /signature was refused.*check the secretAccessKey key of the storage Secret/,
  },
  {
    name: 'unknown S3 access key',
    setup: async (ns) => {
      await putSecret(ns, 'demo-db', await databaseSecretData());
      await putSecret(ns, 'demo-s3', {
        ...(await storageSecretData()),
        accessKeyId: 'AKIAUNKNOWN0000000',
      });
      return undefined;
    },
    condition: 'S3Connected',
    reason: 'S3AccessDenied',
    message: /does not know the access key id; check the accessKeyId key/,
  },
  {
    name: 'S3 endpoint that is not an http(s) URL',
    setup: async (ns) => {
      await putSecret(ns, 'demo-db', await databaseSecretData());
      // A bare host (minio:9000) is taken as https://minio:9000; another scheme is refused.
      await putSecret(ns, 'demo-s3', {
        ...(await storageSecretData()),
        endpoint: 'ftp://minio:9000',
      });
      return undefined;
    },
    condition: 'S3Connected',
    reason: 'S3EndpointInvalid',
    message:
      /storage Secret "demo-s3" has an "endpoint" that must start with http:\/\/ or https:\/\//,
  },
  {
    name: 'cross-namespace secretRef',
    setup: async (ns) => {
      await putSecret(ns, 'demo-db', await databaseSecretData());
      await putSecret(ns, 'demo-s3', await storageSecretData());
      return { storage: { secretRef: { name: 'demo-s3', namespace: 'elsewhere' } } };
    },
    condition: 'S3Connected',
    reason: 'SecretNamespaceNotAllowed',
    message:
      /spec\.storage\.secretRef\.namespace is "elsewhere", but Secrets are read only from the project's namespace "vd-bad-[a-z0-9-]+": create the Secret in "vd-bad-[a-z0-9-]+" and remove spec\.storage\.secretRef\.namespace/,
  },
  {
    name: 'missing dashboard basic-auth Secret',
    setup: async (ns) => {
      await putSecret(ns, 'demo-db', await databaseSecretData());
      await putSecret(ns, 'demo-s3', await storageSecretData());
      return { studio: { dashboardBasicAuthSecretRef: { name: 'studio-auth' } } };
    },
    condition: 'StudioReady',
    reason: 'SecretNotFound',
    message: /dashboard basic-auth Secret "studio-auth" .* does not exist/,
  },
];

describe('a permanent problem fails the project with its own condition, no reply, no retry', () => {
  for (const bad of permanentCases) {
    test(bad.name, async () => {
      const namespace = await freshNamespace('vd-bad');
      const spec = await bad.setup(namespace);
      const created = await createProject(namespace, spec ? { spec } : {});
      const { result } = await run(apiServerEvent(created));
      assert.ok(isAcknowledgement(result), 'acknowledged (202), no reply');
      assert.equal(result.outcome, 'failed_permanent');

      const project = await readProject(namespace);
      const status = project.status;
      assert.equal(status?.phase, 'Failed');
      const failed = condition(status, bad.condition);
      assert.equal(failed.status, 'False');
      assert.equal(failed.reason, bad.reason);
      assert.match(failed.message, bad.message);
      assert.equal(status.message, failed.message);
      assert.equal(condition(status, 'Ready').reason, bad.reason);
      assert.equal(condition(status, 'Progressing').status, 'False');
      assert.deepEqual(project.metadata.finalizers, [PROJECT_FINALIZER]);
      // The other dependency is recorded too, as it is.
      if (bad.condition === 'S3Connected') {
        assert.equal(condition(status, 'PostgreSQLConnected').status, 'True');
        assert.equal(status.dependencies?.s3?.connected, false);
        assert.equal(status.dependencies.s3.error, failed.message);
      }

      // Delivered again: nothing changes.
      const again = await run(apiServerEvent(created));
      assert.ok(isAcknowledgement(again.result));
      assert.equal(again.counts.statusWrites, 0);
    });
  }
});

describe('a transient problem', () => {
  test('an unreachable database is recorded, then answered 503 for the broker to retry', async () => {
    const namespace = await freshNamespace('vd-down');
    const closedPort = await freePort();
    await putSecret(namespace, 'demo-db', {
      ...(await databaseSecretData()),
      port: String(closedPort),
    });
    await putSecret(namespace, 'demo-s3', await storageSecretData());
    const created = await createProject(namespace);
    const event = apiServerEvent(created);
    await assert.rejects(
      run(event),
      (error: unknown) => error instanceof TransientError && error.message.includes('ECONNREFUSED'),
    );
    const status = (await readProject(namespace)).status;
    assert.equal(status?.phase, 'ValidatingDependencies', 'not Failed: it will be retried');
    const down = condition(status, 'PostgreSQLConnected');
    assert.equal(down.status, 'False');
    assert.equal(down.reason, 'Unreachable');
    assert.match(down.message, new RegExp(`127\\.0\\.0\\.1:${closedPort}`));
    assert.equal(condition(status, 'S3Connected').status, 'True');
    assert.equal(condition(status, 'Progressing').status, 'True');
    assert.equal(status.dependencies?.postgresql?.connected, false);

    // The broker retries the same event: the same failure writes nothing.
    const { deps, counts } = testDeps();
    await assert.rejects(createValidateDepsHandler(deps)(event, testContext()), TransientError);
    assert.equal(counts.statusWrites, 0);

    // The database comes back (the Secret is fixed): the retry succeeds.
    await putSecret(namespace, 'demo-db', await databaseSecretData());
    const { result, context } = await run(event);
    assertReply(result, created);
    const healed = (await readProject(namespace)).status;
    assert.equal(healed?.phase, 'InitializingDatabase');
    // The chain goes on in the retry's trace (the event carries none: each attempt is a new
    // trace), and lastTraceId names it, not the first attempt's.
    assert.equal(healed.lastTraceId, context.traceId);
    assert.equal(condition(healed, 'PostgreSQLConnected').status, 'True');
    assert.ok(healed.dependencies?.postgresql?.lastConnectedTime);
  });
});

describe('after a permanent failure', () => {
  test('fixing the Secret and asking for a reconcile starts a new chain that succeeds', async () => {
    const namespace = await freshNamespace('vd-fix');
    await putSecret(namespace, 'demo-db', { ...(await databaseSecretData()), password: 'nope' });
    await putSecret(namespace, 'demo-s3', await storageSecretData());
    const created = await createProject(namespace);
    await run(apiServerEvent(created));
    assert.equal((await readProject(namespace)).status?.phase, 'Failed');

    await putSecret(namespace, 'demo-db', await databaseSecretData());
    const requested = await patchProject(namespace, 'demo', {
      metadata: { annotations: { [RECONCILE_REQUEST_ANNOTATION]: '2026-11-22T10:00:00Z' } },
    });
    const { result } = await run(apiServerEvent(requested, 'update'));
    assertReply(result, requested);
    const status = (await readProject(namespace)).status;
    assert.equal(status?.phase, 'InitializingDatabase');
    assert.equal(status.lastHandledReconcileAt, '2026-11-22T10:00:00Z');
    assert.equal(condition(status, 'PostgreSQLConnected').status, 'True');
    assert.equal(condition(status, 'Ready').reason, 'Reconciling', 'the old failure is gone');
    assert.equal(condition(status, 'Progressing').status, 'True');

    // The update event of that chain's own writes starts nothing.
    const own = await run(apiServerEvent(await readProject(namespace), 'update'));
    assert.ok(isAcknowledgement(own.result));
    assert.equal(own.result.outcome, 'dropped_own_write');
  });
});

test('the finalizer joins others, and a change made meanwhile is not lost (409, read again)', async () => {
  const namespace = await freshNamespace('vd-fin');
  const created = await workingProject(namespace);
  const { deps } = testDeps();
  let raced = false;
  const { result } = await run(apiServerEvent(created), {
    projects: {
      ...deps.projects,
      patchMetadata: async (...args: Parameters<typeof deps.projects.patchMetadata>) => {
        if (!raced) {
          // Another controller adds its finalizer between our read and our patch.
          raced = true;
          await patchProject(namespace, 'demo', { metadata: { finalizers: ['other/finalizer'] } });
        }
        return deps.projects.patchMetadata(...args);
      },
    },
  });
  assertReply(result, created);
  const project = await readProject(namespace);
  assert.deepEqual(project.metadata.finalizers, ['other/finalizer', PROJECT_FINALIZER]);
  assert.equal(project.metadata.generation, 1);
});

test('the database probe is bounded by its timeout', async () => {
  const namespace = await freshNamespace('vd-slow');
  const created = await workingProject(namespace);
  const pg = postgresConnection();
  let bound = 0;
  const { result } = await run(apiServerEvent(created), {
    timeouts: { postgresMs: 1234, s3Ms: 2345 },
    probeDatabase: (target: { host: string }, options: { timeoutMs: number }) => {
      bound = options.timeoutMs;
      assert.equal(target.host, pg.host);
      return Promise.resolve({ latencyMs: 7, encrypted: false, serverVerified: false });
    },
  });
  assertReply(result, created);
  assert.equal(bound, 1234);
  const status = (await readProject(namespace)).status;
  assert.equal(status?.dependencies?.postgresql?.latencyMs, 7);
});
