/**
 * End to end, scenario 7: the API server restarts in the middle of a reconciliation. The
 * shared test API server must stay up for the other test files, so this file starts a cluster
 * of its own with the same starters (kube-apiserver + etcd, kube-controller-manager,
 * kube-scheduler, kwok's simulated Nodes: the project must reach Running, which needs Ready
 * Pods), and the shared test PostgreSQL and S3 server. The local runtime reconciles it; as
 * init-db replies, the kube-apiserver process is stopped and started again (same etcd, port
 * and certificates). The phases that meet the outage answer 5xx and the broker retries them;
 * the ApiServerSource's watches end and are opened again (counted), and every Deployment
 * change made after the restart still reaches health-aggregate: the project converges to
 * Running, Ready for its generation.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { FUNCTIONS } from '../../functions/index.ts';
import { API_GROUP_VERSION, KIND } from '../../shared/api/group-version.ts';
import { supabaseProjectCrd } from '../../shared/api/index.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { startLocalRuntime, type LocalRuntime } from '../../shared/local/run-local.ts';
import { PROJECT_RESOURCE } from '../../shared/reconcile/project-store.ts';
import { startCluster, type ClusterEnvironment } from '../env/cluster.ts';
import { freshBucket, freshDatabase, postgresConnection, s3Connection } from '../env/index.ts';
import { resolveAssets, startKube, type KubeEnvironment } from '../env/kube.ts';
import { LOOPBACK_ALLOWED_ENV } from '../fixtures/egress.ts';
import { waitForProjectAt } from './cluster-support.ts';
import { isRunningAndReady, waitFor } from './support.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');
const namespace = 'e2e-restart';

let workDir: string;
let kube: KubeEnvironment | undefined;
let cluster: ClusterEnvironment | undefined;
let runtime: LocalRuntime | undefined;
const lines: string[] = [];
/** The restart, started when init-db replies (from the runtime's printed line). */
let restart: Promise<void> | undefined;
/** The source's counts just before the restart. */
let beforeRestart: { rewatches: number; relists: number } | undefined;

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'sbr-e2e-restart-'));
  const [kubeAssets, controllersDir, kwokDir] = await Promise.all([
    resolveAssets(repoRoot, 'kube'),
    resolveAssets(repoRoot, 'controllers'),
    resolveAssets(repoRoot, 'kwok'),
  ]);
  kube = await startKube(kubeAssets, join(workDir, 'kube'), { clusterName: 'e2e-restart' });
  cluster = await startCluster({ controllersDir, kwokDir }, kube, join(workDir, 'cluster'), {
    crds: [supabaseProjectCrd()],
  });
  await createProjectOnPrivateCluster(kube.kubeconfigPath);
  runtime = await startLocalRuntime({
    functions: FUNCTIONS,
    env: { PATH: process.env.PATH, LOG_LEVEL: 'error', ...LOOPBACK_ALLOWED_ENV },
    kubeconfigPath: kube.kubeconfigPath,
    stateDir: join(workDir, 'state'),
    print: (line) => {
      lines.push(line);
      if (
        !restart &&
        line.includes(` init-db `) &&
        line.includes(CHAIN_EVENT.databaseInitialized)
      ) {
        beforeRestart = { ...countsOf(runtime) };
        restart = kube?.restartApiServer();
      }
    },
    namespaces: [namespace],
    resyncIntervalMs: 3600_000,
    drainTimeoutMs: 10_000,
  });
});

after(async () => {
  await restart?.catch(() => undefined);
  await runtime?.stop();
  await cluster?.stop();
  await kube?.stop();
  await rm(workDir, { recursive: true, force: true });
});

function countsOf(local: LocalRuntime | undefined): { rewatches: number; relists: number } {
  return {
    rewatches: local?.source.counts.rewatches ?? 0,
    relists: local?.source.counts.relists ?? 0,
  };
}

/**
 * The namespace, the database and S3 Secrets (the shared test PostgreSQL and S3 server) and
 * the project `demo`, on the private cluster; the project is created before the runtime
 * starts, so the source announces it as `add` on its first list.
 */
async function createProjectOnPrivateCluster(kubeconfigPath: string): Promise<void> {
  const config = new KubeConfig();
  config.loadFromFile(kubeconfigPath);
  const core = config.makeApiClient(CoreV1Api);
  const customObjects = config.makeApiClient(CustomObjectsApi);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  // Pods are refused until the namespace's default ServiceAccount exists.
  await waitFor(`the default ServiceAccount of ${namespace}`, () =>
    core.readNamespacedServiceAccount({ namespace, name: 'default' }).then(
      () => true,
      () => false,
    ),
  );
  const pgEnv = postgresConnection();
  const s3 = s3Connection();
  const secret = async (name: string, values: Record<string, string>) => {
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name }, type: 'Opaque', stringData: values },
    });
  };
  await secret('demo-db', {
    host: pgEnv.host,
    port: String(pgEnv.port),
    database: (await freshDatabase('e2e_restart')).database,
    username: pgEnv.user,
    password: pgEnv.password,
  });
  await secret('demo-s3', {
    endpoint: s3.endpoint,
    region: s3.region,
    bucket: await freshBucket('e2e-restart'),
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  });
  await customObjects.createNamespacedCustomObject({
    ...PROJECT_RESOURCE,
    namespace,
    body: {
      apiVersion: API_GROUP_VERSION,
      kind: KIND,
      metadata: { name: 'demo' },
      spec: {
        projectId: 'demo',
        database: { secretRef: { name: 'demo-db' }, sslMode: 'disable' },
        storage: { secretRef: { name: 'demo-s3' } },
      },
    },
  });
}

test('the API server restarted mid-chain: watches recover, the project still converges', async () => {
  assert.ok(kube && runtime);
  const key = { namespace, name: 'demo' };
  await waitFor('init-db to reply (the restart starts then)', () =>
    Promise.resolve(restart !== undefined),
  );
  await restart;

  const running = await waitForProjectAt(kube.kubeconfigPath, key, isRunningAndReady, 120_000);
  assert.equal(running.status?.observedGeneration, 1);
  assert.equal(running.status.componentsReady, '7/7');

  // The watches ended with the old process and were opened again on the new one.
  const after = countsOf(runtime);
  assert.ok(beforeRestart, 'counts taken before the restart');
  assert.ok(
    after.rewatches > beforeRestart.rewatches,
    `rewatches ${String(beforeRestart.rewatches)} -> ${String(after.rewatches)}`,
  );

  // The chain went on after the restart. validate-deps and init-db replied once, before it;
  // the phases after it may have been retried (at-least-once delivery) and replied.
  const mine = lines.filter((l) => l.includes(`${namespace}/demo `));
  const replies = (fn: string, reply: string) =>
    mine.filter((l) => l.includes(` ${fn} `) && l.includes(`→ ${reply}`)).length;
  assert.equal(replies('validate-deps', CHAIN_EVENT.dependenciesValidated), 1, mine.join('\n'));
  assert.equal(replies('init-db', CHAIN_EVENT.databaseInitialized), 1, mine.join('\n'));
  assert.ok(replies('secrets', CHAIN_EVENT.secretsReady) >= 1, mine.join('\n'));
  assert.ok(replies('deploy-components', CHAIN_EVENT.componentsDeployed) >= 1, mine.join('\n'));
});
