/**
 * Starts the servers of an embedded environment in parallel: kube-apiserver + etcd, then the
 * controllers and kwok's Nodes; PostgreSQL; the S3 server. Used by the tests' global setup
 * (test/env/global-setup.ts) and by `npm start` without a cluster (environment.ts).
 *
 * A part that cannot start does not stop the others: each part's outcome is reported, so the
 * tests can still run what needs only the parts that started. The caller decides.
 */
import { join } from 'node:path';
import { resolveAssets, type ResolveAssetsOptions } from './assets.ts';
import { startCluster, type ClusterEnvironment } from './cluster.ts';
import type { CrdManifest } from './crd.ts';
import { startKube, type KubeEnvironment, type StartKubeOptions } from './kube.ts';
import { startPostgres, type PostgresEnvironment, type StartPostgresOptions } from './postgres.ts';
import { startS3, type S3Environment } from './s3.ts';

/** A part that started, or why it did not; `line` says which, with its start time. */
export type Outcome<T> =
  | { readonly ok: true; readonly value: T; readonly line: string }
  | { readonly ok: false; readonly error: Error; readonly line: string };

/** What startServers started. */
export interface StartedServers {
  readonly kube: Outcome<KubeEnvironment>;
  /** The controllers and kwok's Nodes; they need the API server. */
  readonly cluster: Outcome<ClusterEnvironment>;
  readonly postgres: Outcome<PostgresEnvironment>;
  readonly s3: Outcome<S3Environment>;
  /** Stops every part that started (the controllers first) and waits until each has exited. */
  stop(): Promise<void>;
}

/** Options of startServers. */
export interface StartServersOptions {
  /** The repository root (scripts/envtest-assets.sh). */
  readonly repoRoot: string;
  /**
   * An empty scratch directory that every user can traverse (PostgreSQL runs as `nobody`
   * when this process runs as root); each part gets a folder in it.
   */
  readonly workDir: string;
  /** Installed before the controller-manager starts (its garbage collector learns them then). */
  readonly crds: readonly CrdManifest[];
  readonly kube?: StartKubeOptions;
  readonly postgres?: StartPostgresOptions;
  /** Build progress, cancellation, and who needs the binaries (for the error message). */
  readonly assets?: ResolveAssetsOptions;
  /** Receives each part's `line` as soon as it has started or failed. */
  readonly onPart?: (line: string) => void;
}

/** A promise that is awaited later must not be reported as unhandled meanwhile. */
function later<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Starts the four parts in parallel, as far as their dependencies allow.
 * @param options - where, which CRDs, and where progress goes
 * @returns each part's outcome and one stop for all
 */
export async function startServers(options: StartServersOptions): Promise<StartedServers> {
  const { repoRoot, workDir: dir } = options;
  const stoppers: (() => Promise<void>)[] = [];
  /** Stopped before the others: with the API server gone they would only retry and log. */
  const clusterStoppers: (() => Promise<void>)[] = [];
  const assets = (part: 'kube' | 'controllers' | 'kwok' | 's3') =>
    resolveAssets(repoRoot, part, options.assets);

  async function timed<T extends { stop(): Promise<void> }>(
    name: string,
    start: () => Promise<T>,
    settings: { detail?: (running: T) => string; stopList?: (() => Promise<void>)[] } = {},
  ): Promise<Outcome<T>> {
    const began = performance.now();
    let outcome: Outcome<T>;
    try {
      const running = await start();
      (settings.stopList ?? stoppers).push(() => running.stop());
      const ms = Math.round(performance.now() - began);
      const more = settings.detail?.(running) ?? '';
      outcome = {
        ok: true,
        value: running,
        line: `${name} ready in ${ms} ms${more ? ` (${more})` : ''}`,
      };
    } catch (caught) {
      const error = asError(caught);
      outcome = { ok: false, error, line: `${name} FAILED: ${error.message}` };
    }
    options.onPart?.(outcome.line);
    return outcome;
  }

  const kubeAssets = later(assets('kube'));
  // The controllers' binaries are found (or built) while the API server starts; they start
  // once it is ready, in parallel with each other. On a first run the controllers are built
  // after the API server, whose packages they mostly share (two builds of the same packages
  // at once would only compete for the cores); kwok, whose own go.mod picks other versions
  // of its modules, shares little with them and is built meanwhile.
  const clusterAssets = later(
    Promise.all([
      kubeAssets.then(
        () => assets('controllers'),
        () => assets('controllers'),
      ),
      assets('kwok'),
    ]),
  );
  const kubeStarted = later(
    (async (): Promise<KubeEnvironment> =>
      startKube(await kubeAssets, join(dir, 'kube'), options.kube))(),
  );
  let apiServerReadyAt = 0;
  const [kube, cluster, postgres, s3] = await Promise.all([
    timed('kube-apiserver', async (): Promise<KubeEnvironment> => {
      const running = await kubeStarted;
      apiServerReadyAt = performance.now();
      return running;
    }),
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
        // The garbage collector learns resource types at start (then every 30 s): the CRDs
        // are there first, so objects a custom resource owns are collected at once.
        return startCluster({ controllersDir, kwokDir }, running, join(dir, 'cluster'), {
          crds: options.crds,
        });
      },
      {
        detail: ({ timings }) =>
          `${String(Math.round(performance.now() - apiServerReadyAt))} ms after the API server: ${timings}`,
        stopList: clusterStoppers,
      },
    ),
    timed('PostgreSQL', (): Promise<PostgresEnvironment> =>
      startPostgres(join(dir, 'postgres'), options.postgres),
    ),
    timed('S3', async (): Promise<S3Environment> => startS3(await assets('s3'), join(dir, 's3'))),
  ]);
  return {
    kube,
    cluster,
    postgres,
    s3,
    async stop() {
      await Promise.allSettled(clusterStoppers.map((stop) => stop()));
      await Promise.allSettled(stoppers.map((stop) => stop()));
    },
  };
}
