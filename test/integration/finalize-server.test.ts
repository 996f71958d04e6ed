/**
 * finalize's Delete policy on a PostgreSQL server of this file's own, where the server-wide
 * roles init-db creates can really be dropped: a non-superuser database owner on a fresh
 * server gets back exactly the server it had before init-db (schemas, roles, extensions,
 * publications, types, functions); and with several projects on one server, deleting one
 * leaves the roles the others' databases use, and the other's claim on the login roles.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { initialiseDatabase } from '../../shared/db/initialise.ts';
import { LEDGER_TABLE } from '../../shared/db/ledger.ts';
import { readClaim, SERVICE_LOGIN_ROLES } from '../../shared/db/role-passwords.ts';
import type { DatabaseTarget } from '../../shared/db/target.ts';
import { Sensitive } from '../../shared/secrets/sensitive.ts';
import type { PostgresEnvironment } from '../env/postgres.ts';
import { freshNamespace, privatePostgres, uniqueSuffix } from '../env/index.ts';
import { testEgress } from '../fixtures/egress.ts';
import { createSecret, installProjectCrd } from '../fixtures/project.ts';
import {
  deleteProject,
  finalize,
  inventoryOf,
  liveProject,
  projectEvents,
  projectWithFinalizer,
  withClient,
} from './finalize-support.ts';

let server: PostgresEnvironment;

before(async () => {
  await installProjectCrd();
  server = await privatePostgres();
});
after(() => server.stop());

const admin = (database = 'postgres') => ({
  host: server.host,
  port: server.port,
  user: server.user,
  password: server.password,
  database,
});

/** A project in a fresh namespace whose database Secret names `database` as `user`. */
async function projectOn(user: string, password: string, database: string) {
  const namespace = await freshNamespace('finalize-srv');
  await createSecret(namespace, 'demo-db', {
    host: server.host,
    port: String(server.port),
    database,
    username: user,
    password,
  });
  await projectWithFinalizer(namespace, {
    spec: {
      database: { secretRef: { name: 'demo-db' }, sslMode: 'disable', deletionPolicy: 'Delete' },
    },
  });
  const target: DatabaseTarget = {
    host: server.host,
    port: server.port,
    database,
    user,
    password: new Sensitive(password),
    sslMode: 'disable',
  };
  return {
    namespace,
    key: { namespace, name: 'demo' },
    initialise: () =>
      initialiseDatabase(target, { namespace, name: 'demo' }, { egress: testEgress }),
    async delete() {
      const { update } = await deleteProject(namespace);
      assert.equal(await finalize(update), undefined);
      assert.equal(await liveProject(namespace), undefined, 'the project is gone');
      return projectEvents(namespace);
    },
  };
}

async function canLogIn(role: string, password: string, database: string): Promise<boolean> {
  try {
    await withClient({ ...admin(database), user: role, password }, () => Promise.resolve());
    return true;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === '28P01' || code === '28000') return false;
    throw error;
  }
}

describe('finalize with deletionPolicy Delete on a server of its own', () => {
  test('a non-superuser owner: after finalize the server is exactly as before init-db', async () => {
    const owner = 'project_owner';
    const password = `owner-${uniqueSuffix()}`;
    await withClient(admin(), async (client) => {
      await client.query(`CREATE ROLE ${owner} LOGIN CREATEROLE BYPASSRLS PASSWORD '${password}'`);
      await client.query(`CREATE DATABASE owned OWNER ${owner}`);
    });
    const before = await withClient(admin('owned'), inventoryOf);
    const project = await projectOn(owner, password, 'owned');
    await project.initialise();
    const initialised = await withClient(admin('owned'), inventoryOf);
    assert.ok(
      initialised.roles.includes('authenticator'),
      'the premise: init-db created the roles',
    );
    assert.ok(initialised.schemas.includes('auth'));

    const events = await project.delete();
    assert.deepEqual(await withClient(admin('owned'), inventoryOf), before);
    assert.deepEqual(
      events.map((e) => [e.type, e.reason]),
      [['Normal', 'DatabaseDeleted']],
    );
    assert.match(events[0]?.message ?? '', /role authenticator/);
  });

  test('several projects on one server: deleting one leaves the roles the others use, and their claim', async () => {
    const shared = `shared-${uniqueSuffix()}`;
    for (const user of ['alpha', 'beta', 'gamma']) {
      await withClient(admin(), async (client) => {
        await client.query(`CREATE ROLE ${user} LOGIN SUPERUSER PASSWORD '${shared}'`);
        await client.query(`CREATE DATABASE ${user}_db OWNER ${user}`);
      });
    }
    const alpha = await projectOn('alpha', shared, 'alpha_db');
    const beta = await projectOn('beta', shared, 'beta_db');
    const gamma = await projectOn('gamma', shared, 'gamma_db');
    const betaBefore = await withClient(admin('beta_db'), inventoryOf);
    await alpha.initialise(); // creates the roles and claims them
    await beta.initialise();
    await gamma.initialise();
    const claim = () => withClient(admin(), (client) => readClaim(client));
    assert.deepEqual(await claim(), { project: `${alpha.namespace}/demo`, database: 'alpha_db' });

    // beta found the roles: it drops its database's objects only; alpha's claim stays.
    const betaEvents = await beta.delete();
    assert.match(betaEvents[0]?.message ?? '', /dropped .*schema auth/);
    assert.doesNotMatch(betaEvents[0]?.message ?? '', /role /);
    const betaAfter = await withClient(admin('beta_db'), inventoryOf);
    // Roles belong to the server (alpha's): the database's own objects are as before init-db.
    assert.deepEqual({ ...betaAfter, roles: [] }, { ...betaBefore, roles: [] });
    assert.deepEqual(await claim(), { project: `${alpha.namespace}/demo`, database: 'alpha_db' });

    // alpha created the roles, but gamma's database uses them: kept, and said so; alpha's
    // claim is released so that gamma may take the roles over.
    const alphaEvents = await alpha.delete();
    assert.deepEqual(
      alphaEvents.map((e) => [e.type, e.reason]),
      [['Warning', 'DatabaseDeleted']],
    );
    assert.match(alphaEvents[0]?.message ?? '', /claim on the login roles released/);
    assert.match(
      alphaEvents[0]?.message ?? '',
      /kept: roles anon, authenticated, service_role, authenticator, supabase_auth_admin, supabase_storage_admin, postgres, supabase_admin, supabase_replication_admin, dashboard_user: other databases of the server still use init-db's roles \(.*database gamma_db uses [^)]*authenticator/,
    );
    assert.equal(await claim(), undefined);
    for (const role of SERVICE_LOGIN_ROLES) {
      assert.ok(await canLogIn(role, shared, 'gamma_db'), `${role} still serves gamma`);
    }
    await withClient(admin('gamma_db'), async (client) => {
      const { rows } = await client.query(
        `SELECT to_regclass('${LEDGER_TABLE}') AS ledger, to_regnamespace('auth') AS auth`,
      );
      assert.deepEqual(rows, [{ ledger: LEDGER_TABLE, auth: 'auth' }]);
    });
    // gamma's next run takes the released roles over.
    await gamma.initialise();
    assert.deepEqual(await claim(), { project: `${gamma.namespace}/demo`, database: 'gamma_db' });
  });
});
