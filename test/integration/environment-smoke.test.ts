/**
 * Smoke suite: proves the test environment is made of real parts. Each assertion here is a
 * behaviour a mock would get wrong: status subresource, resourceVersion conflicts, CRD
 * OpenAPI + CEL validation, watches, authentication and RBAC, PostgreSQL extensions, roles and
 * grants, S3 signatures, and spans exported by the OpenTelemetry SDK over OTLP/HTTP.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'node:https';
import { Watch, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import {
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { SpanKind } from '@opentelemetry/api';
import { TracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import pg from 'pg';
import {
  applyCrd,
  freshBucket,
  freshDatabase,
  freshNamespace,
  kube,
  kubeConnection,
  s3Client,
  s3Connection,
  startOtlpReceiver,
} from '../env/index.ts';
import { widgetCrd, widgetRef } from '../fixtures/widget-crd.ts';
import { apiError } from '../fixtures/api-error.ts';

interface Widget {
  metadata: { name: string; resourceVersion: string; generation: number; uid: string };
  spec: { size: number; max: number };
  status?: { phase?: string; observedGeneration?: number };
}

function widget(name: string, size: number): object {
  return {
    apiVersion: 'smoke.supabase-reconciler.dev/v1',
    kind: 'Widget',
    metadata: { name },
    spec: { size },
  };
}

describe('Kubernetes API server', () => {
  before(async () => {
    await applyCrd(widgetCrd);
  });

  test('create, get, and patch status through the status subresource', async () => {
    const namespace = await freshNamespace('smoke');
    const { customObjects } = kube();
    const ref = { ...widgetRef, namespace };
    const created = (await customObjects.createNamespacedCustomObject({
      ...ref,
      body: widget('w1', 3),
    })) as Widget;
    assert.equal(created.metadata.generation, 1);
    assert.equal(created.spec.max, 10, 'the schema default is applied by the server');

    await customObjects.patchNamespacedCustomObjectStatus(
      { ...ref, name: 'w1', body: { status: { phase: 'Ready', observedGeneration: 1 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const afterStatus = (await customObjects.getNamespacedCustomObject({
      ...ref,
      name: 'w1',
    })) as Widget;
    assert.equal(afterStatus.status?.phase, 'Ready');
    assert.equal(afterStatus.metadata.generation, 1, 'a status write does not bump generation');

    // The main resource ignores status; the spec change bumps generation.
    await customObjects.patchNamespacedCustomObject(
      { ...ref, name: 'w1', body: { spec: { size: 4 }, status: { phase: 'Ignored' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const afterSpec = (await customObjects.getNamespacedCustomObject({
      ...ref,
      name: 'w1',
    })) as Widget;
    assert.equal(afterSpec.metadata.generation, 2);
    assert.equal(afterSpec.status?.phase, 'Ready');
  });

  test('a write with a stale resourceVersion is refused with 409 Conflict', async () => {
    const namespace = await freshNamespace('smoke');
    const { customObjects } = kube();
    const ref = { ...widgetRef, namespace };
    const created = (await customObjects.createNamespacedCustomObject({
      ...ref,
      body: widget('w2', 1),
    })) as Widget;
    await customObjects.replaceNamespacedCustomObject({
      ...ref,
      name: 'w2',
      body: { ...created, spec: { ...created.spec, size: 2 } },
    });
    const stale = await apiError(
      customObjects.replaceNamespacedCustomObject({
        ...ref,
        name: 'w2',
        body: { ...created, spec: { ...created.spec, size: 5 } },
      }),
    );
    assert.equal(stale.code, 409);
    assert.match(stale.message, /the object has been modified/);
  });

  test('the CRD schema and its CEL rules reject invalid objects with their messages', async () => {
    const namespace = await freshNamespace('smoke');
    const { customObjects } = kube();
    const ref = { ...widgetRef, namespace };
    const negative = await apiError(
      customObjects.createNamespacedCustomObject({ ...ref, body: widget('neg', -1) }),
    );
    assert.equal(negative.code, 422);
    assert.match(negative.message, /spec\.size.*greater than or equal to 0/);

    const cel = await apiError(
      customObjects.createNamespacedCustomObject({ ...ref, body: widget('big', 11) }),
    );
    assert.equal(cel.code, 422);
    assert.match(cel.message, /size must not exceed max/);
  });

  test('a watch sees an update', async () => {
    const namespace = await freshNamespace('smoke');
    const { customObjects, kubeConfig } = kube();
    const ref = { ...widgetRef, namespace };
    const created = (await customObjects.createNamespacedCustomObject({
      ...ref,
      body: widget('w3', 1),
    })) as Widget;

    const seen = new Promise<Widget>((resolve, reject) => {
      void new Watch(kubeConfig)
        .watch(
          `/apis/${widgetRef.group}/${widgetRef.version}/namespaces/${namespace}/${widgetRef.plural}`,
          { resourceVersion: created.metadata.resourceVersion },
          (phase, object: Widget) => {
            if (phase === 'MODIFIED') resolve(object);
          },
          (error: unknown) => {
            if (error instanceof Error) reject(error);
            else if (error) reject(new Error('the watch ended with an error'));
          },
        )
        .then((controller) => {
          void seen.finally(() => {
            controller.abort();
          });
        }, reject);
    });
    // Give the watch a moment to be established before the write it must see.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await customObjects.patchNamespacedCustomObject(
      { ...ref, name: 'w3', body: { spec: { size: 7 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const modified = await seen;
    assert.equal(modified.spec.size, 7);
    assert.equal(modified.metadata.generation, 2);
  });

  test('authentication and RBAC are on: no anonymous access, no rights without a role', async () => {
    const { server, caPem } = kubeConnection();
    const get = (headers: Record<string, string>): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = request(`${server}/api/v1/namespaces`, { ca: caPem, headers }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    assert.equal(await get({}), 401, 'an anonymous request is refused');
    const { adminToken } = kubeConnection();
    assert.equal(
      await get({
        Authorization: `Bearer ${adminToken}`,
        'Impersonate-User': 'someone-without-roles',
      }),
      403,
      'an authenticated user without a role binding is forbidden',
    );
    assert.equal(await get({ Authorization: `Bearer ${adminToken}` }), 200);
  });
});

describe('PostgreSQL', () => {
  let client: pg.Client;
  before(async () => {
    client = new pg.Client(await freshDatabase('smoke'));
    await client.connect();
  });
  after(async () => {
    await client.end();
  });

  test('extensions install and work (pgcrypto, pg_stat_statements preloaded)', async () => {
    await client.query('CREATE EXTENSION IF NOT EXISTS pgcrypto');
    const { rows } = await client.query<{ digest: string }>(
      "SELECT encode(digest('abc', 'sha256'), 'hex') AS digest",
    );
    assert.equal(
      rows[0]?.digest,
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const stats = await client.query('SELECT count(*) FROM pg_stat_statements');
    assert.equal(stats.rowCount, 1, 'pg_stat_statements is readable only when preloaded');
  });

  test('roles and grants are enforced', async () => {
    const role = `smoke_role_${Date.now()}`;
    await client.query(`CREATE ROLE ${role} NOLOGIN`);
    await client.query('CREATE TABLE granted (id int)');
    await client.query('CREATE TABLE private (id int)');
    await client.query(`GRANT SELECT ON granted TO ${role}`);
    const { rows } = await client.query<{ granted: boolean; private: boolean }>(
      `SELECT has_table_privilege('${role}', 'granted', 'SELECT') AS granted,
              has_table_privilege('${role}', 'private', 'SELECT') AS private`,
    );
    assert.deepEqual(rows[0], { granted: true, private: false });
    await client.query(`SET ROLE ${role}`);
    try {
      await client.query('SELECT * FROM granted');
      await assert.rejects(
        client.query('SELECT * FROM private'),
        /permission denied for table private/,
      );
    } finally {
      await client.query('RESET ROLE');
    }
  });
});

describe('S3', () => {
  test('put and head an object', async () => {
    const bucket = await freshBucket('smoke');
    const s3 = s3Client();
    try {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'hello.txt', Body: 'hello' }));
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'hello.txt' }));
      assert.equal(head.ContentLength, 5);
    } finally {
      s3.destroy();
    }
  });

  test('a request signed with the wrong secret or an unknown key is refused', async () => {
    const bucket = await freshBucket('smoke');
    const wrongSecret = s3Client({
      accessKeyId: s3Connection().accessKeyId,
      secretAccessKey: 'not-the-secret',
    });
    const unknownKey = s3Client({ accessKeyId: 'nobody', secretAccessKey: 'x' });
    try {
      await assert.rejects(
        wrongSecret.send(new PutObjectCommand({ Bucket: bucket, Key: 'x', Body: 'x' })),
        (error: Error) => error.name === 'SignatureDoesNotMatch',
      );
      // S3 answers InvalidAccessKeyId (403); versitygw answers XAdminUserNotFound (404).
      await assert.rejects(
        unknownKey.send(new ListObjectsV2Command({ Bucket: bucket })),
        (error: Error) => ['InvalidAccessKeyId', 'XAdminUserNotFound'].includes(error.name),
      );
    } finally {
      wrongSecret.destroy();
      unknownKey.destroy();
    }
  });

  test('a missing bucket answers 404', async () => {
    const s3 = s3Client();
    try {
      await assert.rejects(
        s3.send(new HeadBucketCommand({ Bucket: `missing-${Date.now()}` })),
        (error: { $metadata?: { httpStatusCode?: number } }) =>
          error.$metadata?.httpStatusCode === 404,
      );
    } finally {
      s3.destroy();
    }
  });
});

describe('OTLP receiver', () => {
  test('receives a span exported by the OpenTelemetry SDK', async () => {
    const receiver = await startOtlpReceiver();
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'smoke' }),
      spanProcessors: [
        new SimpleSpanProcessor({
          exporter: new OTLPTraceExporter({ url: `${receiver.endpoint}/v1/traces` }),
        }),
      ],
    });
    try {
      const tracer = provider.getTracer('smoke-test');
      const parent = tracer.startSpan('parent', {
        kind: SpanKind.CONSUMER,
        attributes: { 'smoke.n': 1 },
      });
      parent.end();
      await provider.forceFlush();
      const spans = await receiver.waitForSpans((received) => received.length >= 1);
      const span = spans[0]!;
      assert.equal(span.name, 'parent');
      assert.equal(span.kind, 5);
      assert.equal(span.attributes['smoke.n'], 1);
      assert.equal(span.resource['service.name'], 'smoke');
      assert.equal(span.traceId, parent.spanContext().traceId);
    } finally {
      await provider.shutdown();
      await receiver.close();
    }
  });
});
