/**
 * The embedded environment of `npm start` without a cluster (shared/local/embedded): started
 * once in a scratch state folder, next to the tests' own environment. It installs the CRD,
 * creates the demo project with Secrets whose credentials really open its PostgreSQL (over
 * TLS, as the project's default sslMode requires) and its S3 bucket, writes a kubeconfig
 * that reaches its API server, and says what it does one line per part. stop() leaves no
 * process it started and no port it listened on. (Linux: the processes are found in /proc.)
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type V1Secret,
} from '@kubernetes/client-node';
import pg from 'pg';
import { PROJECT_RESOURCE } from '../../shared/reconcile/project-store.ts';
import {
  startEmbeddedEnvironment,
  type EmbeddedEnvironment,
} from '../../shared/local/embedded/index.ts';

let stateDir: string;
let environment: EmbeddedEnvironment | undefined;
const lines: string[] = [];
/** This process's children before the start (tsx's esbuild service), which are not its. */
let baseline: ReadonlySet<number>;

before(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'sbr-embedded-state-'));
  baseline = new Set((await descendants()).keys());
  environment = await startEmbeddedEnvironment({ stateDir, log: (line) => lines.push(line) });
});

after(async () => {
  await environment?.stop();
  await rm(stateDir, { recursive: true, force: true });
});

function running(): EmbeddedEnvironment {
  assert.ok(environment, 'the embedded environment did not start');
  return environment;
}

function clients() {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(running().kubeconfigPath);
  return {
    kubeConfig,
    core: kubeConfig.makeApiClient(CoreV1Api),
    apiExtensions: kubeConfig.makeApiClient(ApiextensionsV1Api),
    customObjects: kubeConfig.makeApiClient(CustomObjectsApi),
  };
}

function decoded(secret: V1Secret): Record<string, string> {
  return Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([key, value]) => [
      key,
      Buffer.from(value, 'base64').toString('utf8'),
    ]),
  );
}

/** A demo Secret's values; a missing key fails the test. */
async function readSecret(name: string, keys: readonly string[]): Promise<Record<string, string>> {
  const values = decoded(await clients().core.readNamespacedSecret({ namespace: 'demo', name }));
  assert.deepEqual(Object.keys(values).sort(), [...keys].sort());
  return values;
}

function valueOf(values: Record<string, string>, key: string): string {
  const value = values[key];
  assert.ok(value, `key ${key}`);
  return value;
}

/** Every running process below this one (the test file's own process), from /proc. */
async function descendants(): Promise<Map<number, string>> {
  const parents = new Map<number, number[]>();
  const names = new Map<number, string>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const text = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid ...: comm may hold spaces and parentheses; split after the last ')'.
    const close = text.lastIndexOf(')');
    if (close < 0) continue;
    const [state, ppid] = text.slice(close + 2).split(' ');
    if (state === 'Z') continue;
    const pid = Number(entry);
    names.set(pid, text.slice(text.indexOf('(') + 1, close));
    const siblings = parents.get(Number(ppid)) ?? [];
    siblings.push(pid);
    parents.set(Number(ppid), siblings);
  }
  const found = new Map<number, string>();
  const queue = [process.pid];
  while (queue.length > 0) {
    for (const child of parents.get(queue.shift() ?? 0) ?? []) {
      found.set(child, names.get(child) ?? '?');
      queue.push(child);
    }
  }
  return found;
}

/** The processes below this one that were not there before the start. */
async function started(): Promise<Map<number, string>> {
  const all = await descendants();
  for (const pid of baseline) all.delete(pid);
  // tsx may start its esbuild service again during the test (seen in CI): the test file's
  // own child, never one the environment starts.
  for (const [pid, name] of all) if (name === 'esbuild') all.delete(pid);
  return all;
}

/** The TCP ports the given processes listen on, from their sockets in /proc. */
async function listeningPorts(pids: Iterable<number>): Promise<Set<number>> {
  const inodes = new Set<string>();
  for (const pid of pids) {
    const fds = await readdir(`/proc/${String(pid)}/fd`).catch(() => []);
    for (const fd of fds) {
      const target = await readlink(`/proc/${String(pid)}/fd/${fd}`).catch(() => '');
      const match = /^socket:\[(\d+)\]$/.exec(target);
      if (match?.[1]) inodes.add(match[1]);
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const rows = (await readFile(table, 'utf8').catch(() => '')).split('\n').slice(1);
    for (const row of rows) {
      const columns = row.trim().split(/\s+/);
      // local_address is column 1 (hex ip:port), st column 3 (0A = LISTEN), inode column 9.
      const [, local, , st, , , , , , inode] = columns;
      if (st === '0A' && inode && inodes.has(inode) && local) {
        ports.add(parseInt(local.split(':')[1] ?? '0', 16));
      }
    }
  }
  return ports;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => {
      resolve(false);
    });
    server.listen({ host: '127.0.0.1', port }, () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

test('it says what it starts, one line per part, and that kwok simulates the Pods', () => {
  running();
  for (const part of ['kube-apiserver', 'controllers', 'PostgreSQL', 'S3']) {
    assert.equal(
      lines.filter((line) => line.startsWith(`${part} ready in `)).length,
      1,
      `one line for ${part}:\n${lines.join('\n')}`,
    );
  }
  assert.ok(
    lines.some((line) => /simulated by kwok.*no container runs/.test(line)),
    lines.join('\n'),
  );
  assert.ok(lines.every((line) => !line.includes('\n')));
});

test('the kubeconfig in the state folder is the administrator of the embedded API server, on loopback', async () => {
  const env = running();
  assert.equal(env.kubeconfigPath, join(stateDir, 'kubeconfig'));
  // It holds a bearer token: readable by its owner only.
  assert.equal((await stat(env.kubeconfigPath)).mode & 0o777, 0o600);
  const { kubeConfig, core } = clients();
  assert.equal(kubeConfig.getCurrentCluster()?.server, env.endpoints.apiServer);
  assert.match(env.endpoints.apiServer, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.deepEqual(env.egressAllow, ['127.0.0.0/8']);
  const nodes = await core.listNode();
  assert.ok(nodes.items.length >= 1, 'kwok Nodes');
});

test('the CRD is installed and the demo project exists, as the example manifest declares it', async () => {
  const env = running();
  const { apiExtensions, customObjects } = clients();
  const crd = await apiExtensions.readCustomResourceDefinition({
    name: 'supabaseprojects.supabase.reconciler.dev',
  });
  assert.ok(crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'));
  assert.equal(env.namespace, 'demo');
  assert.equal(env.project, 'demo');
  const project = (await customObjects.getNamespacedCustomObject({
    ...PROJECT_RESOURCE,
    namespace: 'demo',
    name: 'demo',
  })) as {
    spec: {
      database: { secretRef: { name: string }; sslMode: string };
      storage: { secretRef: { name: string } };
    };
  };
  assert.equal(project.spec.database.secretRef.name, 'demo-db');
  assert.equal(project.spec.storage.secretRef.name, 'demo-s3');
  // Applied as it is: the defaults of the schema, e.g. TLS required to the database.
  assert.equal(project.spec.database.sslMode, 'require');
});

test('the database Secret opens a fresh database of the embedded PostgreSQL, as superuser, over TLS', async () => {
  const values = await readSecret('demo-db', [
    'host',
    'port',
    'database',
    'username',
    'password',
    'ca.crt',
  ]);
  const host = valueOf(values, 'host');
  assert.equal(host, '127.0.0.1');
  assert.equal(`${host}:${valueOf(values, 'port')}`, running().endpoints.postgres);
  const client = new pg.Client({
    host,
    port: Number(valueOf(values, 'port')),
    database: valueOf(values, 'database'),
    user: valueOf(values, 'username'),
    password: valueOf(values, 'password'),
    // verify-full against the Secret's ca.crt: the certificate names 127.0.0.1.
    ssl: { ca: valueOf(values, 'ca.crt'), rejectUnauthorized: true },
  });
  await client.connect();
  try {
    const { rows } = await client.query<{ db: string; superuser: boolean; ssl: boolean }>(
      `SELECT current_database() AS db, rolsuper AS superuser,
              (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl
         FROM pg_roles WHERE rolname = current_user`,
    );
    assert.deepEqual(rows, [{ db: values.database, superuser: true, ssl: true }]);
    // Fresh: no schema of the reconciler's yet.
    const tables = await client.query(
      `SELECT 1 FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')`,
    );
    assert.equal(tables.rowCount, 0);
  } finally {
    await client.end();
  }
});

test('the storage Secret opens a bucket of the embedded S3 server', async () => {
  const values = await readSecret('demo-s3', [
    'endpoint',
    'region',
    'bucket',
    'accessKeyId',
    'secretAccessKey',
  ]);
  assert.equal(values.endpoint, running().endpoints.s3);
  const bucket = valueOf(values, 'bucket');
  const client = new S3Client({
    endpoint: valueOf(values, 'endpoint'),
    region: valueOf(values, 'region'),
    forcePathStyle: true,
    credentials: {
      accessKeyId: valueOf(values, 'accessKeyId'),
      secretAccessKey: valueOf(values, 'secretAccessKey'),
    },
  });
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'probe.txt', Body: 'hello' }));
  } finally {
    client.destroy();
  }
});

test('an aborted start rejects with the reason and starts nothing', async () => {
  const before = await started();
  const reason = new Error('Ctrl-C');
  await assert.rejects(
    startEmbeddedEnvironment({
      stateDir: join(stateDir, 'aborted'),
      log: () => undefined,
      signal: AbortSignal.abort(reason),
    }),
    (error) => error === reason,
  );
  assert.deepEqual(await started(), before);
});

test('stop() ends every process it started, frees their ports and removes the kubeconfig', async () => {
  const env = running();
  const processes = await started();
  const names = [...processes.values()];
  for (const name of ['etcd', 'kube-apiserver', 'kube-controller', 'kube-scheduler', 'kwok']) {
    assert.ok(
      names.some((n) => n.startsWith(name)),
      `${name} among ${names.join(', ')}`,
    );
  }
  assert.ok(names.includes('postgres') && names.includes('versitygw'), names.join(', '));
  const ports = await listeningPorts(processes.keys());
  // etcd (client and peer), kube-apiserver, PostgreSQL, versitygw, the controllers, kwok.
  assert.ok(ports.size >= 6, `listening ports ${[...ports].join(', ')}`);

  await env.stop();

  const left = [...processes.keys()].filter((pid) => existsSync(`/proc/${String(pid)}/stat`));
  const stillRunning = await started();
  assert.deepEqual(
    [...stillRunning.entries()],
    [],
    `still running: ${left.map((pid) => `${String(pid)} ${processes.get(pid) ?? ''}`).join(', ')}`,
  );
  for (const port of ports) assert.ok(await portFree(port), `port ${String(port)} still in use`);
  assert.equal(existsSync(env.kubeconfigPath), false);
  // A second stop is harmless.
  await env.stop();
});
