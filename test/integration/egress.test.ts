/**
 * The egress policy: a tenant cannot make the reconciler dial loopback, link-local (the cloud
 * metadata address), unspecified addresses or the cluster's own ranges, whatever name they
 * hide behind; the allow-list overrides; connections go to the address that was checked; an
 * answer that is not S3 never reaches a condition. Names resolve through a resolver the test
 * controls; the only addresses ever dialled are the test servers' on loopback.
 */
import assert from 'node:assert/strict';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { createServer, type RequestListener, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { handleInitDb } from '../../functions/init-db/handler.ts';
import { createValidateDepsHandler } from '../../functions/validate-deps/handler.ts';
import { ConfigError } from '../../shared/config/config-error.ts';
import { initDbSchema } from '../../shared/config/init-db.ts';
import { parseConfig } from '../../shared/config/runtime-config.ts';
import { validateDepsSchema } from '../../shared/config/validate-deps.ts';
import { probeDatabase } from '../../shared/db/connect.ts';
import { initialiseDatabase } from '../../shared/db/initialise.ts';
import type { DatabaseTarget } from '../../shared/db/target.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { createEgressPolicy, type EgressPolicy, type ResolveAll } from '../../shared/net/egress.ts';
import { PermanentError, type ReconcilerError } from '../../shared/runtime/errors.ts';
import { probeBucket } from '../../shared/s3/probe.ts';
import type { BucketTarget } from '../../shared/s3/target.ts';
import { Sensitive } from '../../shared/secrets/sensitive.ts';
import { freshBucket, freshNamespace, postgresConnection, s3Connection } from '../env/index.ts';
import { LOOPBACK_ALLOWED } from '../fixtures/egress.ts';
import { installProjectCrd } from '../fixtures/project.ts';
import {
  apiServerEvent,
  chainEventFor,
  readProject,
  testContext,
  testDeps,
  workingProject,
} from './validate-deps-support.ts';
import { REASON } from '../../shared/api/reasons.ts';

/** The production defaults: nothing allowed, no cluster ranges configured. */
const DEFAULTS = { allow: [], clusterCidrs: [] } as const;

/** A resolver the test controls, counting its lookups. */
function resolver(names: Record<string, string | readonly string[]>): ResolveAll & {
  calls: string[];
} {
  const calls: string[] = [];
  const resolve = (hostname: string) => {
    calls.push(hostname);
    const found = names[hostname];
    if (found === undefined)
      return Promise.reject(
        Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }),
      );
    return Promise.resolve(
      [found]
        .flat()
        .map((address) => ({ address, family: address.includes(':') ? 6 : 4 }) as const),
    );
  };
  return Object.assign(resolve, { calls });
}

const purpose = { what: 'the database host', source: 'the host key of the database Secret' };

function refused(pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof PermanentError, `expected PermanentError, got ${String(error)}`);
    assert.equal(error.reason, REASON.EgressRefused, error.message);
    assert.match(error.message, pattern);
    return true;
  };
}

describe('the policy', () => {
  const names = resolver({
    localhost: ['127.0.0.1', '::1'],
    'metadata.tenant.test': '169.254.169.254',
    'kube-dns.tenant.test': '10.96.0.10',
    'pod.tenant.test': 'fd00:10:244::5',
    'mapped.tenant.test': '::ffff:127.0.0.1',
    'mixed.tenant.test': ['203.0.113.10', '127.0.0.2'],
    'public.tenant.test': '203.0.113.10',
  });
  const policy = createEgressPolicy(
    { allow: [], clusterCidrs: ['10.96.0.0/12', 'fd00:10:244::/56'] },
    names,
  );

  const cases: [string, RegExp][] = [
    ['127.0.0.1', /^the database host is 127\.0\.0\.1, which is in 127\.0\.0\.0\/8 \(loopback\)/],
    ['::1', /is ::1, which is in ::1\/128 \(loopback\)/],
    ['localhost', /"localhost" resolved to 127\.0\.0\.1, which is in 127\.0\.0\.0\/8 \(loopback\)/],
    ['169.254.169.254', /169\.254\.169\.254\/32 \(the cloud metadata address/],
    ['metadata.tenant.test', /"metadata\.tenant\.test" resolved to 169\.254\.169\.254/],
    ['169.254.10.1', /169\.254\.0\.0\/16 \(link-local\)/],
    ['fe80::1', /fe80::\/10 \(link-local\)/],
    ['0.0.0.0', /0\.0\.0\.0\/8 \(unspecified/],
    ['::', /::\/128 \(unspecified\)/],
    ['mapped.tenant.test', /resolved to ::ffff:127\.0\.0\.1, which is in 127\.0\.0\.0\/8/],
    [
      'kube-dns.tenant.test',
      /resolved to 10\.96\.0\.10, which is in 10\.96\.0\.0\/12 \(the cluster's own ranges \(EGRESS_CLUSTER_CIDRS\)\)/,
    ],
    ['pod.tenant.test', /fd00:10:244::\/56 \(the cluster's own ranges/],
    // One refused address is enough: which address a socket picks is not ours to say.
    ['mixed.tenant.test', /resolved to 127\.0\.0\.2/],
  ];
  for (const [host, pattern] of cases) {
    test(`refuses ${host}, saying where it resolved, which range and which setting allows it`, async () => {
      await assert.rejects(policy.resolve(host, purpose), (error: unknown) => {
        refused(pattern)(error);
        assert.match((error as Error).message, /fix the host key of the database Secret/);
        assert.match((error as Error).message, /EGRESS_ALLOW/);
        return true;
      });
    });
  }

  test('lets other addresses through, in the resolver order', async () => {
    assert.deepEqual(await policy.resolve('public.tenant.test', purpose), [
      { address: '203.0.113.10', family: 4 },
    ]);
    assert.deepEqual(await policy.resolve('203.0.113.10', purpose), [
      { address: '203.0.113.10', family: 4 },
    ]);
  });

  test('the allow-list overrides, by host name, by *.domain and by CIDR', async () => {
    const allowing = (allow: string[]) =>
      createEgressPolicy({ allow, clusterCidrs: ['10.96.0.0/12'] }, names);
    for (const allow of [
      ['kube-dns.tenant.test'],
      ['*.tenant.test'],
      ['10.96.0.0/16'],
      ['10.96.0.10'],
    ])
      assert.deepEqual(await allowing(allow).resolve('kube-dns.tenant.test', purpose), [
        { address: '10.96.0.10', family: 4 },
      ]);
    await assert.rejects(
      allowing(['other.tenant.test', '10.97.0.0/16']).resolve('kube-dns.tenant.test', purpose),
      refused(/10\.96\.0\.0\/12/),
    );
    // Loopback is refused by default and allowed only explicitly (the tests' own setting).
    assert.deepEqual(await createEgressPolicy(LOOPBACK_ALLOWED, names).resolve('::1', purpose), [
      { address: '::1', family: 6 },
    ]);
  });

  test('a name that does not resolve is the resolver error (ENOTFOUND), not a refusal', async () => {
    await assert.rejects(policy.resolve('nowhere.tenant.test', purpose), { code: 'ENOTFOUND' });
  });
});

describe('settings', () => {
  const env = { FUNCTION_NAME: 'validate-deps' };

  test('empty by default, in both functions that dial tenant addresses', () => {
    for (const schema of [validateDepsSchema, initDbSchema])
      assert.deepEqual(parseConfig(env, schema).egress, DEFAULTS);
  });

  test('lists are read, and a bad entry is named with its variable', () => {
    const config = parseConfig(
      {
        ...env,
        EGRESS_ALLOW: ' 10.0.0.0/8, db.example.com ,*.svc.cluster.local,::1',
        EGRESS_CLUSTER_CIDRS: '10.96.0.0/12,10.244.0.0/16',
      },
      validateDepsSchema,
    );
    assert.deepEqual(config.egress.allow, [
      '10.0.0.0/8',
      'db.example.com',
      '*.svc.cluster.local',
      '::1',
    ]);
    assert.deepEqual(config.egress.clusterCidrs, ['10.96.0.0/12', '10.244.0.0/16']);
    assert.throws(
      () =>
        parseConfig(
          { ...env, EGRESS_CLUSTER_CIDRS: '10.96.0.0/33', EGRESS_ALLOW: 'a b' },
          initDbSchema,
        ),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.problems.some((p) =>
          p.includes('EGRESS_CLUSTER_CIDRS has "10.96.0.0/33", which is not a CIDR'),
        ) &&
        error.problems.some((p) => p.includes('EGRESS_ALLOW has "a b", which is not a CIDR')),
    );
  });
});

describe('PostgreSQL', () => {
  function target(host: string, port = postgresConnection().port): DatabaseTarget {
    const pg = postgresConnection();
    return {
      host,
      port,
      database: pg.database,
      user: pg.user,
      password: new Sensitive(pg.password),
      sslMode: 'disable',
    };
  }

  test('loopback is refused by default, before any connection is made', async () => {
    const listener = createTcpServer((socket) => socket.destroy());
    let connections = 0;
    listener.on('connection', () => connections++);
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    try {
      const port = (listener.address() as AddressInfo).port;
      for (const host of ['127.0.0.1', 'localhost.tenant.test'])
        await assert.rejects(
          probeDatabase(target(host, port), {
            egress: createEgressPolicy(
              DEFAULTS,
              resolver({ 'localhost.tenant.test': '127.0.0.1' }),
            ),
            timeoutMs: 2000,
          }),
          refused(/127\.0\.0\.0\/8 \(loopback\)/),
        );
      assert.equal(connections, 0);
    } finally {
      listener.close();
    }
  });

  test('the connection goes to the checked address, resolved once', async () => {
    // The name exists only in the test's resolver: a second lookup by the client would fail.
    const names = resolver({ 'db.tenant.test': '127.0.0.1' });
    const result = await probeDatabase(target('db.tenant.test'), {
      egress: createEgressPolicy(LOOPBACK_ALLOWED, names),
    });
    assert.ok(result.latencyMs >= 0);
    assert.deepEqual(names.calls, ['db.tenant.test']);
  });

  test('a name that resolves to the metadata address is refused in init-db too', async () => {
    await assert.rejects(
      initialiseDatabase(
        target('metadata.tenant.test'),
        { namespace: 'egress', name: 'demo' },
        {
          egress: createEgressPolicy(
            DEFAULTS,
            resolver({ 'metadata.tenant.test': '169.254.169.254' }),
          ),
        },
      ),
      refused(/"metadata\.tenant\.test" resolved to 169\.254\.169\.254/),
    );
  });
});

describe('S3', () => {
  const servers: Server[] = [];
  after(() => {
    for (const server of servers) server.closeAllConnections();
    for (const server of servers) server.close();
  });

  async function target(endpoint?: string): Promise<BucketTarget> {
    const s3 = s3Connection();
    return {
      endpoint: endpoint ?? s3.endpoint,
      region: s3.region,
      bucket: await freshBucket('egress'),
      forcePathStyle: true,
      accessKeyId: new Sensitive(s3.accessKeyId),
      secretAccessKey: new Sensitive(s3.secretAccessKey),
    };
  }

  /** The test S3 server's endpoint under a name only the test's resolver knows. */
  function named(host: string): string {
    const url = new URL(s3Connection().endpoint);
    url.hostname = host;
    return url.origin;
  }

  test('loopback is refused by default', async () => {
    await assert.rejects(
      probeBucket(await target(), { egress: createEgressPolicy(DEFAULTS) }),
      refused(
        /the S3 endpoint is 127\.0\.0\.1, which is in 127\.0\.0\.0\/8 \(loopback\).*the endpoint key of the storage Secret/,
      ),
    );
  });

  test("the SDK's sockets resolve through the policy: a name for the metadata address is refused", async () => {
    const names = resolver({ 's3.tenant.test': '169.254.169.254' });
    await assert.rejects(
      probeBucket(await target(named('s3.tenant.test')), {
        egress: createEgressPolicy(DEFAULTS, names),
        timeoutMs: 2000,
      }),
      refused(/"s3\.tenant\.test" resolved to 169\.254\.169\.254/),
    );
    assert.ok(names.calls.includes('s3.tenant.test'));
  });

  test('and connect to the address the policy checked', async () => {
    const names = resolver({ 's3.tenant.test': '127.0.0.1' });
    const result = await probeBucket(await target(named('s3.tenant.test')), {
      egress: createEgressPolicy(LOOPBACK_ALLOWED, names),
    });
    assert.ok(result.latencyMs >= 0);
    assert.ok(names.calls.includes('s3.tenant.test'));
  });

  async function fakeServer(listener: RequestListener): Promise<string> {
    const server = createServer(listener);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const internal = 'internal-admin-panel-0xC0FFEE';
  const answers: [string, number, string, string, string, RegExp][] = [
    [
      'an HTML page',
      400,
      'text/html',
      `<html>${internal}</html>`,
      'S3EndpointInvalid',
      /answered HTTP 400 with something that is not an S3 error response/,
    ],
    [
      'a JSON error',
      409,
      'application/json',
      `{"message":"${internal}"}`,
      'S3EndpointInvalid',
      /answered HTTP 409 with something that is not an S3 error response/,
    ],
    [
      'an S3 error with a code of its own',
      400,
      'application/xml',
      `<Error><Code>InvalidRequest</Code><Message>${internal}</Message></Error>`,
      'S3RequestRefused',
      /the server refused the request \(HTTP 400, InvalidRequest\)/,
    ],
  ];
  for (const [what, status, type, body, reason, pattern] of answers) {
    test(`${what}: the condition gets a generic message, never the remote body`, async () => {
      const endpoint = await fakeServer((req, res) => {
        res.writeHead(status, { 'content-type': type });
        res.end(req.method === 'HEAD' ? undefined : body);
      });
      await assert.rejects(
        probeBucket(await target(endpoint), { egress: createEgressPolicy(LOOPBACK_ALLOWED) }),
        (error: ReconcilerError) => {
          assert.ok(error instanceof PermanentError, String(error));
          assert.equal(error.reason, reason);
          assert.match(error.message, pattern);
          assert.ok(!error.message.includes(internal), 'the remote body is not quoted');
          return true;
        },
      );
    });
  }
});

describe('the phases', () => {
  before(async () => {
    await installProjectCrd();
  });

  test('validate-deps with the default policy: both conditions EgressRefused, the project Failed', async () => {
    const namespace = await freshNamespace('egress-vd');
    const created = await workingProject(namespace);
    const egress: EgressPolicy = createEgressPolicy(DEFAULTS);
    const { deps } = testDeps({
      probeDatabase: (t, options) => probeDatabase(t, { ...options, egress }),
      probeBucket: (t, options) => probeBucket(t, { ...options, egress }),
    });
    const result = await createValidateDepsHandler(deps)(apiServerEvent(created), testContext());
    assert.ok(result && 'outcome' in result);
    assert.equal(result.outcome, 'failed_permanent');
    assert.match(String(result.reason), /EgressRefused/);
    const status = (await readProject(namespace)).status;
    assert.equal(status?.phase, 'Failed');
    const conditions = status.conditions ?? [];
    for (const type of ['PostgreSQLConnected', 'S3Connected']) {
      const condition = conditions.find((c) => c.type === type);
      assert.ok(condition, type);
      assert.equal(condition.status, 'False', type);
      assert.equal(condition.reason, REASON.EgressRefused, type);
      assert.match(condition.message, /127\.0\.0\.0\/8 \(loopback\).*EGRESS_ALLOW/);
    }
  });

  test('init-db with the default policy: DatabaseInitialized EgressRefused, not retried', async () => {
    const namespace = await freshNamespace('egress-init');
    const created = await workingProject(namespace);
    const { deps } = testDeps();
    const egress = createEgressPolicy(DEFAULTS);
    const result = await handleInitDb(
      chainEventFor(created, { type: CHAIN_EVENT.dependenciesValidated }),
      {
        projects: deps.projects,
        secrets: deps.secrets,
        initialise: (t, key) => initialiseDatabase(t, key, { egress }),
      },
      testContext(),
    );
    assert.ok(result && 'outcome' in result, 'acknowledged, not thrown (no retry)');
    assert.equal(result.outcome, 'failed_permanent');
    const status = (await readProject(namespace)).status;
    const condition = status?.conditions?.find((c) => c.type === 'DatabaseInitialized');
    assert.equal(condition?.status, 'False');
    assert.equal(condition.reason, REASON.EgressRefused);
    assert.equal(status?.phase, 'Failed');
  });
});
