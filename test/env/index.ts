/**
 * What test files use of the test environment: connections to the real kube-apiserver (with
 * controllers and simulated Nodes), PostgreSQL, S3 server and an in-process OTLP receiver,
 * plus isolation helpers (a fresh namespace per test, a fresh database per test file, a
 * bucket per test) and workload helpers (rollouts, Pod readiness).
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { kube } from './clients.ts';
import { installCrd, type CrdManifest } from './crd.ts';
import { startPostgres, type PostgresConnection, type PostgresEnvironment } from './postgres.ts';
export { TEST_SUPERUSER } from './postgres.ts';
import type { S3Connection } from './s3.ts';
import { readState, requirePart } from './state.ts';

export { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver.ts';
export { clusterConnection, kube, kubeConnection, type KubeClients } from './clients.ts';
export type { CrdManifest } from './crd.ts';
export {
  setPodsReady,
  waitForDefaultServiceAccount,
  waitForDeletion,
  waitForRollout,
} from './workloads.ts';

/** A short random suffix that keeps names unique across tests and runs. */
export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

/**
 * Creates a namespace no other test uses.
 * @param prefix - readable start of the name (lower-case DNS label characters)
 * @returns the namespace name
 */
export async function freshNamespace(prefix = 't'): Promise<string> {
  const name = `${prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 40)}-${uniqueSuffix()}`;
  await kube().core.createNamespace({
    body: { metadata: { name, labels: { 'supabase-reconciler.dev/test': 'true' } } },
  });
  return name;
}

/**
 * Installs (server-side applies) a CRD and waits until the API server reports it
 * Established, so its resources can be used at once. Idempotent, so test files running
 * in parallel may all apply the same CRD.
 */
export async function applyCrd(crd: CrdManifest, timeoutMs = 30_000): Promise<void> {
  await installCrd(kube().apiExtensions, crd, timeoutMs);
}

/** The PostgreSQL superuser connection. @throws Error saying why it is missing */
export function postgresConnection(): PostgresConnection {
  return requirePart('PostgreSQL', readState().postgres);
}

/**
 * Creates a database no other test file uses.
 * @returns the superuser connection, pointed at the new database
 */
export async function freshDatabase(prefix = 't'): Promise<PostgresConnection> {
  const base = postgresConnection();
  const database = `${prefix
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 40)}_${uniqueSuffix()}`;
  const client = new pg.Client({ ...base });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${database}`);
  } finally {
    await client.end();
  }
  return { ...base, database };
}

/**
 * A PostgreSQL server of the calling test file's own, for tests of what belongs to a whole
 * server (Supabase's login roles and their passwords, roles created by a non-superuser on a
 * fresh server), so that no other test file sees or disturbs it. Starts in about 2 s;
 * `stop()` it in an `after` hook.
 */
export async function privatePostgres(): Promise<PostgresEnvironment> {
  const dir = await mkdtemp(join(tmpdir(), 'sbr-private-pg-'));
  // PostgreSQL runs as another user when the tests run as root (see postgres.ts).
  await chmod(dir, 0o755);
  const server = await startPostgres(join(dir, 'postgres'));
  return {
    ...server,
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The S3 server connection. @throws Error saying why it is missing */
export function s3Connection(): S3Connection {
  return requirePart('the S3 server', readState().s3);
}

/** An S3 client for the test server (path-style addressing). */
export function s3Client(credentials?: { accessKeyId: string; secretAccessKey: string }): S3Client {
  const s3 = s3Connection();
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: credentials ?? {
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    },
  });
}

/**
 * Creates a bucket no other test uses.
 * @returns the bucket name
 */
export async function freshBucket(prefix = 't'): Promise<string> {
  const bucket = `${prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 40)}-${uniqueSuffix()}`;
  const client = s3Client();
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    client.destroy();
  }
  return bucket;
}
