/**
 * What init-db prepares must satisfy Supabase's own services on any server, as users meet
 * it: a superuser not named `postgres` (the shared test server's is `sbr_superuser`), a
 * non-superuser owner on a fresh PostgreSQL 16+ server with no help from a superuser, and
 * several projects on one server, whose login roles (server-wide) can carry one password only.
 * The statements run as the services' roles are the ones GoTrue's, Storage's and PostgREST's
 * own migrations and requests make.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import pg from 'pg';
import { handleInitDb, initialisedMessage, INIT_DB } from '../../functions/init-db/handler.ts';
import { initialiseDatabase, type InitialisationResult } from '../../shared/db/initialise.ts';
import { readClaim, SERVICE_LOGIN_ROLES } from '../../shared/db/role-passwords.ts';
import type { DatabaseTarget } from '../../shared/db/target.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { kubeSecretStore } from '../../shared/k8s/secrets.ts';
import { kubeProjectStore, type LiveProject } from '../../shared/reconcile/project-store.ts';
import { PermanentError } from '../../shared/runtime/errors.ts';
import { Sensitive } from '../../shared/secrets/sensitive.ts';
import { createLogger } from '../../shared/telemetry/logger.ts';
import type { PostgresEnvironment } from '../env/postgres.ts';
import {
  freshDatabase,
  freshNamespace,
  kube,
  kubeConnection,
  postgresConnection,
  privatePostgres,
  uniqueSuffix,
} from '../env/index.ts';
import {
  chainEventFor,
  createProject,
  createSecret,
  installProjectCrd,
} from '../fixtures/project.ts';
import { testEgress } from '../fixtures/egress.ts';

const silent = { logger: createLogger({ name: INIT_DB, level: 'silent' }) };

interface Server {
  readonly host: string;
  readonly port: number;
}

/** Runs `work` with a client connected as `user`, and closes it. */
async function as<T>(
  server: Server,
  user: string,
  password: string,
  database: string,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ host: server.host, port: server.port, user, password, database });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Whether `role` can log in with `password` (the way the services connect). */
async function canLogIn(server: Server, role: string, password: string): Promise<boolean> {
  try {
    await as(server, role, password, 'postgres', () => Promise.resolve());
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === '28P01') return false;
    throw error;
  }
}

describe('on a server whose superuser is not named postgres', () => {
  const pgEnv = () => postgresConnection();
  let database: string;
  let result: InitialisationResult;

  before(async () => {
    assert.notEqual(pgEnv().user, 'postgres', 'the premise: the superuser has another name');
    database = (await freshDatabase('compat')).database;
    const target: DatabaseTarget = {
      host: pgEnv().host,
      port: pgEnv().port,
      database,
      user: pgEnv().user,
      password: new Sensitive(pgEnv().password),
      sslMode: 'disable',
    };
    result = await initialiseDatabase(
      target,
      { namespace: 'compat', name: 'demo' },
      { egress: testEgress },
    );
  });

  const superuser = <T>(work: (client: pg.Client) => Promise<T>) =>
    as(pgEnv(), pgEnv().user, pgEnv().password, database, work);

  test('a role named postgres exists (NOLOGIN), so GoTrue and Storage can grant to it', async () => {
    await superuser(async (client) => {
      const { rows } = await client.query<{ rolcanlogin: boolean; rolsuper: boolean }>(
        "SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = 'postgres'",
      );
      assert.deepEqual(rows, [{ rolcanlogin: false, rolsuper: false }]);
      // As GoTrue's migration 20240612123726_enable_rls_update_grants does, as its own role.
      await client.query('SET ROLE supabase_auth_admin');
      await client.query('CREATE TABLE auth.sample (id int)');
      await client.query('GRANT ALL ON TABLE auth.sample TO postgres');
      await client.query('RESET ROLE');
      const granted = await client.query<{ ok: boolean }>(
        "SELECT has_table_privilege('postgres', 'auth.sample', 'SELECT') AS ok",
      );
      assert.equal(granted.rows[0]?.ok, true);
    });
  });

  test('auth.uid() is callable from a SQL function as authenticated', async () => {
    const sub = '6f1c1e5e-8d0b-4f7a-9c61-2f4b9d3c5a10';
    await superuser(async (client) => {
      // GoTrue creates auth.uid() in its own migrations, as supabase_auth_admin.
      await client.query('SET ROLE supabase_auth_admin');
      await client.query(`CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS
        $$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$`);
      await client.query('RESET ROLE');
      // A project's own function, as users write them for policies.
      await client.query(
        'CREATE FUNCTION public.my_id() RETURNS uuid LANGUAGE sql STABLE AS $$ SELECT auth.uid() $$',
      );
      await client.query('BEGIN');
      await client.query('SET LOCAL ROLE authenticated');
      await client.query(`SELECT set_config('request.jwt.claim.sub', $1, true)`, [sub]);
      const { rows } = await client.query<{ id: string }>('SELECT public.my_id() AS id');
      await client.query('COMMIT');
      assert.equal(rows[0]?.id, sub);
    });
  });

  test("Storage's tables, functions and sequences are granted to the API roles by default", async () => {
    await superuser(async (client) => {
      // As Storage's migrations create them, without DB_INSTALL_ROLES.
      await client.query('SET ROLE supabase_storage_admin');
      await client.query('CREATE TABLE storage.sample (id bigserial PRIMARY KEY)');
      await client.query(
        'CREATE FUNCTION storage.sample_fn() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$',
      );
      await client.query('RESET ROLE');
      for (const role of ['anon', 'authenticated', 'service_role', 'postgres']) {
        const { rows } = await client.query<{ t: boolean; s: boolean; f: boolean }>(
          `SELECT has_table_privilege($1, 'storage.sample', 'SELECT,INSERT,UPDATE,DELETE') AS t,
                  has_sequence_privilege($1, 'storage.sample_id_seq', 'USAGE') AS s,
                  has_function_privilege($1, 'storage.sample_fn()', 'EXECUTE') AS f`,
          [role],
        );
        assert.deepEqual(rows[0], { t: true, s: true, f: true }, role);
      }
    });
  });

  test("Realtime's publication, the roles Supabase's tooling expects, and API statement timeouts", async () => {
    await superuser(async (client) => {
      const publication = await client.query(
        "SELECT 1 FROM pg_publication WHERE pubname = 'supabase_realtime'",
      );
      assert.equal(publication.rowCount, 1);
      const roles = await client.query<{ rolname: string; rolcanlogin: boolean }>(
        `SELECT rolname, rolcanlogin FROM pg_roles
         WHERE rolname IN ('supabase_admin', 'supabase_replication_admin', 'dashboard_user')
         ORDER BY rolname`,
      );
      assert.deepEqual(roles.rows, [
        { rolname: 'dashboard_user', rolcanlogin: false },
        { rolname: 'supabase_admin', rolcanlogin: false },
        { rolname: 'supabase_replication_admin', rolcanlogin: false },
      ]);
      const timeouts = await client.query<{ role: string; setconfig: string[] }>(
        `SELECT setrole::regrole::text AS role, setconfig FROM pg_db_role_setting
         WHERE setdatabase = 0 AND setrole IN ('anon'::regrole, 'authenticated'::regrole)
         ORDER BY 1`,
      );
      assert.deepEqual(
        timeouts.rows.map((r) => [r.role, r.setconfig.filter((c) => c.startsWith('statement_'))]),
        [
          ['anon', ['statement_timeout=3s']],
          ['authenticated', ['statement_timeout=8s']],
        ],
      );
    });
  });

  test("without pg_graphql, /graphql/v1 answers Supabase's error and the condition says why", async () => {
    await superuser(async (client) => {
      const offered = await client.query(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_graphql'",
      );
      assert.equal(offered.rowCount, 0, 'the premise: this server does not offer pg_graphql');
      await client.query('BEGIN');
      await client.query('SET LOCAL ROLE anon');
      const { rows } = await client.query<{ answer: { errors: { message: string }[] } }>(
        `SELECT graphql_public.graphql(query := '{ __typename }') AS answer`,
      );
      await client.query('COMMIT');
      assert.deepEqual(rows[0]?.answer, {
        errors: [{ message: 'pg_graphql extension is not enabled.' }],
      });
    });
    assert.equal(result.graphql, false);
    assert.match(initialisedMessage(result), /pg_graphql is not installed/);
    assert.doesNotMatch(initialisedMessage({ ...result, graphql: true }), /pg_graphql/);
  });
});

describe('a non-superuser owner on a fresh PostgreSQL 16+ server, with no help from a superuser', () => {
  let server: PostgresEnvironment;
  before(async () => {
    server = await privatePostgres();
  });
  after(() => server.stop());

  test('initialises the database: roles, schemas owned by the services, login roles', async () => {
    const owner = 'project_owner';
    const password = `owner-${uniqueSuffix()}`;
    await as(server, server.user, server.password, 'postgres', async (client) => {
      const version = await client.query<{ v: string }>(
        "SELECT current_setting('server_version_num') AS v",
      );
      assert.ok(Number(version.rows[0]?.v) >= 160000, 'the premise: PostgreSQL 16 or newer');
      // All a platform team gives: a role that may create roles and bypass RLS, and a database.
      await client.query(`CREATE ROLE ${owner} LOGIN CREATEROLE BYPASSRLS PASSWORD '${password}'`);
      await client.query(`CREATE DATABASE owned OWNER ${owner}`);
    });
    const target: DatabaseTarget = {
      host: server.host,
      port: server.port,
      database: 'owned',
      user: owner,
      password: new Sensitive(password),
      sslMode: 'disable',
    };
    const result = await initialiseDatabase(
      target,
      { namespace: 'solo', name: 'demo' },
      { egress: testEgress },
    );
    assert.ok(result.applied.includes('0002a_set_membership.sql'));
    assert.ok(result.applied.includes('0003_schemas.sql'));
    assert.deepEqual([...result.passwordsChanged].sort(), [...SERVICE_LOGIN_ROLES]);
    for (const role of SERVICE_LOGIN_ROLES) assert.ok(await canLogIn(server, role, password), role);

    await as(server, owner, password, 'owned', async (client) => {
      const owners = await client.query<{ nspname: string; owner: string }>(
        `SELECT nspname, nspowner::regrole::text AS owner FROM pg_namespace
         WHERE nspname IN ('auth', 'storage') ORDER BY 1`,
      );
      assert.deepEqual(owners.rows, [
        { nspname: 'auth', owner: 'supabase_auth_admin' },
        { nspname: 'storage', owner: 'supabase_storage_admin' },
      ]);
      const superusers = await client.query(
        `SELECT rolname FROM pg_roles WHERE rolsuper AND rolname <> $1`,
        [server.user],
      );
      assert.equal(superusers.rowCount, 0, 'init-db created no superuser');
    });

    // A second run changes nothing.
    const again = await initialiseDatabase(
      target,
      { namespace: 'solo', name: 'demo' },
      { egress: testEgress },
    );
    assert.deepEqual(again.applied, []);
    assert.deepEqual(again.passwordsChanged, []);
  });
});

describe('several projects on one server share its login roles', () => {
  let server: PostgresEnvironment;
  before(async () => {
    await installProjectCrd();
    server = await privatePostgres();
  });
  after(() => server.stop());

  /** A database user of its own (a superuser here) with a database, for one project. */
  async function databaseUser(name: string, password: string): Promise<void> {
    await as(server, server.user, server.password, 'postgres', async (client) => {
      await client.query(`CREATE ROLE ${name} LOGIN SUPERUSER PASSWORD '${password}'`);
      await client.query(`CREATE DATABASE ${name}_db OWNER ${name}`);
    });
  }

  interface Project {
    readonly namespace: string;
    readonly project: LiveProject;
    readonly results: InitialisationResult[];
    run(): Promise<LiveProject>;
  }

  /** A SupabaseProject whose database Secret names `user`'s database on the private server. */
  async function projectOf(user: string, password: string): Promise<Project> {
    const namespace = await freshNamespace('shared-roles');
    await createSecret(namespace, 'demo-db', {
      host: server.host,
      port: String(server.port),
      database: `${user}_db`,
      username: user,
      password,
    });
    const project = await createProject(namespace);
    const options = { kubeconfigPath: kubeConnection().kubeconfigPath };
    const stores = { projects: kubeProjectStore(options), secrets: kubeSecretStore(options) };
    const results: InitialisationResult[] = [];
    return {
      namespace,
      project,
      results,
      async run() {
        const live = await stores.projects.get({ namespace, name: 'demo' });
        assert.ok(live);
        await handleInitDb(
          chainEventFor(CHAIN_EVENT.dependenciesValidated, live),
          {
            ...stores,
            initialise: async (target, key) => {
              const result = await initialiseDatabase(target, key, { egress: testEgress });
              results.push(result);
              return result;
            },
          },
          silent,
        );
        const after = await stores.projects.get({ namespace, name: 'demo' });
        assert.ok(after);
        return after;
      },
    };
  }

  const condition = (project: LiveProject) =>
    project.status?.conditions?.find((c) => c.type === 'DatabaseInitialized');
  const changed = (p: Project) => [...(p.results.at(-1)?.passwordsChanged ?? [])].sort();

  test('one password: both work; another: refused with the other project named; hand changes repaired', async () => {
    const shared = `shared-${uniqueSuffix()}`;
    const other = `other-${uniqueSuffix()}`;
    await databaseUser('alpha', shared);
    await databaseUser('beta', shared);
    await databaseUser('gamma', other);
    const alpha = await projectOf('alpha', shared);
    const beta = await projectOf('beta', shared);
    const gamma = await projectOf('gamma', other);

    // The first project sets the roles' password and the server records it as theirs.
    assert.equal(condition(await alpha.run())?.status, 'True');
    assert.deepEqual(changed(alpha), [...SERVICE_LOGIN_ROLES]);
    const claim = await as(server, server.user, server.password, 'postgres', (c) => readClaim(c));
    assert.deepEqual(claim, { project: `${alpha.namespace}/demo`, database: 'alpha_db' });

    // A second project with the same password: nothing to change, both work.
    assert.equal(condition(await beta.run())?.status, 'True');
    assert.deepEqual(changed(beta), []);

    // A third with another password: a permanent condition naming the first, no overwrite.
    const refused = await gamma.run();
    assert.equal(refused.status?.phase, 'Failed');
    const c = condition(refused);
    assert.ok(c);
    assert.equal(c.status, 'False');
    assert.equal(c.reason, 'LoginRolesClaimed');
    assert.match(c.message, new RegExp(`project ${alpha.namespace}/demo \\(database alpha_db\\)`));
    assert.match(c.message, /same password/);
    assert.match(c.message, /COMMENT ON ROLE authenticator IS NULL/);
    for (const secret of [shared, other]) assert.ok(!JSON.stringify(refused).includes(secret));
    for (const role of SERVICE_LOGIN_ROLES) {
      assert.ok(await canLogIn(server, role, shared), `${role} still has the first password`);
    }

    // The first project runs again: no flip-flop.
    assert.equal(condition(await alpha.run())?.status, 'True');
    assert.deepEqual(changed(alpha), []);

    // A password changed by hand is repaired by the next run of the project that owns it.
    await as(server, server.user, server.password, 'postgres', (client) =>
      client.query(`ALTER ROLE supabase_auth_admin PASSWORD 'changed-by-hand'`),
    );
    assert.equal(await canLogIn(server, 'supabase_auth_admin', shared), false);
    await alpha.run();
    assert.deepEqual(changed(alpha), ['supabase_auth_admin']);
    assert.ok(await canLogIn(server, 'supabase_auth_admin', shared));

    // Rotating the owner's password moves the roles with it; the project that kept the old
    // one is then told, never silently broken.
    const rotated = `rotated-${uniqueSuffix()}`;
    await as(server, server.user, server.password, 'postgres', (client) =>
      client.query(`ALTER ROLE alpha PASSWORD '${rotated}'`),
    );
    await kube().core.patchNamespacedSecret(
      { namespace: alpha.namespace, name: 'demo-db', body: { stringData: { password: rotated } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await alpha.run();
    assert.deepEqual(changed(alpha), [...SERVICE_LOGIN_ROLES]);
    assert.ok(await canLogIn(server, 'authenticator', rotated));
    assert.equal(await canLogIn(server, 'authenticator', shared), false);
    assert.equal(condition(await beta.run())?.reason, 'LoginRolesClaimed');

    // Releasing the roles, as the message says, lets another project take them over.
    await as(server, server.user, server.password, 'postgres', (client) =>
      client.query('COMMENT ON ROLE authenticator IS NULL'),
    );
    const takenOver = await gamma.run();
    assert.equal(condition(takenOver)?.status, 'True');
    assert.deepEqual(changed(gamma), [...SERVICE_LOGIN_ROLES]);
    assert.ok(await canLogIn(server, 'authenticator', other));
  });

  test('two projects with different passwords initialising at once: one wins, the other is told', async () => {
    const first = `first-${uniqueSuffix()}`;
    const second = `second-${uniqueSuffix()}`;
    await as(server, server.user, server.password, 'postgres', (client) =>
      client.query('COMMENT ON ROLE authenticator IS NULL'),
    );
    await databaseUser('delta', first);
    await databaseUser('epsilon', second);
    const target = (user: string, password: string): DatabaseTarget => ({
      host: server.host,
      port: server.port,
      database: `${user}_db`,
      user,
      password: new Sensitive(password),
      sslMode: 'disable',
    });
    const outcomes = await Promise.allSettled([
      initialiseDatabase(
        target('delta', first),
        { namespace: 'race', name: 'delta' },
        { egress: testEgress },
      ),
      initialiseDatabase(
        target('epsilon', second),
        { namespace: 'race', name: 'epsilon' },
        { egress: testEgress },
      ),
    ]);
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o) => o.status === 'rejected');
    assert.equal(won.length, 1, JSON.stringify(outcomes.map((o) => o.status)));
    assert.equal(lost.length, 1);
    const reason = lost[0]!.reason as unknown;
    const winner = outcomes[0].status === 'fulfilled' ? first : second;
    assert.ok(reason instanceof PermanentError, String(reason));
    assert.equal(reason.reason, 'LoginRolesClaimed');
    for (const role of SERVICE_LOGIN_ROLES) assert.ok(await canLogIn(server, role, winner), role);
  });
});
