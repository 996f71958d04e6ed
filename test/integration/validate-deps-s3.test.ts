/**
 * shared/s3's probe against the real S3 server (versitygw, which verifies SigV4) and small
 * HTTP servers that misbehave on purpose: each failure is translated to its own error kind
 * and reason, with a message that names what to fix and never a key.
 */
import assert from 'node:assert/strict';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import {
  PermanentError,
  RateLimitedError,
  TransientError,
  type ReconcilerError,
} from '../../shared/runtime/errors.ts';
import { probeBucket } from '../../shared/s3/probe.ts';
import { endpointProblem, normaliseEndpoint, type BucketTarget } from '../../shared/s3/target.ts';
import { Sensitive } from '../../shared/secrets/sensitive.ts';
import { freshBucket, s3Connection } from '../env/index.ts';
import { freePort } from '../env/ports.ts';
import { testEgress } from '../fixtures/egress.ts';

const servers: Server[] = [];
after(() => {
  for (const server of servers) server.closeAllConnections();
  for (const server of servers) server.close();
});

// A plain HTTP server standing in for S3, only for faults versitygw cannot produce on demand
// (never answering, 503 SlowDown, 500, a non-S3 404, AccessDenied for a valid key).
async function fakeServer(listener: RequestListener): Promise<string> {
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

type Change = Partial<
  Record<'endpoint' | 'region' | 'bucket' | 'accessKeyId' | 'secretAccessKey', string>
>;

async function target(change: Change = {}): Promise<BucketTarget> {
  const s3 = s3Connection();
  const { accessKeyId, secretAccessKey, ...plain } = change;
  return {
    endpoint: s3.endpoint,
    region: s3.region,
    bucket: await freshBucket('probe'),
    forcePathStyle: true,
    ...plain,
    accessKeyId: new Sensitive(accessKeyId ?? s3.accessKeyId),
    secretAccessKey: new Sensitive(secretAccessKey ?? s3.secretAccessKey),
  };
}

function fails(
  kind: new (...args: never[]) => ReconcilerError,
  reason: string | undefined,
  pattern: RegExp,
): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof kind, `expected ${kind.name}, got ${String(error)}`);
    if (reason) assert.equal((error as PermanentError).reason, reason, error.message);
    assert.match(error.message, pattern);
    const s3 = s3Connection();
    for (const value of [s3.accessKeyId, s3.secretAccessKey, 'wrong-secret-0123456789'])
      assert.ok(!JSON.stringify({ m: error.message, c: String(error.cause) }).includes(value));
    return true;
  };
}

describe('against the real S3 server', () => {
  test('an existing bucket with the right keys answers, with the latency', async () => {
    const result = await probeBucket(await target(), { egress: testEgress });
    assert.ok(result.latencyMs >= 0 && result.latencyMs < 5000);
  });

  test('a missing bucket is BucketNotFound (read from the follow-up request)', async () => {
    await assert.rejects(
      probeBucket(await target({ bucket: 'does-not-exist-here' }), { egress: testEgress }),
      fails(PermanentError, 'BucketNotFound', /bucket "does-not-exist-here" at .*does not exist/),
    );
  });

  test('a wrong secret key is S3AccessDenied naming secretAccessKey', async () => {
    await assert.rejects(
      probeBucket(await target({ secretAccessKey: 'wrong-secret-0123456789' }), {
        egress: testEgress,
      }),
      fails(PermanentError, 'S3AccessDenied', /check the secretAccessKey key/),
    );
  });

  test('an unknown access key (versitygw: 404 XAdminUserNotFound) is S3AccessDenied', async () => {
    await assert.rejects(
      probeBucket(await target({ accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'x'.repeat(40) }), {
        egress: testEgress,
      }),
      fails(PermanentError, 'S3AccessDenied', /does not know the access key id/),
    );
  });

  test('a wrong region is S3WrongRegion naming the right one', async () => {
    await assert.rejects(
      probeBucket(await target({ region: 'eu-west-3' }), { egress: testEgress }),
      fails(
        PermanentError,
        'S3WrongRegion',
        /in region "us-east-1", but the region key .* says "eu-west-3"/,
      ),
    );
  });
});

describe('against endpoints that fail', () => {
  test('a closed port is transient', async () => {
    await assert.rejects(
      probeBucket(await target({ endpoint: `http://127.0.0.1:${await freePort()}` }), {
        egress: testEgress,
      }),
      fails(TransientError, undefined, /could not be reached \(ECONNREFUSED\)/),
    );
  });

  test('an endpoint that never answers is transient, within the bound', async () => {
    const endpoint = await fakeServer(() => undefined);
    const started = performance.now();
    await assert.rejects(
      probeBucket(await target({ endpoint }), { egress: testEgress, timeoutMs: 300 }),
      fails(TransientError, undefined, /no answer within 300 ms/),
    );
    assert.ok(performance.now() - started < 3000, 'bounded');
  });

  test('503 SlowDown is rate limiting (429, retried)', async () => {
    const endpoint = await fakeServer((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end(
        '<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
      );
    });
    await assert.rejects(
      probeBucket(await target({ endpoint }), { egress: testEgress }),
      fails(RateLimitedError, undefined, /asked to slow down/),
    );
  });

  test('a 500 is transient', async () => {
    const endpoint = await fakeServer((_req, res) => {
      res.writeHead(500);
      res.end();
    });
    await assert.rejects(
      probeBucket(await target({ endpoint }), { egress: testEgress }),
      fails(TransientError, undefined, /the server failed \(HTTP 500/),
    );
  });

  test('a 404 without an S3 error code is S3EndpointInvalid', async () => {
    const endpoint = await fakeServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<html>not here</html>');
    });
    await assert.rejects(
      probeBucket(await target({ endpoint }), { egress: testEgress }),
      fails(PermanentError, 'S3EndpointInvalid', /answered 404 without an S3 error code/),
    );
  });

  test('a 403 AccessDenied (no permission on the bucket) is S3AccessDenied', async () => {
    const endpoint = await fakeServer((req, res) => {
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end(
        req.method === 'HEAD'
          ? undefined
          : '<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>',
      );
    });
    await assert.rejects(
      probeBucket(await target({ endpoint }), { egress: testEgress }),
      fails(PermanentError, 'S3AccessDenied', /access was denied \(AccessDenied\).*s3:ListBucket/),
    );
  });
});

describe('endpointProblem', () => {
  const cases = [
    ['https://s3.eu-west-1.amazonaws.com', undefined],
    ['http://minio.storage.svc:9000', undefined],
    ['minio:9000', /must start with http/],
    ['not a url', /is neither an absolute URL nor a bare host/],
    ['ftp://host', /must start with http:\/\/ or https:\/\/$/],
    ['https://user:pass@host', /must not carry credentials/],
    ['https://host/?x=1', /must not have a query/],
  ] as const;
  for (const [value, expected] of cases) {
    test(`${value}: ${expected ? 'refused' : 'accepted'}`, () => {
      const problem = endpointProblem(value);
      if (expected) assert.match(problem ?? '', expected);
      else assert.equal(problem, undefined);
      if (problem) assert.ok(!problem.includes('pass@'), 'never quotes the value');
    });
  }
});

describe('normaliseEndpoint', () => {
  const cases = [
    ['s3.amazonaws.com', 'https://s3.amazonaws.com', true],
    ['minio.storage.svc:9000', 'https://minio.storage.svc:9000', true],
    ['10.0.0.5:9000/s3', 'https://10.0.0.5:9000/s3', true],
    ['[fd00::5]:9000', 'https://[fd00::5]:9000', true],
    ['http://minio:9000', 'http://minio:9000', false],
    ['https://s3.eu-west-1.amazonaws.com', 'https://s3.eu-west-1.amazonaws.com', false],
    ['ftp://host', 'ftp://host', false],
    ['user:pass@host', 'user:pass@host', false],
    ['not a url', 'not a url', false],
    ['host?x=1', 'host?x=1', false],
  ] as const;
  for (const [value, endpoint, schemeAssumed] of cases) {
    test(`${value} → ${endpoint}`, () => {
      assert.deepEqual(normaliseEndpoint(value), { endpoint, schemeAssumed });
    });
  }
  test('what is left unchanged is still judged by endpointProblem', () => {
    for (const value of ['ftp://host', 'user:pass@host', 'not a url', 'host?x=1'])
      assert.ok(endpointProblem(normaliseEndpoint(value).endpoint), value);
  });
});
