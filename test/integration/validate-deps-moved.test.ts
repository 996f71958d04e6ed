/**
 * What validate-deps checks for a project moved over from the reference operator, against
 * the real API server, PostgreSQL and S3 servers:
 * - the SMTP Secret of `spec.auth.smtpSecretRef` (keys, port, sender), reported on AuthReady;
 * - `spec.auth.oauthSecretRef`, refused on AuthReady until a provider key contract exists;
 * - a storage endpoint written as a bare host (`localhost:<port>`, as the reference's own
 *   Secrets write `s3.amazonaws.com`), reached as `https://localhost:<port>`: a second
 *   versitygw serving TLS with a certificate for `localhost` from a throwaway CA, which the
 *   function process trusts the way a pod is made to trust a private CA
 *   (NODE_EXTRA_CA_CERTS); the test process does not trust it, which shows the connection
 *   really is TLS and verified.
 */
import assert from 'node:assert/strict';
import { Agent } from 'node:https';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { HTTP, type CloudEvent } from 'cloudevents';
import { supabaseProjectCrd, type SupabaseProjectStatus } from '../../shared/api/index.ts';
import { isAcknowledgement } from '../../shared/runtime/handler.ts';
import { findCondition } from '../../shared/status/conditions.ts';
import { createValidateDepsHandler } from '../../functions/validate-deps/handler.ts';
import { applyCrd, freshNamespace } from '../env/index.ts';
import { LOOPBACK_ALLOWED_ENV } from '../fixtures/egress.ts';
import { startFunctionProcess, type FunctionProcess } from '../fixtures/function-process.ts';
import { startTlsS3, type TlsS3Environment } from '../fixtures/tls-s3.ts';
import {
  apiServerEvent,
  assertNoValues,
  chainEventFor,
  createProject,
  databaseSecretData,
  putSecret,
  readProject,
  storageSecretData,
  testContext,
  testDeps,
} from './validate-deps-support.ts';

before(async () => {
  await applyCrd(supabaseProjectCrd());
});

async function run(event: CloudEvent<unknown>) {
  const { deps } = testDeps();
  const context = testContext();
  const result = await createValidateDepsHandler(deps)(event, context);
  return { result, context };
}

function condition(status: SupabaseProjectStatus | undefined, type: string) {
  const found = findCondition(status?.conditions, type);
  assert.ok(found, `condition ${type} is set`);
  return found;
}

const SMTP = {
  host: 'smtp.example.internal',
  port: '587',
  username: 'mailer',
  password: 'smtp-password-never-shown-0123',
  from: 'noreply@example.internal',
};

/** A project whose database and storage work, with an SMTP Secret of the given values. */
async function smtpProject(namespace: string, smtp: Record<string, string>) {
  await putSecret(namespace, 'demo-db', await databaseSecretData());
  await putSecret(namespace, 'demo-s3', await storageSecretData());
  await putSecret(namespace, 'demo-smtp', smtp);
  return createProject(namespace, { spec: { auth: { smtpSecretRef: { name: 'demo-smtp' } } } });
}

describe('the SMTP Secret', () => {
  const withoutFrom = Object.fromEntries(Object.entries(SMTP).filter(([key]) => key !== 'from'));
  const cases: [string, Record<string, string>, string, RegExp][] = [
    [
      'a missing key',
      withoutFrom,
      'SecretKeyMissing',
      /the SMTP Secret "demo-smtp" has no key "from"; it needs the keys host, port, username, password, from/,
    ],
    ['an empty key', { ...SMTP, host: ' ' }, 'SecretKeyEmpty', /"demo-smtp" has an empty "host"/],
    [
      'a port that is not a number',
      { ...SMTP, port: 'smtp' },
      'InvalidPort',
      /the SMTP Secret "demo-smtp" has port "smtp", which is not a port number/,
    ],
    [
      'a sender that is not an address',
      { ...SMTP, from: 'nobody' },
      'SmtpSenderInvalid',
      /the SMTP Secret "demo-smtp" has a "from" that is not an email address/,
    ],
  ];
  for (const [name, data, reason, message] of cases) {
    test(`${name}: AuthReady False with the reason, phase Failed, no value shown`, async () => {
      const namespace = await freshNamespace('vd-smtp');
      const created = await smtpProject(namespace, data);
      const { result, context } = await run(apiServerEvent(created));
      assert.ok(result && isAcknowledgement(result));
      assert.equal(result.outcome, 'failed_permanent');
      const { status } = await readProject(namespace);
      const auth = condition(status, 'AuthReady');
      assert.equal(auth.status, 'False');
      assert.equal(auth.reason, reason);
      assert.match(auth.message, message);
      assert.equal(status?.phase, 'Failed');
      // The dependencies themselves are fine and say so.
      assert.equal(condition(status, 'S3Connected').status, 'True');
      assert.equal(condition(status, 'PostgreSQLConnected').status, 'True');
      const values = [SMTP.password, SMTP.username, SMTP.host];
      assertNoValues(JSON.stringify(status), values, 'status');
      assertNoValues(context.lines.join('\n'), values, 'logs');
    });
  }

  test('a good one passes; once fixed, the failure is cleared and the chain moves on', async () => {
    const namespace = await freshNamespace('vd-smtp-ok');
    const created = await smtpProject(namespace, withoutFrom);
    await run(apiServerEvent(created));
    assert.equal(condition((await readProject(namespace)).status, 'AuthReady').status, 'False');
    await putSecret(namespace, 'demo-smtp', SMTP);
    // What resync sends for a failed project.
    const { result } = await run(chainEventFor(await readProject(namespace)));
    assert.ok(result && !isAcknowledgement(result), `a reply, got ${JSON.stringify(result)}`);
    const { status } = await readProject(namespace);
    assert.equal(status?.phase, 'InitializingDatabase');
    const auth = condition(status, 'AuthReady');
    assert.equal(auth.status, 'Unknown');
    assert.equal(auth.message, 'the SMTP Secret is usable now; Auth is not deployed yet');
  });
});

describe('a storage endpoint without a scheme', () => {
  let s3: TlsS3Environment;
  let fn: FunctionProcess | undefined;
  let bucket: string;

  before(async () => {
    s3 = await startTlsS3('localhost');
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      requestHandler: { httpsAgent: new Agent({ ca: s3.caPem }) },
    });
    bucket = `bare-${Date.now().toString(36)}`;
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    client.destroy();
  });

  after(async () => {
    await fn?.stop();
    await s3.stop();
  });

  /** The storage Secret naming the TLS server as `localhost:<port>`, no scheme. */
  async function bareHostProject(namespace: string) {
    const port = new URL(s3.endpoint).port;
    await putSecret(namespace, 'demo-db', await databaseSecretData());
    await putSecret(namespace, 'demo-s3', {
      endpoint: `localhost:${port}`,
      region: s3.region,
      bucket,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    });
    return { port, created: await createProject(namespace) };
  }

  test('is reached as https://<host> by name over verified TLS, and status says https was assumed', async () => {
    fn = await startFunctionProcess('validate-deps', {
      env: {
        ...LOOPBACK_ALLOWED_ENV,
        // How a pod trusts a private CA; read by Node at process start.
        NODE_EXTRA_CA_CERTS: s3.caFile,
        OTEL_SDK_DISABLED: 'true',
      },
    });
    const namespace = await freshNamespace('vd-bare-s3');
    const { port, created } = await bareHostProject(namespace);
    const message = HTTP.binary(apiServerEvent(created));
    const response = await fetch(`http://127.0.0.1:${fn.port}/`, {
      method: 'POST',
      headers: message.headers as Record<string, string>,
      body: message.body as string,
    });
    assert.equal(response.status, 200, await response.clone().text());
    const { status } = await readProject(namespace);
    const connected = condition(status, 'S3Connected');
    assert.equal(connected.status, 'True', connected.message);
    assert.match(
      connected.message,
      new RegExp(
        `bucket "${bucket}" at https://localhost:${port} \\(region us-east-1, path-style; https assumed: the endpoint key names no scheme`,
      ),
    );
    assert.ok(status, 'status is written');
    assert.equal(status.dependencies?.s3?.connected, true);
    assert.equal(status.dependencies.s3.httpsAssumed, true, 'said in status.dependencies too');
    assert.equal(status.dependencies.postgresql?.httpsAssumed, undefined);
    assert.equal(status.phase, 'InitializingDatabase');
  });

  test('without trust in its CA the same endpoint fails TLS verification (the connection is TLS)', async () => {
    const namespace = await freshNamespace('vd-bare-s3-untrusted');
    const { created } = await bareHostProject(namespace);
    const { result } = await run(apiServerEvent(created));
    assert.ok(result && isAcknowledgement(result));
    const connected = condition((await readProject(namespace)).status, 'S3Connected');
    assert.equal(connected.status, 'False');
    assert.equal(connected.reason, 'S3TLSVerificationFailed');
    assert.match(connected.message, /https assumed/);
  });
});

test('spec.auth.oauthSecretRef is refused on AuthReady with a message saying what to do', async () => {
  const namespace = await freshNamespace('vd-oauth');
  await putSecret(namespace, 'demo-db', await databaseSecretData());
  await putSecret(namespace, 'demo-s3', await storageSecretData());
  const created = await createProject(namespace, {
    spec: { auth: { oauthSecretRef: { name: 'demo-oauth' } } },
  });
  const { result } = await run(apiServerEvent(created));
  assert.ok(result && isAcknowledgement(result));
  const { status } = await readProject(namespace);
  const auth = condition(status, 'AuthReady');
  assert.equal(auth.status, 'False');
  assert.equal(auth.reason, 'OAuthSecretRefUnsupported');
  assert.match(
    auth.message,
    /spec\.auth\.oauthSecretRef \(Secret "demo-oauth"\) is not supported yet/,
  );
  assert.match(auth.message, /Remove the field/);
  assert.equal(status?.phase, 'Failed');
});
