/**
 * Global setup of `npm test` (node --test-global-setup): starts one kube-apiserver + etcd
 * with a controller-manager, a scheduler and kwok's simulated Nodes, one PostgreSQL and one
 * S3-protocol server for the whole run, shared by every test file, and stops them afterwards.
 * Test files isolate themselves with a fresh namespace, database or bucket (see
 * test/env/index.ts). The servers are started by the embedded environment's starters
 * (shared/local/embedded/servers.ts), which `npm start` uses without a cluster too.
 *
 * A part that cannot start does not abort the run: its error is recorded, and each test that
 * needs it fails with that message (what to install or set). Tests that need nothing still run.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { supabaseProjectCrd } from '../../shared/api/index.ts';
import {
  startServers,
  type Outcome,
  type StartedServers,
} from '../../shared/local/embedded/servers.ts';
import { STATE_FILE_VARIABLE, type EnvironmentState, type Part } from './state.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');

let workDir: string | undefined;
let servers: StartedServers | undefined;

/** The connection the test files get of a part, or the reason it is missing. */
function part<T, C>(outcome: Outcome<T>, connection: (running: T) => C): Part<C> {
  return outcome.ok
    ? { ok: true, value: connection(outcome.value) }
    : { ok: false, error: outcome.error.message };
}

/** Starts the environment and publishes its connections to the test files. */
export async function globalSetup(): Promise<void> {
  const began = performance.now();
  workDir = await mkdtemp(join(tmpdir(), 'sbr-test-env-'));
  // PostgreSQL runs as the `postgres` system user when the tests run as root; it must be
  // able to reach its data directory below this one (mkdtemp creates it 0700).
  await chmod(workDir, 0o755);
  const started = await startServers({
    repoRoot,
    workDir,
    crds: [supabaseProjectCrd()],
    // The least-privilege test reads which function called what (by User-Agent).
    kube: { auditLog: true },
  });
  servers = started;
  const { kube, cluster, postgres, s3 } = started;
  const state: EnvironmentState = {
    kube: part(kube, ({ server, caPem, adminToken, kubeconfigPath, auditLogPath }) => ({
      server,
      caPem,
      adminToken,
      kubeconfigPath,
      auditLogPath,
    })),
    cluster: part(cluster, ({ nodeNames }) => ({ nodeNames })),
    postgres: part(postgres, ({ host, port, user, password, database }) => ({
      host,
      port,
      user,
      password,
      database,
    })),
    s3: part(s3, ({ endpoint, region, accessKeyId, secretAccessKey }) => ({
      endpoint,
      region,
      accessKeyId,
      secretAccessKey,
    })),
  };
  const stateFile = join(workDir, 'state.json');
  await writeFile(stateFile, JSON.stringify(state), { mode: 0o600 });
  process.env[STATE_FILE_VARIABLE] = stateFile;
  const total = Math.round(performance.now() - began);
  process.stderr.write(
    `test environment (started in parallel, ${total} ms in all): ${kube.line}; ${cluster.line}; ${postgres.line}; ${s3.line}\n`,
  );
}

/** Stops what globalSetup started and removes its scratch directory. */
export async function globalTeardown(): Promise<void> {
  await servers?.stop();
  if (workDir && !process.env.SBR_TEST_KEEP_ENV)
    await rm(workDir, { recursive: true, force: true });
}
