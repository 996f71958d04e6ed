/**
 * Global setup of `npm test` (node --test-global-setup): starts one kube-apiserver + etcd
 * with a controller-manager, a scheduler and kwok's simulated Nodes, one PostgreSQL and one
 * S3-protocol server for the whole run, shared by every test file, and stops them afterwards.
 * Test files isolate themselves with a fresh namespace, database or bucket (see
 * test/env/index.ts).
 *
 * A part that cannot start does not abort the run: its error is recorded, and each test that
 * needs it fails with that message (what to install or set). Tests that need nothing still run.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { supabaseProjectCrd } from '../../shared/api/index.ts';
import { startCluster, type ClusterEnvironment } from './cluster.ts';
import { resolveAssets, startKube, type KubeEnvironment } from './kube.ts';
import { startPostgres, type PostgresEnvironment } from './postgres.ts';
import { startS3, type S3Environment } from './s3.ts';
import { STATE_FILE_VARIABLE, type EnvironmentState, type Part } from './state.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');

let workDir: string | undefined;
const stoppers: (() => Promise<void>)[] = [];
/** Stopped before the others: with the API server gone they would only retry and log. */
const clusterStoppers: (() => Promise<void>)[] = [];

async function timed<T extends { stop(): Promise<void> }, C>(
  name: string,
  start: () => Promise<T>,
  connection: (running: T) => C,
  options: { detail?: (running: T) => string; stopList?: (() => Promise<void>)[] } = {},
): Promise<{ part: Part<C>; line: string }> {
  const began = performance.now();
  try {
    const running = await start();
    (options.stopList ?? stoppers).push(() => running.stop());
    const ms = Math.round(performance.now() - began);
    const more = options.detail?.(running) ?? '';
    return {
      part: { ok: true, value: connection(running) },
      line: `${name} ready in ${ms} ms${more ? ` (${more})` : ''}`,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { part: { ok: false, error: message }, line: `${name} FAILED: ${message}` };
  }
}

/** A promise that is awaited later must not be reported as unhandled meanwhile. */
function later<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** Starts the environment and publishes its connections to the test files. */
export async function globalSetup(): Promise<void> {
  const began = performance.now();
  workDir = await mkdtemp(join(tmpdir(), 'sbr-test-env-'));
  // PostgreSQL runs as the `postgres` system user when the tests run as root; it must be
  // able to reach its data directory below this one (mkdtemp creates it 0700).
  await chmod(workDir, 0o755);
  const dir = workDir;
  const kubeAssets = later(resolveAssets(repoRoot, 'kube'));
  // The controllers' binaries are found (or built) while the API server starts; they start
  // once it is ready, in parallel with each other. On a first run the controllers are built
  // after the API server, whose packages they mostly share (two builds of the same packages
  // at once would only compete for the cores); kwok, whose own go.mod picks other versions
  // of its modules, shares little with them and is built meanwhile.
  const clusterAssets = later(
    Promise.all([
      kubeAssets.then(
        () => resolveAssets(repoRoot, 'controllers'),
        () => resolveAssets(repoRoot, 'controllers'),
      ),
      resolveAssets(repoRoot, 'kwok'),
    ]),
  );
  const kubeStarted = later(
    (async (): Promise<KubeEnvironment> => startKube(await kubeAssets, join(dir, 'kube')))(),
  );
  let apiServerReadyAt = 0;
  const [kube, cluster, postgres, s3] = await Promise.all([
    timed(
      'kube-apiserver',
      async (): Promise<KubeEnvironment> => {
        const running = await kubeStarted;
        apiServerReadyAt = performance.now();
        return running;
      },
      ({ server, caPem, adminToken, kubeconfigPath }) => ({
        server,
        caPem,
        adminToken,
        kubeconfigPath,
      }),
    ),
    timed(
      'controllers',
      async (): Promise<ClusterEnvironment> => {
        const running = await kubeStarted.catch((error: unknown) => {
          const reason = error instanceof Error ? error.message : String(error);
          throw new Error(`they need the Kubernetes API server, which did not start: ${reason}`, {
            cause: error,
          });
        });
        const [controllersDir, kwokDir] = await clusterAssets;
        // The garbage collector learns resource types at start (then every 30 s): the
        // SupabaseProject CRD is there first, so objects a project owns are collected at once.
        return startCluster({ controllersDir, kwokDir }, running, join(dir, 'cluster'), {
          crds: [supabaseProjectCrd()],
        });
      },
      ({ nodeNames }) => ({ nodeNames }),
      {
        detail: ({ timings }) =>
          `${String(Math.round(performance.now() - apiServerReadyAt))} ms after the API server: ${timings}`,
        stopList: clusterStoppers,
      },
    ),
    timed(
      'PostgreSQL',
      (): Promise<PostgresEnvironment> => startPostgres(join(dir, 'postgres')),
      ({ host, port, user, password, database }) => ({ host, port, user, password, database }),
    ),
    timed(
      'S3',
      async (): Promise<S3Environment> => {
        const assets = await resolveAssets(repoRoot, 's3');
        return startS3(assets, join(dir, 's3'));
      },
      ({ endpoint, region, accessKeyId, secretAccessKey }) => ({
        endpoint,
        region,
        accessKeyId,
        secretAccessKey,
      }),
    ),
  ]);
  const state: EnvironmentState = {
    kube: kube.part,
    cluster: cluster.part,
    postgres: postgres.part,
    s3: s3.part,
  };
  const stateFile = join(dir, 'state.json');
  await writeFile(stateFile, JSON.stringify(state), { mode: 0o600 });
  process.env[STATE_FILE_VARIABLE] = stateFile;
  const total = Math.round(performance.now() - began);
  process.stderr.write(
    `test environment (started in parallel, ${total} ms in all): ${kube.line}; ${cluster.line}; ${postgres.line}; ${s3.line}\n`,
  );
}

/** Stops what globalSetup started and removes its scratch directory. */
export async function globalTeardown(): Promise<void> {
  await Promise.allSettled(clusterStoppers.map((stop) => stop()));
  await Promise.allSettled(stoppers.map((stop) => stop()));
  if (workDir && !process.env.SBR_TEST_KEEP_ENV)
    await rm(workDir, { recursive: true, force: true });
}
