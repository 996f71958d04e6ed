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

/** A running etcd + kube-apiserver pair. */
export interface KubeEnvironment extends KubeConnection {
  stop(): Promise<void>;
}

/**
 * Finds (or builds, on the first run) the directory holding the binaries of one part of
 * the test environment: `kube` (kube-apiserver, etcd) or `s3` (versitygw).
 * @param repoRoot - the repository root, where scripts/envtest-assets.sh lives
 * @param part - which binaries
 * @returns the directory of the binaries
 * @throws Error whose message says what to install or set when they cannot be had
 */
export async function resolveAssets(repoRoot: string, part: 'kube' | 's3'): Promise<string> {
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
 * anonymous access off, as a real cluster's control plane would run (without the
 * controller-manager and scheduler: nothing creates Pods or garbage-collects, as in
 * Kubebuilder's envtest).
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
  await waitUntil(
    'etcd',
    async () => {
      const response = await fetch(`${url}/health`);
      return response.ok;
    },
    proc.exited,
    30_000,
  );
  return { url, process: proc };
}

async function startApiServer(
  assetsDir: string,
  workDir: string,
  etcdUrl: string,
): Promise<{ connection: KubeConnection; process: ManagedProcess }> {
  const certDir = join(workDir, 'certs');
  await mkdir(certDir, { recursive: true });
  // One RSA key pair both signs and verifies service-account tokens.
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const saKey = join(certDir, 'sa.key');
  const saPub = join(certDir, 'sa.pub');
  await writeFile(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await writeFile(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
  const adminToken = randomBytes(24).toString('hex');
  const tokenFile = join(certDir, 'tokens.csv');
  // token,user,uid,"group1,group2": system:masters is the cluster-admin group that RBAC always allows.
  await writeFile(tokenFile, `${adminToken},test-admin,test-admin,"system:masters"\n`, {
    mode: 0o600,
  });

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
      // No controller-manager creates the `default` ServiceAccount in new namespaces.
      '--disable-admission-plugins=ServiceAccount',
      '--v=1',
    ],
    join(workDir, 'kube-apiserver.log'),
  );

  // The serving certificate is generated at start; wait for it before trusting it.
  const certFile = join(certDir, 'apiserver.crt');
  await waitUntil(
    'kube-apiserver serving certificate',
    async () => {
      await access(certFile);
      return true;
    },
    proc.exited,
    60_000,
  );
  const caPem = await readFile(certFile, 'utf8');
  await waitUntil(
    'kube-apiserver /readyz',
    () => readyz(server, caPem, adminToken),
    proc.exited,
    120_000,
  );

  const kubeconfigPath = join(workDir, 'kubeconfig');
  await writeFile(
    kubeconfigPath,
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
      users: [{ name: 'test-admin', user: { token: adminToken } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user: 'test-admin' } }],
      'current-context': 'test',
    }),
    { mode: 0o600 },
  );
  return { connection: { server, caPem, adminToken, kubeconfigPath }, process: proc };
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
