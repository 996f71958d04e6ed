/**
 * finalize on the real API server (with its garbage collector) and the shared PostgreSQL:
 * a project deleted as `kubectl delete` does, the adapter's update and delete events delivered
 * to the real handler; deletion under Retain and under Delete (the database back to what it
 * was before init-db, the user's tables kept, a user's view on auth.users stopping Delete), a
 * Secret already gone, an unreachable database (Retain lets go, Delete retries until the force
 * annotation), a project that never got past validation, and the owned objects collected.
 *
 * The server's roles are shared with every other test file, so this file first initialises a
 * database of its own that keeps them in use: its projects' inventories record the roles as
 * pre-existing and Delete never drops them here (finalize-server.test.ts covers roles on a
 * private server).
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { V1OwnerReference } from '@kubernetes/client-node';
import { initialiseDatabase } from '../../shared/db/initialise.ts';
import { INVENTORY_TABLE, LEDGER_TABLE } from '../../shared/db/ledger.ts';
import type { DatabaseTarget } from '../../shared/db/target.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { PROJECT_RESOURCE, type LiveProject } from '../../shared/reconcile/project-store.ts';
import { TransientError } from '../../shared/runtime/errors.ts';
import { isAcknowledgement } from '../../shared/runtime/handler.ts';
import { Sensitive } from '../../shared/secrets/sensitive.ts';
import { freePort } from '../env/ports.ts';
import {
  freshDatabase,
  freshNamespace,
  kube,
  postgresConnection,
  waitForDeletion,
} from '../env/index.ts';
import { testEgress } from '../fixtures/egress.ts';
import {
  apiServerEvent,
  chainEventFor,
  createProject,
  createSecret,
  testDatabaseSecret,
  installProjectCrd,
  patchProject,
} from '../fixtures/project.ts';
import {
  deleteEventOf,
  deleteProject,
  finalize,
  finalizeDeps,
  inventoryOf,
  liveProject,
  projectEvents,
  projectWithFinalizer,
  withClient,
  type DatabaseInventory,
} from './finalize-support.ts';

interface Setup {
  readonly namespace: string;
  readonly database: string;
  readonly project: LiveProject;
  /** The database's inventory before init-db ran. */
  readonly before: DatabaseInventory;
}

const superuser = (database: string) => ({ ...postgresConnection(), database });

function databaseTarget(database: string): DatabaseTarget {
  const pgEnv = postgresConnection();
  return {
    host: pgEnv.host,
    port: pgEnv.port,
    database,
    user: pgEnv.user,
    password: new Sensitive(pgEnv.password),
    sslMode: 'disable',
  };
}

/** The database-local part of an inventory (roles belong to the whole shared server). */
function local(inventory: DatabaseInventory): DatabaseInventory {
  return { ...inventory, roles: [] };
}

/** A namespace, a fresh database initialised by the real init-db, a project with the finalizer. */
async function setup(spec: Record<string, unknown> = {}): Promise<Setup> {
  const namespace = await freshNamespace('finalize');
  const { database } = await freshDatabase('finalize');
  await createSecret(namespace, 'demo-db', testDatabaseSecret(database));
  const project = await projectWithFinalizer(namespace, { spec });
  const before = await withClient(superuser(database), inventoryOf);
  await initialiseDatabase(
    databaseTarget(database),
    { namespace, name: 'demo' },
    { egress: testEgress },
  );
  return { namespace, database, project, before };
}

function deletionPolicy(policy: 'Retain' | 'Delete') {
  return {
    database: { secretRef: { name: 'demo-db' }, sslMode: 'disable', deletionPolicy: policy },
  };
}

/** Objects owned by the project, as the secrets and deploy-components phases create them. */
async function ownedObjects(project: LiveProject) {
  const namespace = project.metadata.namespace;
  const owner: V1OwnerReference = {
    apiVersion: project.apiVersion,
    kind: project.kind,
    name: project.metadata.name,
    uid: project.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
  const metadata = (name: string) => ({ name, ownerReferences: [owner] });
  await kube().core.createNamespacedSecret({
    namespace,
    body: { metadata: metadata('demo-jwt'), stringData: { secret: 'x'.repeat(48) } },
  });
  await kube().core.createNamespacedConfigMap({
    namespace,
    body: { metadata: metadata('demo-kong'), data: { 'kong.yml': '_format_version: "3.0"' } },
  });
  const labels = { app: 'demo-rest' };
  await kube().apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: metadata('demo-rest'),
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: 'rest', image: 'postgrest/postgrest:v12.2.3' }] },
        },
      },
    },
  });
  return {
    async collected() {
      await waitForDeletion('the Secret demo-jwt', () =>
        kube().core.readNamespacedSecret({ namespace, name: 'demo-jwt' }),
      );
      await waitForDeletion('the ConfigMap demo-kong', () =>
        kube().core.readNamespacedConfigMap({ namespace, name: 'demo-kong' }),
      );
      await waitForDeletion('the Deployment demo-rest', () =>
        kube().apps.readNamespacedDeployment({ namespace, name: 'demo-rest' }),
      );
    },
  };
}

async function waitGone(namespace: string): Promise<void> {
  await waitForDeletion(`the project ${namespace}/demo`, async () => {
    if (!(await liveProject(namespace))) throw Object.assign(new Error('gone'), { code: 404 });
  });
}

describe('finalize', () => {
  before(async () => {
    await installProjectCrd();
    // Keeps the server's roles in use by a database of this file (see the header).
    const { database } = await freshDatabase('finalize_anchor');
    await initialiseDatabase(
      databaseTarget(database),
      { namespace: 'finalize-anchor', name: 'anchor' },
      { egress: testEgress },
    );
  });

  test('Retain: the database keeps everything, the finalizer comes off, owned objects are collected', async () => {
    const { namespace, database, project } = await setup(deletionPolicy('Retain'));
    const initialised = await withClient(superuser(database), inventoryOf);
    const owned = await ownedObjects(project);

    const { live, update } = await deleteProject(namespace);
    assert.equal(await finalize(update), undefined);
    await waitGone(namespace);
    await owned.collected();

    assert.deepEqual(await withClient(superuser(database), inventoryOf), initialised);
    await withClient(superuser(database), async (client) => {
      const ledger = await client.query(`SELECT 1 FROM ${LEDGER_TABLE}`);
      assert.ok((ledger.rowCount ?? 0) > 0, 'the ledger is kept');
    });
    const events = await projectEvents(namespace);
    assert.deepEqual(
      events.map((e) => [e.type, e.reason]),
      [['Normal', 'DatabaseRetained']],
    );
    assert.match(events[0]?.message ?? '', new RegExp(`database "${database}" kept as it is`));

    // The adapter's final delete event (it still lists the finalizer just removed): nothing to do.
    const again = await finalize(deleteEventOf(live));
    assert.ok(isAcknowledgement(again));
    assert.match(again.reason, /is gone/);
  });

  test('Delete: exactly what existed before init-db remains, the user tables stay, owned objects are collected', async () => {
    const { namespace, database, project, before } = await setup(deletionPolicy('Delete'));
    await withClient(superuser(database), async (client) => {
      await client.query('CREATE TABLE public.todos (id serial PRIMARY KEY, title text)');
      await client.query("INSERT INTO public.todos (title) VALUES ('keep me')");
      // GoTrue's own table, as GoTrue creates it in its schema.
      await client.query('SET ROLE supabase_auth_admin');
      await client.query('CREATE TABLE auth.users (id uuid PRIMARY KEY)');
      await client.query('RESET ROLE');
    });
    const owned = await ownedObjects(project);

    const { update } = await deleteProject(namespace);
    assert.equal(await finalize(update), undefined);
    await waitGone(namespace);
    await owned.collected();

    const after = await withClient(superuser(database), inventoryOf);
    assert.deepEqual(
      local(after),
      // The user's table (and its sequence's and row types) is the only difference.
      {
        ...local(before),
        types: [...before.types, 'todos', 'todos[]'].sort(),
      },
    );
    await withClient(superuser(database), async (client) => {
      const { rows } = await client.query<{ title: string }>('SELECT title FROM public.todos');
      assert.deepEqual(rows, [{ title: 'keep me' }]);
      const roles = await client.query(
        `SELECT rolname FROM pg_roles WHERE rolname IN ('anon', 'authenticator', 'supabase_auth_admin')`,
      );
      assert.equal(roles.rowCount, 3, 'roles that existed before init-db are not dropped');
    });
    const events = await projectEvents(namespace);
    assert.deepEqual(
      events.map((e) => [e.type, e.reason]),
      [['Normal', 'DatabaseDeleted']],
    );
    assert.match(events[0]?.message ?? '', /dropped .*schema auth/);
    assert.match(events[0]?.message ?? '', /schema supabase_reconciler/);
  });

  test('Delete stops when objects of the user depend on what it would drop, and says which; it goes on once they are gone', async () => {
    const { namespace, database } = await setup(deletionPolicy('Delete'));
    await withClient(superuser(database), async (client) => {
      await client.query('SET ROLE supabase_auth_admin');
      await client.query('CREATE TABLE auth.users (id uuid PRIMARY KEY, email text)');
      await client.query(
        `CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$`,
      );
      await client.query('RESET ROLE');
      await client.query('CREATE VIEW public.members AS SELECT id, email FROM auth.users');
      await client.query(
        'CREATE TABLE public.profiles (id uuid PRIMARY KEY REFERENCES auth.users (id), name text)',
      );
      // As Supabase projects write them: a generated key and a row-level policy.
      await client.query(
        'CREATE TABLE public.notes (id uuid PRIMARY KEY DEFAULT extensions.uuid_generate_v4(), owner uuid)',
      );
      await client.query('ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY');
      await client.query('CREATE POLICY own_notes ON public.notes USING (owner = auth.uid())');
    });

    const { update } = await deleteProject(namespace);
    const stopped = await finalize(update);
    assert.ok(isAcknowledgement(stopped));
    assert.equal(stopped.outcome, 'failed_permanent');
    const held = await liveProject(namespace);
    assert.ok(held, 'the finalizer stays');
    assert.equal(held.status?.phase, 'Terminating');
    const progressing = held.status.conditions?.find((c) => c.type === 'Progressing');
    assert.ok(progressing);
    assert.equal(progressing.status, 'False');
    assert.equal(progressing.reason, 'DependentObjects');
    assert.match(progressing.message, /view public\.members \(on [^)]*auth\.users\.email/);
    assert.match(
      progressing.message,
      /constraint profiles_id_fkey on public\.profiles \(on [^)]*auth\.users\.id/,
    );
    assert.match(
      progressing.message,
      /default value for public\.notes\.id \(on function extensions\.uuid_generate_v4\(\)\)/,
    );
    assert.match(
      progressing.message,
      /policy own_notes on public\.notes \(on function auth\.uid\(\)/,
    );
    assert.match(progressing.message, /Nothing was dropped/);
    await withClient(superuser(database), async (client) => {
      const { rows } = await client.query(
        `SELECT to_regclass('${LEDGER_TABLE}') AS ledger, to_regclass('auth.users') AS users`,
      );
      assert.deepEqual(rows, [{ ledger: LEDGER_TABLE, users: 'auth.users' }]);
      // The user removes what depends on init-db's schemas.
      await client.query('DROP VIEW public.members');
      await client.query('ALTER TABLE public.profiles DROP CONSTRAINT profiles_id_fkey');
      await client.query('DROP POLICY own_notes ON public.notes');
      await client.query('ALTER TABLE public.notes ALTER COLUMN id DROP DEFAULT');
    });

    // Touching the project (any annotation) is an update event; finalize tries again.
    const touched = await patchProject(namespace, 'demo', {
      metadata: { annotations: { 'example.com/retry': '1' } },
    });
    assert.equal(await finalize(apiServerEvent(touched, 'update')), undefined);
    await waitGone(namespace);
    await withClient(superuser(database), async (client) => {
      const { rows } = await client.query(
        `SELECT to_regclass('${LEDGER_TABLE}') AS ledger, to_regnamespace('auth') AS auth, to_regclass('public.profiles') AS profiles`,
      );
      assert.deepEqual(rows, [{ ledger: null, auth: null, profiles: 'profiles' }]);
    });
  });

  test('Delete keeps what existed before init-db (a schema and an extension prepared by the image)', async () => {
    const namespace = await freshNamespace('finalize');
    const { database } = await freshDatabase('finalize');
    await withClient(superuser(database), async (client) => {
      // As Supabase's own image prepares a database: auth and pgcrypto exist already.
      await client.query('CREATE SCHEMA auth');
      await client.query('CREATE TABLE auth.audit (id int)');
      await client.query('CREATE EXTENSION pgcrypto');
    });
    const before = await withClient(superuser(database), inventoryOf);
    await createSecret(namespace, 'demo-db', testDatabaseSecret(database));
    await projectWithFinalizer(namespace, { spec: deletionPolicy('Delete') });
    await initialiseDatabase(
      databaseTarget(database),
      { namespace, name: 'demo' },
      { egress: testEgress },
    );
    await withClient(superuser(database), async (client) => {
      const { rows } = await client.query<{ kind: string; name: string }>(
        `SELECT kind, name FROM ${INVENTORY_TABLE} WHERE existed ORDER BY 1, 2`,
      );
      // The roles are the server's (this file's anchor database made them).
      assert.deepEqual(
        rows.filter((r) => r.kind !== 'role'),
        [
          { kind: 'extension', name: 'pgcrypto' },
          { kind: 'schema', name: 'auth' },
        ],
      );
    });

    // Two deliveries at once (the update of finalize's own status write races the first).
    const { update } = await deleteProject(namespace);
    const results = await Promise.all([finalize(update), finalize(update)]);
    for (const result of results) assert.ok(result === undefined || isAcknowledgement(result));
    await waitGone(namespace);
    // init-db's types in auth went; the schema, the user's table in it and pgcrypto stay.
    assert.deepEqual(local(await withClient(superuser(database), inventoryOf)), local(before));
  });

  test('Delete on a database initialised before the inventory existed: nothing dropped, and said so', async () => {
    const { namespace, database } = await setup(deletionPolicy('Delete'));
    await withClient(superuser(database), (client) =>
      client.query(`DROP TABLE ${INVENTORY_TABLE}`),
    );
    const initialised = await withClient(superuser(database), inventoryOf);
    const { update } = await deleteProject(namespace);
    assert.equal(await finalize(update), undefined);
    await waitGone(namespace);
    assert.deepEqual(local(await withClient(superuser(database), inventoryOf)), local(initialised));
    const events = await projectEvents(namespace);
    assert.deepEqual(
      events.map((e) => [e.type, e.reason]),
      [['Warning', 'DatabaseCleanupSkipped']],
    );
    assert.match(events[0]?.message ?? '', /cannot be told from yours and nothing was dropped/);
  });

  test('the database Secret already deleted: the project goes anyway, and a Warning says what was left', async () => {
    const { namespace, database } = await setup(deletionPolicy('Delete'));
    await kube().core.deleteNamespacedSecret({ namespace, name: 'demo-db' });
    const { update } = await deleteProject(namespace);
    assert.equal(await finalize(update), undefined);
    await waitGone(namespace);
    const events = await projectEvents(namespace);
    assert.deepEqual(
      events.map((e) => [e.type, e.reason]),
      [['Warning', 'DatabaseCleanupSkipped']],
    );
    assert.match(events[0]?.message ?? '', /database Secret "demo-db".*does not exist/);
    assert.match(events[0]?.message ?? '', /nothing was dropped/);
    await withClient(superuser(database), async (client) => {
      const { rows } = await client.query(`SELECT count(*)::int AS n FROM ${INVENTORY_TABLE}`);
      assert.ok((rows[0] as { n: number }).n > 0, 'the database is left as it was');
    });
  });

  describe('an unreachable database (a closed port)', () => {
    async function unreachable(policy: 'Retain' | 'Delete') {
      const namespace = await freshNamespace('finalize-down');
      await createSecret(namespace, 'demo-db', {
        host: '127.0.0.1',
        port: String(await freePort()),
        database: 'gone',
        username: 'nobody',
        password: 'secret-password-never-shown',
      });
      await projectWithFinalizer(namespace, { spec: deletionPolicy(policy) });
      return { namespace, ...(await deleteProject(namespace)) };
    }

    test('Retain: not an error; the finalizer comes off and a Warning says the claim was not released', async () => {
      const { namespace, update } = await unreachable('Retain');
      const started = Date.now();
      assert.equal(await finalize(update), undefined);
      await waitGone(namespace);
      assert.ok(Date.now() - started < 15_000);
      const events = await projectEvents(namespace);
      assert.deepEqual(
        events.map((e) => [e.type, e.reason]),
        [['Warning', 'DatabaseCleanupSkipped']],
      );
      assert.match(events[0]?.message ?? '', /COMMENT ON ROLE authenticator IS NULL/);
      assert.doesNotMatch(JSON.stringify(events), /secret-password-never-shown/);
    });

    test('Delete: retried with a condition that says what to do; the force annotation lets it go', async () => {
      const { namespace, update } = await unreachable('Delete');
      await assert.rejects(finalize(update), (error: unknown) => {
        assert.ok(error instanceof TransientError, String(error));
        return true;
      });
      const held = await liveProject(namespace);
      assert.ok(held);
      assert.equal(held.status?.phase, 'Terminating');
      const progressing = held.status.conditions?.find((c) => c.type === 'Progressing');
      assert.ok(progressing);
      assert.equal(progressing.status, 'False');
      assert.equal(progressing.reason, 'DatabaseUnavailable');
      assert.match(progressing.message, /retrying/);
      assert.match(progressing.message, /supabase\.reconciler\.dev\/force-delete/);

      // resync's reconcile request for the stuck project: the same answer, and no status
      // write (a write is an update event, which would run finalize once more per retry).
      await assert.rejects(
        finalize(chainEventFor(CHAIN_EVENT.reconcileRequested, held)),
        TransientError,
      );
      assert.equal(
        (await liveProject(namespace))?.metadata.resourceVersion,
        held.metadata.resourceVersion,
      );

      const forced = await patchProject(namespace, 'demo', {
        metadata: { annotations: { 'supabase.reconciler.dev/force-delete': 'true' } },
      });
      assert.equal(await finalize(apiServerEvent(forced, 'update')), undefined);
      await waitGone(namespace);
      const events = await projectEvents(namespace);
      assert.deepEqual(
        events.map((e) => [e.type, e.reason]),
        [['Warning', 'DatabaseCleanupSkipped']],
      );
      assert.match(events[0]?.message ?? '', /force-delete/);
      assert.match(events[0]?.message ?? '', /schemas extensions, auth, storage/);
    });
  });

  describe('a project that never got past validation', () => {
    test('without the finalizer: deleted at once; its delete event is acknowledged without an API call', async () => {
      const namespace = await freshNamespace('finalize-new');
      const project = await createProject(namespace);
      await kube().customObjects.deleteNamespacedCustomObject({
        ...PROJECT_RESOURCE,
        namespace,
        name: 'demo',
      });
      assert.equal(await liveProject(namespace), undefined);
      const untouchable = finalizeDeps({
        projects: {
          get: () => Promise.reject(new Error('no API call expected')),
          replaceStatus: () => Promise.reject(new Error('no API call expected')),
          patchMetadata: () => Promise.reject(new Error('no API call expected')),
        },
      });
      const result = await finalize(deleteEventOf(project), untouchable);
      assert.ok(isAcknowledgement(result));
      assert.match(result.reason, /without the reconciler's finalizer/);
      // An update that is no deletion (a status write) is acknowledged the same way.
      const update = await finalize(apiServerEvent(project, 'update'), untouchable);
      assert.ok(isAcknowledgement(update));
      assert.match(update.reason, /is not being deleted/);
    });

    test('with the finalizer but no status and no Secret: the finalizer comes off', async () => {
      const namespace = await freshNamespace('finalize-new');
      await projectWithFinalizer(namespace);
      const { live, update } = await deleteProject(namespace);
      assert.equal(live.status, undefined);
      assert.equal(await finalize(update), undefined);
      await waitGone(namespace);
    });
  });

  test('deletionPolicy defaults to Retain; anything but Retain or Delete is refused by the API server', async () => {
    const namespace = await freshNamespace('finalize-policy');
    const project = await createProject(namespace);
    assert.equal(project.spec.database.deletionPolicy, 'Retain');
    await assert.rejects(
      createProject(namespace, {
        name: 'bad',
        spec: { database: { secretRef: { name: 'bad-db' }, deletionPolicy: 'Destroy' } },
      }),
      (error: unknown) => {
        assert.equal((error as { code?: number }).code, 422);
        assert.match(
          String((error as { body?: unknown }).body),
          /spec\.database\.deletionPolicy: Invalid value: \\"Destroy\\": deletionPolicy must be one of: Retain, Delete/,
        );
        return true;
      },
    );
  });

  test('a reconcile request or update for a project that is not being deleted is acknowledged', async () => {
    const namespace = await freshNamespace('finalize-live');
    const project = await projectWithFinalizer(namespace);
    const result = await finalize(chainEventFor(CHAIN_EVENT.reconcileRequested, project));
    assert.ok(isAcknowledgement(result));
    assert.match(result.reason, /is not being deleted/);
    assert.ok(await liveProject(namespace), 'still there, finalizer on');
  });
});
