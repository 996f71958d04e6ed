/**
 * init-db against the real API server and PostgreSQL: tracked migrations, login role
 * passwords following the database Secret, conditions for every kind of failure, and
 * idempotence (a second run writes nothing).
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { HTTP } from 'cloudevents';
import pg from 'pg';
import request from 'supertest';
import { handleInitDb, INIT_DB, type InitDbDeps } from '../../functions/init-db/handler.ts';
import { initialiseDatabase } from '../../shared/db/initialise.ts';
import { LEDGER_TABLE } from '../../shared/db/migrations.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { kubeSecretStore } from '../../shared/k8s/secrets.ts';
import {
  kubeProjectStore,
  type LiveProject,
  type ProjectStore,
} from '../../shared/reconcile/project-store.ts';
import { TransientError } from '../../shared/runtime/errors.ts';
import { isAcknowledgement } from '../../shared/runtime/handler.ts';
import { createLogger } from '../../shared/telemetry/logger.ts';
import { freePort } from '../env/ports.ts';
import {
  freshDatabase,
  freshNamespace,
  kube,
  kubeConnection,
  postgresConnection,
  startOtlpReceiver,
  uniqueSuffix,
} from '../env/index.ts';
import { createHarness } from '../fixtures/function-harness.ts';
import {
  chainEventFor,
  createProject,
  createSecret,
  installProjectCrd,
} from '../fixtures/project.ts';
import { testEgress } from '../fixtures/egress.ts';

const silent = { logger: createLogger({ name: INIT_DB, level: 'silent' }) };

function stores() {
  const options = { kubeconfigPath: kubeConnection().kubeconfigPath };
  return { projects: kubeProjectStore(options), secrets: kubeSecretStore(options) };
}

/** Counts status writes through a project store. */
function countingWrites(inner: ProjectStore): { store: ProjectStore; writes: () => number } {
  let writes = 0;
  return {
    store: {
      get: (key) => inner.get(key),
      replaceStatus: (object) => {
        writes++;
        return inner.replaceStatus(object);
      },
    },
    writes: () => writes,
  };
}

function deps(overrides: Partial<InitDbDeps> = {}): InitDbDeps {
  return {
    ...stores(),
    initialise: (target, key) => initialiseDatabase(target, key, { egress: testEgress }),
    ...overrides,
  };
}

interface Setup {
  namespace: string;
  project: LiveProject;
  database: string;
}

/** A namespace with a project whose database Secret points at a fresh database. */
async function setup(secret: Record<string, string> = {}): Promise<Setup> {
  const namespace = await freshNamespace('initdb');
  const { database } = await freshDatabase('initdb');
  const pgEnv = postgresConnection();
  const values = {
    host: pgEnv.host,
    port: String(pgEnv.port),
    database,
    username: pgEnv.user,
    password: pgEnv.password,
    ...secret,
  };
  await createSecret(namespace, 'demo-db', values);
  const project = await createProject(namespace);
  return { namespace, project, database };
}

async function readProject(project: LiveProject): Promise<LiveProject> {
  const live = await stores().projects.get({
    namespace: project.metadata.namespace,
    name: project.metadata.name,
  });
  assert.ok(live);
  return live;
}

function condition(project: LiveProject, type: string) {
  return project.status?.conditions?.find((c) => c.type === type);
}

describe('init-db', () => {
  before(async () => {
    await installProjectCrd();
  });

  test('applies the migrations, sets DatabaseInitialized and replies database.initialized; a second run writes nothing', async () => {
    const { project, database } = await setup();
    const event = chainEventFor(CHAIN_EVENT.dependenciesValidated, project);
    const reply = await handleInitDb(event, deps(), silent);
    assert.ok(reply && !isAcknowledgement(reply));
    assert.equal(reply.type, CHAIN_EVENT.databaseInitialized);
    assert.equal(reply.subject, `namespaces/${project.metadata.namespace}/supabaseprojects/demo`);
    assert.equal(reply.projectuid, project.metadata.uid);
    assert.equal(reply.generation, 1);

    const live = await readProject(project);
    assert.equal(condition(live, 'DatabaseInitialized')?.status, 'True');
    assert.equal(condition(live, 'DatabaseInitialized')?.observedGeneration, 1);
    assert.equal(live.status?.phase, 'DeployingSecrets');

    const client = new pg.Client({ ...postgresConnection(), database });
    await client.connect();
    const ledger = await client.query(`SELECT version FROM ${LEDGER_TABLE}`);
    await client.end();
    assert.ok((ledger.rowCount ?? 0) >= 4);

    // The same event again: no migration applied, no password changed, no status write.
    let secondResult: Awaited<ReturnType<typeof initialiseDatabase>> | undefined;
    const counting = countingWrites(stores().projects);
    const again = await handleInitDb(
      event,
      deps({
        projects: counting.store,
        initialise: async (target, key) =>
          (secondResult = await initialiseDatabase(target, key, { egress: testEgress })),
      }),
      silent,
    );
    assert.ok(again && !isAcknowledgement(again));
    assert.ok(secondResult);
    assert.deepEqual(secondResult.applied, []);
    assert.deepEqual(secondResult.passwordsChanged, []);
    assert.equal(counting.writes(), 0);
  });

  test('two concurrent runs on one database both succeed and apply each migration once', async () => {
    const { project, database } = await setup();
    const event = chainEventFor(CHAIN_EVENT.dependenciesValidated, project);
    const applied: string[][] = [];
    const recording = deps({
      initialise: async (target, key) => {
        const result = await initialiseDatabase(target, key, { egress: testEgress });
        applied.push([...result.applied]);
        return result;
      },
    });
    const replies = await Promise.all([
      handleInitDb(event, recording, silent),
      handleInitDb(event, recording, silent),
    ]);
    for (const reply of replies) {
      assert.ok(reply && !isAcknowledgement(reply));
      assert.equal(reply.type, CHAIN_EVENT.databaseInitialized);
    }
    const all = applied.flat().sort();
    assert.deepEqual(all, [...new Set(all)], 'no migration applied twice');
    const client = new pg.Client({ ...postgresConnection(), database });
    await client.connect();
    const ledger = await client.query<{ name: string }>(
      `SELECT name FROM ${LEDGER_TABLE} ORDER BY name`,
    );
    await client.end();
    assert.deepEqual(
      ledger.rows.map((r) => r.name),
      all,
    );
  });

  test('a missing database Secret fails the project with a condition that says which Secret', async () => {
    const namespace = await freshNamespace('initdb');
    const project = await createProject(namespace);
    const result = await handleInitDb(
      chainEventFor(CHAIN_EVENT.dependenciesValidated, project),
      deps(),
      silent,
    );
    assert.ok(isAcknowledgement(result));
    assert.equal(result.outcome, 'failed_permanent');
    const live = await readProject(project);
    assert.equal(live.status?.phase, 'Failed');
    const c = condition(live, 'DatabaseInitialized');
    assert.equal(c?.status, 'False');
    assert.equal(c.reason, 'SecretNotFound');
    assert.match(
      c.message,
      /the database Secret "demo-db" \(spec.database.secretRef.name\) does not exist in namespace/,
    );
  });

  test('an unreachable database is retried (TransientError) and the condition says so', async () => {
    const { project } = await setup({ port: String(await freePort()) });
    await assert.rejects(
      handleInitDb(chainEventFor(CHAIN_EVENT.dependenciesValidated, project), deps(), silent),
      TransientError,
    );
    const c = condition(await readProject(project), 'DatabaseInitialized');
    assert.equal(c?.status, 'False');
    assert.equal(c.reason, 'DatabaseUnavailable');
    assert.match(c.message, /retrying$/);
  });

  test('a user without the rights fails with the statement and the missing right', async () => {
    const user = `weak_${uniqueSuffix()}`;
    const admin = new pg.Client({ ...postgresConnection() });
    await admin.connect();
    const { database } = await freshDatabase('initdb');
    await admin.query(`CREATE ROLE ${user} LOGIN PASSWORD 'weak-${user}'`);
    await admin.query(`ALTER DATABASE ${database} OWNER TO ${user}`);
    await admin.end();
    const namespace = await freshNamespace('initdb');
    const pgEnv = postgresConnection();
    await createSecret(namespace, 'demo-db', {
      host: pgEnv.host,
      port: String(pgEnv.port),
      database,
      username: user,
      password: `weak-${user}`,
    });
    const project = await createProject(namespace);
    const result = await handleInitDb(
      chainEventFor(CHAIN_EVENT.dependenciesValidated, project),
      deps(),
      silent,
    );
    assert.ok(isAcknowledgement(result));
    const c = condition(await readProject(project), 'DatabaseInitialized');
    assert.equal(c?.reason, 'InsufficientPrivilege');
    assert.match(
      c.message,
      new RegExp(
        `migration \\d{4}_\\w+\\.sql failed.*\\((CREATE|GRANT|ALTER) .+\\).*The database user "${user}" lacks this right`,
      ),
    );
  });

  test('an event for an older generation or another uid is dropped without any write', async () => {
    const { project } = await setup();
    const counting = countingWrites(stores().projects);
    let initialised = 0;
    const watching = deps({
      projects: counting.store,
      initialise: () => {
        initialised++;
        return Promise.reject(new Error('must not run'));
      },
    });
    for (const overrides of [{ uid: 'another-uid' }, { uid: 'another-uid', generation: 5 }]) {
      const result = await handleInitDb(
        chainEventFor(CHAIN_EVENT.dependenciesValidated, project, overrides),
        watching,
        silent,
      );
      assert.ok(isAcknowledgement(result));
      assert.equal(result.outcome, 'dropped_stale');
    }
    // Bump the generation: an event for generation 1 is now superseded.
    await kube().customObjects.patchNamespacedCustomObject(
      {
        group: 'supabase.reconciler.dev',
        version: 'v1alpha1',
        plural: 'supabaseprojects',
        namespace: project.metadata.namespace,
        name: 'demo',
        body: { spec: { projectId: 'changed' } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const superseded = await handleInitDb(
      chainEventFor(CHAIN_EVENT.dependenciesValidated, project),
      watching,
      silent,
    );
    assert.ok(isAcknowledgement(superseded) && superseded.outcome === 'dropped_stale');
    assert.equal(counting.writes(), 0);
    assert.equal(initialised, 0);
  });

  test('over HTTP: a binary chain event gets a binary reply; a malformed one gets 400; no log line, span, Event or status holds the password', async () => {
    const { project } = await setup();
    const receiver = await startOtlpReceiver();
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint };
    // The OTLP exporters read their endpoint from the process environment, as in a pod.
    Object.assign(process.env, env);
    const d = deps();
    const harness = createHarness((event, context) => handleInitDb(event, d, context), {
      name: INIT_DB,
      env,
    });
    try {
      const message = HTTP.binary(chainEventFor(CHAIN_EVENT.dependenciesValidated, project));
      const ok = await request(harness.app)
        .post('/')
        .set(message.headers as Record<string, string>)
        .send(message.body as string);
      assert.equal(ok.status, 200);
      assert.equal(ok.headers['ce-type'], CHAIN_EVENT.databaseInitialized);
      assert.match(String(ok.headers['ce-traceparent']), /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);

      const headers = { ...(message.headers as Record<string, string>) };
      delete headers['ce-projectuid'];
      const bad = await request(harness.app)
        .post('/')
        .set(headers)
        .send(message.body as string);
      assert.equal(bad.status, 400);
      assert.match(bad.text, /projectuid/);

      await harness.telemetry.flush();
      const spans = await receiver.waitForSpans((received) =>
        received.some((s) => s.name === `process ${CHAIN_EVENT.dependenciesValidated}`),
      );
      const password = postgresConnection().password;
      assert.ok(!JSON.stringify(harness.logs).includes(password), 'no log line holds the password');
      assert.ok(!JSON.stringify(spans).includes(password), 'no span holds the password');
      const live = await readProject(project);
      assert.ok(!JSON.stringify(live.status).includes(password), 'the status holds no password');
      const events = await kube().core.listNamespacedEvent({
        namespace: project.metadata.namespace,
      });
      assert.ok(
        !JSON.stringify(events).includes(password),
        'no Kubernetes Event holds the password',
      );
    } finally {
      await harness.telemetry.shutdown();
      await receiver.close();
    }
  });
});
