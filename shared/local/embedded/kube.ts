/**
 * The control plane of the embedded environment: etcd and a kube-apiserver on loopback, with
 * the certificates, service-account keys, tokens and kubeconfigs a real cluster's
 * administrator and controllers are given.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir, access } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from './ports.ts';
import { startProcess, waitUntil, type ManagedProcess } from './process.ts';

/** How a client reaches the API server: everything needed to build one. */
export interface KubeConnection {
  /** `https://127.0.0.1:<port>` */
  readonly server: string;
  /** PEM bundle that verifies the API server's self-signed serving certificate. */
  readonly caPem: string;
  /** Bearer token of the administrator (group system:masters). */
  readonly adminToken: string;
  /** A kubeconfig file for the administrator, usable by any client and by kubectl. */
  readonly kubeconfigPath: string;
  /**
   * The audit log (JSON lines, level Metadata, the administrator's requests only), when
   * started with `auditLog` (the tests: which function called what, by its User-Agent).
   */
  readonly auditLogPath?: string | undefined;
}

/**
 * What the controllers of the cluster (cluster.ts) need from the control plane:
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
  /**
   * Stops the kube-apiserver and starts it again on the same etcd, port, certificates and
   * tokens, as a control-plane upgrade or crash does (the fault tests); resolves once it
   * answers /readyz again. Clients keep their kubeconfig.
   */
  restartApiServer(): Promise<void>;
}

/** Names written into the kubeconfigs. */
export interface StartKubeOptions {
  /** The name of the cluster and the context (`test` by default). */
  readonly clusterName?: string;
  /** The administrator's user name (`test-admin` by default). */
  readonly adminUser?: string;
  /**
   * Write an audit log of the administrator's requests (off by default: `npm start` has no
   * reader for it). Level Metadata, one line per completed request: who, verb, resource,
   * namespace, User-Agent and response code, never a body.
   */
  readonly auditLog?: boolean;
}

/**
 * Starts etcd and a kube-apiserver on loopback with token authentication and RBAC,
 * anonymous access off, as a real cluster's control plane would run. The controller-manager,
 * scheduler and simulated Nodes are started apart, once this is ready (cluster.ts).
 * @param assetsDir - directory with the `kube-apiserver` and `etcd` binaries
 * @param workDir - an empty scratch directory for data, certificates and logs
 * @param options - the names in the kubeconfigs
 * @returns the connection and a stop function
 */
export async function startKube(
  assetsDir: string,
  workDir: string,
  options: StartKubeOptions = {},
): Promise<KubeEnvironment> {
  await mkdir(workDir, { recursive: true });
  const etcd = await startEtcd(assetsDir, workDir);
  try {
    const api = await startApiServer(assetsDir, workDir, etcd.url, {
      clusterName: options.clusterName ?? 'test',
      adminUser: options.adminUser ?? 'test-admin',
      auditLog: options.auditLog ?? false,
    });
    let apiServer = api.process;
    return {
      ...api.connection,
      controlPlane: api.controlPlane,
      async stop() {
        await apiServer.stop();
        await etcd.process.stop();
      },
      async restartApiServer() {
        await apiServer.stop();
        apiServer = await api.restart();
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
      // The data is thrown away when the environment stops; durability only costs time here.
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ],
    join(workDir, 'etcd.log'),
  );
  // A server that was started but never became ready must not outlive the start: a child
  // process left running keeps a test runner (or `npm start`) from exiting.
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
  names: Required<StartKubeOptions>,
): Promise<{
  connection: KubeConnection;
  controlPlane: ControlPlaneFiles;
  process: ManagedProcess;
  /** Starts the stopped server again with the same flags; its certificates are reused. */
  restart(): Promise<ManagedProcess>;
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
      `${adminToken},${names.adminUser},${names.adminUser},"system:masters"`,
      `${controllerManagerToken},system:kube-controller-manager,system:kube-controller-manager`,
      `${schedulerToken},system:kube-scheduler,system:kube-scheduler`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );

  const audit = names.auditLog ? await auditFlags(workDir, names.adminUser) : undefined;

  const port = await freePort();
  const server = `https://127.0.0.1:${port}`;
  const launch = (): ManagedProcess =>
    startProcess(
      'kube-apiserver',
      join(assetsDir, 'kube-apiserver'),
      [
        `--etcd-servers=${etcdUrl}`,
        `--cert-dir=${certDir}`,
        `--secure-port=${port}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        // Every project has 7 Services; a /24 held only 36 projects ('range is full').
        '--service-cluster-ip-range=10.0.0.0/16',
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
        ...(audit?.flags ?? []),
      ],
      join(workDir, 'kube-apiserver.log'),
    );
  const proc = launch();

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
    writeKubeconfig(kubeconfigPath, {
      server,
      caPem,
      cluster: names.clusterName,
      user: names.adminUser,
      token: adminToken,
    }),
    writeKubeconfig(controllerManagerKubeconfigPath, {
      server,
      caPem,
      cluster: names.clusterName,
      user: 'system:kube-controller-manager',
      token: controllerManagerToken,
    }),
    writeKubeconfig(schedulerKubeconfigPath, {
      server,
      caPem,
      cluster: names.clusterName,
      user: 'system:kube-scheduler',
      token: schedulerToken,
    }),
  ]);
  return {
    connection: { server, caPem, adminToken, kubeconfigPath, auditLogPath: audit?.path },
    controlPlane: {
      caPath: certFile,
      serviceAccountKeyPath: saKey,
      controllerManagerKubeconfigPath,
      schedulerKubeconfigPath,
    },
    process: proc,
    async restart() {
      // The serving certificate and key in certDir are reused, so clients' CA stays valid.
      const again = launch();
      await stopIfNotReady(again, () =>
        waitUntil(
          'kube-apiserver /readyz',
          () => readyz(server, caPem, adminToken),
          again.exited,
          120_000,
        ),
      );
      return again;
    },
  };
}

/**
 * The audit policy and flags of an audit log of `user`'s requests. Only that user: the
 * controllers and kwok make far more requests than the tests, and nobody reads them. Only the
 * ResponseComplete stage, at level Metadata (no bodies: Secrets stay out of the log), written
 * before the response (the default blocking mode), so a test reads its requests at once.
 */
async function auditFlags(
  workDir: string,
  user: string,
): Promise<{ readonly path: string; readonly flags: readonly string[] }> {
  const policyPath = join(workDir, 'audit-policy.yaml');
  const path = join(workDir, 'audit.log');
  await writeFile(
    policyPath,
    stringify({
      apiVersion: 'audit.k8s.io/v1',
      kind: 'Policy',
      omitStages: ['RequestReceived'],
      rules: [{ level: 'Metadata', users: [user] }, { level: 'None' }],
    }),
  );
  return {
    path,
    flags: [`--audit-policy-file=${policyPath}`, `--audit-log-path=${path}`],
  };
}

/** What a kubeconfig for one token user of the API server holds. */
export interface KubeconfigContent {
  readonly server: string;
  readonly caPem: string;
  /** The name of the cluster and of the (current) context. */
  readonly cluster: string;
  readonly user: string;
  readonly token: string;
}

/**
 * Writes a kubeconfig (mode 0600: it holds a bearer token) with one cluster, user and context.
 * @param path - the file
 * @param content - the server, its CA, the names and the token
 */
export async function writeKubeconfig(path: string, content: KubeconfigContent): Promise<void> {
  const { server, caPem, cluster, user, token } = content;
  await writeFile(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: cluster,
          cluster: {
            server,
            'certificate-authority-data': Buffer.from(caPem).toString('base64'),
          },
        },
      ],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: cluster, context: { cluster, user } }],
      'current-context': cluster,
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
