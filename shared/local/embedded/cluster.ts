/**
 * The controllers and simulated Nodes of the embedded cluster (and of the tests' cluster): kube-controller-manager and
 * kube-scheduler of the API server's own release, and kwok, which plays the kubelet of fake
 * Nodes (Pods become Running and Ready without containers). With them a Deployment gets a
 * ReplicaSet and Ready Pods, rolls out, and owned objects are garbage-collected, as in a real
 * cluster. Flags and pitfalls: the shared reference notes, "a controller-equipped test cluster".
 */
import { mkdir } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { ApiextensionsV1Api, CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import { installCrd, type CrdManifest } from './crd.ts';
import type { KubeEnvironment } from './kube.ts';
import { freePort } from './ports.ts';
import { startProcess, waitUntil, type ManagedProcess } from './process.ts';

/** What clients learn about the cluster's simulated Nodes. */
export interface ClusterConnection {
  /** The fake Nodes, Ready and schedulable once the cluster has started. */
  readonly nodeNames: readonly string[];
}

/** The running controllers and kwok. */
export interface ClusterEnvironment extends ClusterConnection {
  /** When each piece was ready, in ms since the API server was, for a summary line. */
  readonly timings: string;
  /** Stops the controllers and kwok (before the API server, which they talk to). */
  stop(): Promise<void>;
}

/** Where the binaries are (see scripts/envtest-assets.sh `controllers` and `kwok`). */
export interface ClusterAssets {
  /** Holds `kube-controller-manager` and `kube-scheduler`. */
  readonly controllersDir: string;
  /** Holds `kwok` and `kwok-stages.yaml`. */
  readonly kwokDir: string;
}

/** The controllers the reconciler's objects need, and no others (no cloud, volume, job or certificate ones). */
const CONTROLLERS = [
  'deployment-controller',
  'replicaset-controller',
  'garbage-collector-controller',
  'namespace-controller',
  'endpoints-controller',
  'endpointslice-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller',
  // The API server taints each new Node not-ready; only this controller removes the taint.
  'node-lifecycle-controller',
];

/** The annotation kwok is told to manage Nodes by (`--manage-nodes-with-annotation-selector`). */
const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';

/**
 * Starts kube-controller-manager, kube-scheduler and kwok against a running API server, then
 * creates the fake Nodes and waits until they are Ready and untainted.
 * @param assets - where the binaries are
 * @param kube - the running API server
 * @param workDir - an empty scratch directory for logs and kwok's home
 * @param options - CRDs to install before the controller-manager starts (its garbage collector
 *   learns new resource types only every 30 s), and how many Nodes
 * @returns the Node names, the timings and a stop function
 * @throws Error naming the piece that did not start, with its log file
 */
export async function startCluster(
  assets: ClusterAssets,
  kube: KubeEnvironment,
  workDir: string,
  options: { readonly crds?: readonly CrdManifest[]; readonly nodes?: number } = {},
): Promise<ClusterEnvironment> {
  await mkdir(workDir, { recursive: true });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kube.kubeconfigPath);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const apiExtensions = kubeConfig.makeApiClient(ApiextensionsV1Api);

  const started: ManagedProcess[] = [];
  const stop = async (): Promise<void> => {
    await Promise.allSettled(started.map((p) => p.stop()));
  };
  const began = performance.now();
  const since = (): number => Math.round(performance.now() - began);
  try {
    const nodeNames = Array.from({ length: options.nodes ?? 2 }, (_, i) => `kwok-node-${i}`);
    let crdsInstalled = 0;
    // The Nodes are created at once: kwok and the node-lifecycle controller pick them up when
    // they start, which saves a round of waiting.
    const [controllerManager, scheduler, kwok] = await Promise.all([
      (async () => {
        await Promise.all((options.crds ?? []).map((crd) => installCrd(apiExtensions, crd)));
        crdsInstalled = since();
        return startControllerManager(assets.controllersDir, kube, workDir, started).then(since);
      })(),
      startScheduler(assets.controllersDir, kube, workDir, started).then(since),
      startKwok(assets.kwokDir, kube, workDir, started).then(since),
      ...nodeNames.map((name) => createNode(core, name)),
    ]);
    // Rejects when any of them dies; handled here, since it also rejects at the normal stop.
    const anyExited = Promise.race(started.map((p) => p.exited));
    anyExited.catch(() => undefined);
    await Promise.all([
      // Proves the controller-manager works with its own credentials: the serviceaccount
      // controller creates every namespace's `default` ServiceAccount.
      waitUntil(
        'the default ServiceAccount of namespace default',
        async () => {
          await core.readNamespacedServiceAccount({ namespace: 'default', name: 'default' });
          return true;
        },
        anyExited,
        30_000,
      ),
      ...nodeNames.map((name) =>
        waitUntil(
          `Node ${name} Ready and untainted`,
          async () => nodeReady(await core.readNode({ name })),
          anyExited,
          30_000,
        ),
      ),
    ]);
    const nodesReady = since();
    return {
      nodeNames,
      timings:
        `CRDs ${crdsInstalled} ms, kube-controller-manager ${controllerManager} ms, ` +
        `kube-scheduler ${scheduler} ms, ` +
        `kwok ${kwok} ms, ${nodeNames.length} Nodes Ready ${nodesReady} ms`,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Starts one of the control plane's own components (kube-controller-manager,
 * kube-scheduler) on a free loopback port and waits for its /healthz.
 * @param args - its flags besides the common ones (leader election off, loopback, the port)
 */
async function startComponent(
  name: 'kube-controller-manager' | 'kube-scheduler',
  dir: string,
  workDir: string,
  started: ManagedProcess[],
  args: readonly string[],
): Promise<void> {
  const port = await freePort();
  const proc = startProcess(
    name,
    join(dir, name),
    ['--leader-elect=false', '--bind-address=127.0.0.1', `--secure-port=${port}`, ...args, '--v=1'],
    join(workDir, `${name}.log`),
  );
  started.push(proc);
  await waitUntil(
    `${name} /healthz`,
    () => healthz(`https://127.0.0.1:${port}/healthz`),
    proc.exited,
    60_000,
  );
}

function startControllerManager(
  dir: string,
  kube: KubeEnvironment,
  workDir: string,
  started: ManagedProcess[],
): Promise<void> {
  return startComponent('kube-controller-manager', dir, workDir, started, [
    `--kubeconfig=${kube.controlPlane.controllerManagerKubeconfigPath}`,
    `--cert-dir=${join(workDir, 'kube-controller-manager-certs')}`,
    `--controllers=${CONTROLLERS.join(',')}`,
    // Each controller acts as its own ServiceAccount, as in a kubeadm cluster, so RBAC
    // problems show up here as they would there.
    '--use-service-account-credentials=true',
    `--service-account-private-key-file=${kube.controlPlane.serviceAccountKeyPath}`,
    `--root-ca-file=${kube.controlPlane.caPath}`,
    // The default 20/30 makes a test creating many objects wait on the client's rate limiter.
    '--kube-api-qps=200',
    '--kube-api-burst=400',
  ]);
}

function startScheduler(
  dir: string,
  kube: KubeEnvironment,
  workDir: string,
  started: ManagedProcess[],
): Promise<void> {
  return startComponent('kube-scheduler', dir, workDir, started, [
    `--kubeconfig=${kube.controlPlane.schedulerKubeconfigPath}`,
  ]);
}

async function startKwok(
  dir: string,
  kube: KubeEnvironment,
  workDir: string,
  started: ManagedProcess[],
): Promise<void> {
  // kwok always reads ~/.kwok/kwok.yaml when it exists; an empty home of its own keeps a
  // developer's kwok configuration out of this cluster.
  const home = join(workDir, 'kwok-home');
  await mkdir(home, { recursive: true });
  const port = await freePort();
  const proc = startProcess(
    'kwok',
    join(dir, 'kwok'),
    [
      `--kubeconfig=${kube.kubeconfigPath}`,
      // Stages only: a KwokConfiguration document given here would get no defaults.
      `--config=${join(dir, 'kwok-stages.yaml')}`,
      '--manage-all-nodes=false',
      `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
      '--node-lease-duration-seconds=40',
      '--node-ip=127.0.0.1',
      // Pod IPs; the default overlaps the API server's service range.
      '--cidr=10.244.0.0/16',
      // Without it kwok serves its node port on every interface.
      `--server-address=127.0.0.1:${port}`,
    ],
    join(workDir, 'kwok.log'),
    { env: { HOME: home, KWOK_WORKDIR: home } },
  );
  started.push(proc);
  await waitUntil(
    'kwok /healthz',
    async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok,
    proc.exited,
    60_000,
  );
}

async function createNode(core: CoreV1Api, name: string): Promise<void> {
  await core.createNode({
    body: {
      metadata: {
        name,
        annotations: {
          [KWOK_NODE_ANNOTATION]: 'fake',
          // Clients cache nothing about a fake Node.
          'node.alpha.kubernetes.io/ttl': '0',
        },
        labels: {
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          type: 'kwok',
        },
      },
    },
  });
}

/** Ready, and no longer carrying the taints that keep Pods off a Node that is not. */
function nodeReady(node: V1Node): boolean {
  const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  const tainted = node.spec?.taints?.some(
    (t) => t.key === 'node.kubernetes.io/not-ready' || t.key === 'node.kubernetes.io/unreachable',
  );
  return ready === true && tainted !== true;
}

/**
 * The controllers serve /healthz on loopback with a certificate they made themselves at start,
 * and allow it without authentication (their default `--authorization-always-allow-paths`).
 */
function healthz(url: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { rejectUnauthorized: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy(new Error('healthz timed out')));
    req.on('error', reject);
    req.end();
  });
}
