import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir, access } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { freePort } from './ports.ts';
import { startProcess, waitUntil, type ManagedProcess } from './process.ts';

const run = promisify(execFile);

/** How a test reaches the API server: everything needed to build a client. */
export interface KubeConnection {
  /** `https://127.0.0.1:<port>` */
  readonly server: string;
  /** PEM bundle that verifies the API server's self-signed serving certificate. */
  readonly caPem: string;
  /** Bearer token of the test administrator (group system:masters). */
  readonly adminToken: string;
  /** A kubeconfig file for the administrator, usable by any client and by kubectl. */
  readonly kubeconfigPath: string;
}

/**
 * What the controllers of the test cluster (test/env/cluster.ts) need from the control plane:
 * the files a real cluster's kube-controller-manager and kube-scheduler are started with.
 */
export interface ControlPlaneFiles {
  /** The PEM of the API server's self-signed serving certificate (its own CA). */
  readonly caPath: string;
  /** The private key of the key pair whose public half verifies service-account tokens. */
  readonly serviceAccountKeyPath: string;
  /** Kubeconfig of the token user `system:kube-controller-manager`. */
  readonly controllerManagerKubeconfigPath: string;
  /** Kubeconfig of the token user `system:kube-scheduler`. */
  readonly schedulerKubeconfigPath: string;
}

/** A running etcd + kube-apiserver pair. */
export interface KubeEnvironment extends KubeConnection {
  readonly controlPlane: ControlPlaneFiles;
  stop(): Promise<void>;
}

/**
 * Finds (or builds, on the first run) the directory holding the binaries of one part of
 * the test environment: `kube` (kube-apiserver, etcd), `controllers` (kube-controller-manager,
 * kube-scheduler), `kwok` (kwok and its stages) or `s3` (versitygw).
 * @param repoRoot - the repository root, where scripts/envtest-assets.sh lives
 * @param part - which binaries
 * @returns the directory of the binaries
 * @throws Error whose message says what to install or set when they cannot be had
 */
export async function resolveAssets(
  repoRoot: string,
  part: 'kube' | 'controllers' | 'kwok' | 's3',
): Promise<string> {
  try {
    // The script may build for minutes on a first run; its progress goes to our stderr.
    const child = run('bash', [join(repoRoot, 'scripts/envtest-assets.sh'), part], {
      maxBuffer: 1 << 20,
    });
    child.child.stderr?.pipe(process.stderr);
    const { stdout } = await child;
    return stdout.trim();
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    const advice = stderr
      .split('\n')
      .filter((line) => line.startsWith('envtest-assets:'))
      .map((line) => line.slice('envtest-assets:'.length).trim())
      .join(' ');
    throw new Error(
      `The ${part} binaries of the test environment are not available. ${advice || String(error)}`,
      { cause: error },
    );
  }
}

/**
 * Starts etcd and a kube-apiserver on loopback with token authentication and RBAC,
 * anonymous access off, as a real cluster's control plane would run. The controller-manager,
 * scheduler and simulated Nodes are started apart, once this is ready (test/env/cluster.ts).
 * @param assetsDir - directory with the `kube-apiserver` and `etcd` binaries
 * @param workDir - an empty scratch directory for data, certificates and logs
 * @returns the connection and a stop function
 */
export async function startKube(assetsDir: string, workDir: string): Promise<KubeEnvironment> {
  await mkdir(workDir, { recursive: true });
  const etcd = await startEtcd(assetsDir, workDir);
  try {
    const api = await startApiServer(assetsDir, workDir, etcd.url);
    return {
      ...api.connection,
      controlPlane: api.controlPlane,
      async stop() {
        await api.process.stop();
        await etcd.process.stop();
      },
    };
  } catch (error) {
    await etcd.process.stop();
    throw error;
  }
}

async function startEtcd(
  assetsDir: string,
  workDir: string,
): Promise<{ url: string; process: ManagedProcess }> {
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const proc = startProcess(
    'etcd',
    join(assetsDir, 'etcd'),
    [
      `--data-dir=${join(workDir, 'etcd-data')}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=default=${peer}`,
      // Test data is thrown away after the run; durability only costs time here.
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ],
    join(workDir, 'etcd.log'),
  );
  // A server that was started but never became ready must not outlive the run: a child
  // process left running keeps the test runner from exiting.
  await stopIfNotReady(proc, () =>
    waitUntil(
      'etcd',
      async () => {
        const response = await fetch(`${url}/health`);
        return response.ok;
      },
      proc.exited,
      30_000,
    ),
  );
  return { url, process: proc };
}

async function startApiServer(
  assetsDir: string,
  workDir: string,
  etcdUrl: string,
): Promise<{
  connection: KubeConnection;
  controlPlane: ControlPlaneFiles;
  process: ManagedProcess;
}> {
  const certDir = join(workDir, 'certs');
  await mkdir(certDir, { recursive: true });
  // One RSA key pair both signs and verifies service-account tokens.
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const saKey = join(certDir, 'sa.key');
  const saPub = join(certDir, 'sa.pub');
  await writeFile(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
  const adminToken = randomBytes(24).toString('hex');
  const controllerManagerToken = randomBytes(24).toString('hex');
  const schedulerToken = randomBytes(24).toString('hex');
  const tokenFile = join(certDir, 'tokens.csv');
  // token,user,uid,"group1,group2": system:masters is the cluster-admin group that RBAC always
  // allows. The controllers get the user names their built-in RBAC roles are bound to
  // (system:kube-controller-manager, system:kube-scheduler), as kubeadm's certificates give them.
  await writeFile(
    tokenFile,
    [
      `${adminToken},test-admin,test-admin,"system:masters"`,
      `${controllerManagerToken},system:kube-controller-manager,system:kube-controller-manager`,
      `${schedulerToken},system:kube-scheduler,system:kube-scheduler`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );

  const port = await freePort();
  const server = `https://127.0.0.1:${port}`;
  const proc = startProcess(
    'kube-apiserver',
    join(assetsDir, 'kube-apiserver'),
    [
      `--etcd-servers=${etcdUrl}`,
      `--cert-dir=${certDir}`,
      `--secure-port=${port}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      `--token-auth-file=${tokenFile}`,
      '--anonymous-auth=false',
      '--authorization-mode=RBAC',
      '--allow-privileged=true',
      // The ServiceAccount admission plugin stays on, as in a real cluster: the
      // controller-manager creates each namespace's `default` ServiceAccount, and Pods get it.
      '--v=1',
    ],
    join(workDir, 'kube-apiserver.log'),
  );

  // The serving certificate is generated at start; wait for it before trusting it.
  const certFile = join(certDir, 'apiserver.crt');
  const caPem = await stopIfNotReady(proc, async () => {
    await waitUntil(
      'kube-apiserver serving certificate',
      async () => {
        await access(certFile);
        return true;
      },
      proc.exited,
      60_000,
    );
    const pem = await readFile(certFile, 'utf8');
    await waitUntil(
      'kube-apiserver /readyz',
      () => readyz(server, pem, adminToken),
      proc.exited,
      120_000,
    );
    return pem;
  });

  const kubeconfigPath = join(workDir, 'kubeconfig');
  const controllerManagerKubeconfigPath = join(workDir, 'kube-controller-manager.kubeconfig');
  const schedulerKubeconfigPath = join(workDir, 'kube-scheduler.kubeconfig');
  await Promise.all([
    writeKubeconfig(kubeconfigPath, server, caPem, 'test-admin', adminToken),
    writeKubeconfig(
      controllerManagerKubeconfigPath,
      server,
      caPem,
      'system:kube-controller-manager',
      controllerManagerToken,
    ),
    writeKubeconfig(
      schedulerKubeconfigPath,
      server,
      caPem,
      'system:kube-scheduler',
      schedulerToken,
    ),
  ]);
  return {
    connection: { server, caPem, adminToken, kubeconfigPath },
    controlPlane: {
      caPath: certFile,
      serviceAccountKeyPath: saKey,
      controllerManagerKubeconfigPath,
      schedulerKubeconfigPath,
    },
    process: proc,
  };
}

async function writeKubeconfig(
  path: string,
  server: string,
  caPem: string,
  user: string,
  token: string,
): Promise<void> {
  await writeFile(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'test',
          cluster: {
            server,
            'certificate-authority-data': Buffer.from(caPem).toString('base64'),
          },
        },
      ],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user } }],
      'current-context': 'test',
    }),
    { mode: 0o600 },
  );
}

/** Runs a readiness wait; if it fails, stops the process before passing the error on. */
async function stopIfNotReady<T>(proc: ManagedProcess, wait: () => Promise<T>): Promise<T> {
  try {
    return await wait();
  } catch (error) {
    await proc.stop();
    throw error;
  }
}

function readyz(server: string, ca: string, token: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server}/readyz`,
      { ca, headers: { Authorization: `Bearer ${token}` }, timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('timeout', () => req.destroy(new Error('readyz timed out')));
    req.on('error', reject);
    req.end();
  });
}
