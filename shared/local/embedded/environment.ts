/**
 * The embedded environment of `npm start` without a cluster: the real parts the tests use
 * (kube-apiserver + etcd, kube-controller-manager + kube-scheduler, kwok's simulated Nodes,
 * PostgreSQL, an S3 server), started in parallel, with the CRD installed and a demo project
 * applied, and an administrator's kubeconfig written for kubectl.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDemoProject, DEMO_MANIFEST, DEMO_NAMESPACE, readCrds } from './demo.ts';
import { serverFileOwner } from './postgres.ts';
import { startServers, type StartedServers } from './servers.ts';
import { makeServerCertificate } from './tls.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The file name of the kubeconfig in the state directory. */
export const KUBECONFIG_FILE = 'kubeconfig';

/** Options of startEmbeddedEnvironment. */
export interface EmbeddedOptions {
  /** Where the kubeconfig is written (created if missing); the servers' data go elsewhere. */
  readonly stateDir: string;
  /** Receives one progress line per part, and the builds' progress on a first run. */
  readonly log: (line: string) => void;
  /** Abandons the start: what started is stopped, and the promise rejects. */
  readonly signal?: AbortSignal;
}

/** A running embedded environment. */
export interface EmbeddedEnvironment {
  /** `<stateDir>/kubeconfig`: the administrator (system:masters) of the embedded API server. */
  readonly kubeconfigPath: string;
  /** The namespace of the demo project. */
  readonly namespace: typeof DEMO_NAMESPACE;
  /** The demo SupabaseProject's name (from the example manifest). */
  readonly project: string;
  /**
   * Where the servers listen: all on loopback, which the reconciler's egress policy refuses
   * by default. The runtime must allow these ranges (EGRESS_ALLOW) for the demo to converge.
   */
  readonly egressAllow: readonly string[];
  /** The servers' addresses, for the user (no credentials). */
  readonly endpoints: {
    readonly apiServer: string;
    /** `host:port` */
    readonly postgres: string;
    readonly s3: string;
  };
  /**
   * Stops every process it started and waits until each has exited, then removes the servers'
   * data and the kubeconfig. Idempotent.
   */
  stop(): Promise<void>;
}

/** The ranges the embedded servers listen in. */
const LOOPBACK = ['127.0.0.0/8'] as const;

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : new Error('the embedded environment was stopped while it started');
}

/**
 * Starts the embedded environment. Binaries missing from the cache are built first (minutes,
 * once; see scripts/envtest-assets.sh).
 * @param options - the state directory, where progress goes, cancellation
 * @returns the kubeconfig, the demo project, and stop
 * @throws Error saying which part did not start and why (what to install), after stopping the
 *   others; or the signal's reason when aborted
 */
export async function startEmbeddedEnvironment(
  options: EmbeddedOptions,
): Promise<EmbeddedEnvironment> {
  const { log, signal } = options;
  signal?.throwIfAborted();
  const began = performance.now();
  const stateDir = resolve(options.stateDir);
  const kubeconfigPath = join(stateDir, KUBECONFIG_FILE);
  await mkdir(stateDir, { recursive: true });
  // The servers' data live in a scratch folder every user can traverse: PostgreSQL runs as
  // `nobody` when this process runs as root, and a state folder inside a private home would
  // be out of its reach.
  const workDir = await mkdtemp(join(tmpdir(), 'sbr-embedded-'));
  let servers: StartedServers | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await servers?.stop();
      await rm(workDir, { recursive: true, force: true });
      await rm(kubeconfigPath, { force: true });
    })();
    return stopping;
  };

  try {
    await chmod(workDir, 0o755);
    const [crds, certificate] = await Promise.all([
      readCrds(repoRoot),
      makeServerCertificate(join(workDir, 'postgres-tls'), serverFileOwner()),
    ]);
    log(
      'starting kube-apiserver + etcd, kube-controller-manager + kube-scheduler, kwok, ' +
        'PostgreSQL and an S3 server (versitygw) in parallel',
    );
    servers = await startServers({
      repoRoot,
      workDir,
      crds,
      kube: { clusterName: 'supabase-reconciler-embedded', adminUser: 'embedded-admin' },
      postgres: {
        password: randomBytes(18).toString('base64url'),
        settings: {
          ssl: 'on',
          ssl_cert_file: certificate.certFile,
          ssl_key_file: certificate.keyFile,
        },
      },
      assets: {
        progress: log,
        neededBy: 'the embedded environment',
        ...(signal ? { signal } : {}),
      },
      onPart: log,
    });
    signal?.throwIfAborted();
    const { kube, cluster, postgres, s3 } = servers;
    if (!kube.ok || !cluster.ok || !postgres.ok || !s3.ok) {
      const failed = [kube, cluster, postgres, s3].filter((part) => !part.ok);
      throw new Error(
        `The embedded environment did not start: ${failed.map((part) => part.line).join('; ')}`,
      );
    }
    log(
      `Pods are simulated by kwok on ${cluster.value.nodeNames.length} fake Nodes ` +
        `(${cluster.value.nodeNames.join(', ')}): they become Running and Ready, but no container runs`,
    );

    const demo = await createDemoProject(repoRoot, {
      kubeconfigPath: kube.value.kubeconfigPath,
      postgres: postgres.value,
      postgresCaPem: certificate.certPem,
      s3: s3.value,
    });
    signal?.throwIfAborted();
    // A new file each time (mode 0600: it holds the administrator's token).
    await rm(kubeconfigPath, { force: true });
    await writeFile(kubeconfigPath, await readFile(kube.value.kubeconfigPath), { mode: 0o600 });
    const postgresAddress = `${postgres.value.host}:${String(postgres.value.port)}`;
    log(
      `CRD installed; namespace ${demo.namespace} with Secret ${demo.databaseSecret} (PostgreSQL ` +
        `${postgresAddress}, database ${demo.database}) and Secret ${demo.storageSecret} (S3 ` +
        `${s3.value.endpoint}, bucket ${demo.bucket}); SupabaseProject ${demo.name} applied from ` +
        `${DEMO_MANIFEST}; ready in ${String(Math.round(performance.now() - began))} ms`,
    );
    return {
      kubeconfigPath,
      namespace: DEMO_NAMESPACE,
      project: demo.name,
      egressAllow: LOOPBACK,
      endpoints: { apiServer: kube.value.server, postgres: postgresAddress, s3: s3.value.endpoint },
      stop,
    };
  } catch (error) {
    await stop();
    if (signal?.aborted) throw abortError(signal);
    throw error;
  }
}
