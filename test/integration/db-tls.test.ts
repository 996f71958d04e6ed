/**
 * TLS to the database against a real PostgreSQL with `ssl=on` and a certificate from a CA the
 * test makes: verify-full trusts the database Secret's `ca.crt` and checks the Secret's host
 * name (not the address it connects to), verify-ca checks the chain only, require encrypts
 * without verifying; validate-deps records the mode and the verification in
 * `status.dependencies` and a Warning Event when the mode does not verify the server.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createValidateDepsHandler } from '../../functions/validate-deps/handler.ts';
import {} from '../../functions/validate-deps/warnings.ts';
import { probeDatabase } from '../../shared/db/connect.ts';
import type { DatabaseTarget, SslMode } from '../../shared/db/target.ts';
import { kubeSecretStore } from '../../shared/k8s/secrets.ts';
import { createEgressPolicy, type ResolveAll } from '../../shared/net/egress.ts';
import { readDatabaseTarget } from '../../shared/reconcile/referenced-secret.ts';
import { PermanentError } from '../../shared/runtime/errors.ts';
import { Sensitive } from '../../shared/secrets/sensitive.ts';
import { freshNamespace, kube, kubeConnection } from '../env/index.ts';
import { serverFileOwner, startPostgres, type PostgresEnvironment } from '../env/postgres.ts';
import { LOOPBACK_ALLOWED } from '../fixtures/egress.ts';
import { installProjectCrd } from '../fixtures/project.ts';
import { makeTestCertificates, type TestCertificates } from '../fixtures/tls.ts';
import {
  apiServerEvent,
  assertNoValues,
  createProject,
  putSecret,
  readProject,
  storageSecretData,
  testContext,
  testDeps,
} from './validate-deps-support.ts';
import { EVENT_REASON } from '../../shared/api/reasons.ts';

/** The name on the server's certificate, and one that is not on it; both lead to loopback. */
const CERT_HOST = 'pg.tls.test';
const OTHER_HOST = 'other.tls.test';
const names: ResolveAll = (hostname) =>
  [CERT_HOST, OTHER_HOST].includes(hostname)
    ? Promise.resolve([{ address: '127.0.0.1', family: 4 }])
    : Promise.reject(Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
const egress = createEgressPolicy(LOOPBACK_ALLOWED, names);

let dir: string;
let server: PostgresEnvironment;
let certificates: TestCertificates;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sbr-tls-pg-'));
  // PostgreSQL runs as another user when the tests run as root (see test/env/postgres.ts).
  await chmod(dir, 0o755);
  certificates = await makeTestCertificates(join(dir, 'certs'), CERT_HOST, serverFileOwner());
  server = await startPostgres(join(dir, 'postgres'), {
    settings: {
      ssl: 'on',
      ssl_cert_file: certificates.serverCertFile,
      ssl_key_file: certificates.serverKeyFile,
    },
  });
});

after(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

function target(host: string, sslMode: SslMode, ca?: string): DatabaseTarget {
  return {
    host,
    port: server.port,
    database: server.database,
    user: server.user,
    password: new Sensitive(server.password),
    sslMode,
    ...(ca === undefined ? {} : { caCertificate: ca }),
  };
}

function tlsVerificationFailed(pattern: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof PermanentError, `expected PermanentError, got ${String(error)}`);
    assert.equal(error.reason, 'TLSVerificationFailed', error.message);
    assert.match(error.message, pattern);
    assert.match(error.message, /"ca\.crt" key of the database Secret/);
    return true;
  };
}

describe('probes', () => {
  test('verify-full with the CA of the database Secret connects, verified', async () => {
    const result = await probeDatabase(target(CERT_HOST, 'verify-full', certificates.caPem), {
      egress,
    });
    assert.equal(result.encrypted, true);
    assert.equal(result.serverVerified, true);
  });

  test('verify-full without the CA fails with TLSVerificationFailed', async () => {
    await assert.rejects(
      probeDatabase(target(CERT_HOST, 'verify-full'), { egress }),
      tlsVerificationFailed(/certificate/),
    );
  });

  test('a host name the certificate does not name fails under verify-full, passes under verify-ca', async () => {
    await assert.rejects(
      probeDatabase(target(OTHER_HOST, 'verify-full', certificates.caPem), { egress }),
      tlsVerificationFailed(/other\.tls\.test/),
    );
    const result = await probeDatabase(target(OTHER_HOST, 'verify-ca', certificates.caPem), {
      egress,
    });
    assert.deepEqual([result.encrypted, result.serverVerified], [true, true]);
  });

  test('verify-ca still checks the chain: without the CA it fails', async () => {
    await assert.rejects(
      probeDatabase(target(OTHER_HOST, 'verify-ca'), { egress }),
      tlsVerificationFailed(/certificate/),
    );
  });

  test('require and prefer encrypt without verifying; disable does not encrypt', async () => {
    for (const [mode, encrypted] of [
      ['require', true],
      ['prefer', true],
      ['disable', false],
    ] as const) {
      const result = await probeDatabase(target(CERT_HOST, mode), { egress });
      assert.deepEqual([result.encrypted, result.serverVerified], [encrypted, false], mode);
    }
  });
});

describe('validate-deps', () => {
  before(async () => {
    await installProjectCrd();
  });

  const handler = () => {
    const { deps } = testDeps({
      probeDatabase: (t, options) => probeDatabase(t, { ...options, egress }),
    });
    return createValidateDepsHandler(deps);
  };

  /** A project whose database Secret reaches the TLS server by its certificate's name. */
  async function project(prefix: string, sslMode: SslMode, extra: Record<string, string> = {}) {
    const namespace = await freshNamespace(prefix);
    await putSecret(namespace, 'demo-db', {
      host: CERT_HOST,
      port: String(server.port),
      database: server.database,
      username: server.user,
      password: server.password,
      ...extra,
    });
    await putSecret(namespace, 'demo-s3', await storageSecretData());
    const created = await createProject(namespace, {
      spec: { database: { secretRef: { name: 'demo-db' }, sslMode } },
    });
    return { namespace, created };
  }

  async function warnings(namespace: string) {
    const events = await kube().core.listNamespacedEvent({ namespace });
    return events.items.filter((e) => e.reason === EVENT_REASON.DatabaseServerNotVerified);
  }

  test('verify-full with ca.crt: status records the mode and a verified server; no Warning', async () => {
    const { namespace, created } = await project('tls-full', 'verify-full', {
      'ca.crt': certificates.caPem,
    });
    await handler()(apiServerEvent(created), testContext());
    const status = (await readProject(namespace)).status;
    assert.equal(
      status?.conditions?.find((c) => c.type === 'PostgreSQLConnected')?.status,
      'True',
      JSON.stringify(status?.conditions),
    );
    assert.deepEqual(
      {
        sslMode: status.dependencies?.postgresql?.sslMode,
        encrypted: status.dependencies?.postgresql?.encrypted,
        serverVerified: status.dependencies?.postgresql?.serverVerified,
      },
      { sslMode: 'verify-full', encrypted: true, serverVerified: true },
    );
    assert.deepEqual(await warnings(namespace), []);
  });

  test('require: status says the server is not verified, and a Warning Event says what to do', async () => {
    const { namespace, created } = await project('tls-require', 'require');
    await handler()(apiServerEvent(created), testContext());
    const postgresql = (await readProject(namespace)).status?.dependencies?.postgresql;
    assert.deepEqual(
      [
        postgresql?.connected,
        postgresql?.sslMode,
        postgresql?.encrypted,
        postgresql?.serverVerified,
      ],
      [true, 'require', true, false],
    );
    const [warning, ...more] = await warnings(namespace);
    assert.ok(warning, 'a Warning Event was recorded');
    assert.deepEqual(more, [], 'once per chain');
    assert.equal(warning.type, 'Warning');
    assert.equal(warning.involvedObject.uid, created.metadata.uid);
    assert.equal(warning.involvedObject.kind, 'SupabaseProject');
    assert.match(
      warning.message ?? '',
      /sslMode is "require".*not verified.*verify-full.*"ca\.crt" key of the database Secret "demo-db"/,
    );
    assertNoValues(JSON.stringify(warning), [server.password], 'the Event');
  });

  test('a ca.crt that is not a certificate is InvalidCACertificate, without quoting it', async () => {
    const namespace = await freshNamespace('tls-bad-ca');
    const garbage = 'not-a-certificate-but-a-value-9f3c';
    await putSecret(namespace, 'demo-db', {
      host: CERT_HOST,
      port: String(server.port),
      database: server.database,
      username: server.user,
      password: server.password,
      'ca.crt': garbage,
    });
    const created = await createProject(namespace, {
      spec: { database: { secretRef: { name: 'demo-db' }, sslMode: 'verify-full' } },
    });
    await assert.rejects(
      readDatabaseTarget(
        kubeSecretStore({ kubeconfigPath: kubeConnection().kubeconfigPath }),
        created,
      ),
      (error: unknown) => {
        assert.ok(error instanceof PermanentError);
        assert.equal(error.reason, 'InvalidCACertificate');
        assert.match(error.message, /"ca\.crt" that is not a PEM certificate/);
        assert.ok(!error.message.includes(garbage));
        return true;
      },
    );
  });
});
