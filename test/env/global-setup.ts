/**
 * Global setup of `npm test` (node --test-global-setup): starts one kube-apiserver + etcd,
 * one PostgreSQL and one S3-protocol server for the whole run, shared by every test file,
 * and stops them afterwards. Test files isolate themselves with a fresh namespace, database
 * or bucket (see test/env/index.ts).
 *
 * A part that cannot start does not abort the run: its error is recorded, and each test that
 * needs it fails with that message (what to install or set). Tests that need nothing still run.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveAssets, startKube, type KubeEnvironment } from './kube.ts';
import { startPostgres, type PostgresEnvironment } from './postgres.ts';
import { startS3, type S3Environment } from './s3.ts';
import { STATE_FILE_VARIABLE, type EnvironmentState, type Part } from './state.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');

let workDir: string | undefined;
const stoppers: (() => Promise<void>)[] = [];

async function timed<T extends { stop(): Promise<void> }, C>(
  name: string,
  start: () => Promise<T>,
  connection: (running: T) => C,
): Promise<{ part: Part<C>; line: string }> {
  const began = performance.now();
  try {
    const running = await start();
    stoppers.push(() => running.stop());
    const ms = Math.round(performance.now() - began);
    return { part: { ok: true, value: connection(running) }, line: `${name} ready in ${ms} ms` };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { part: { ok: false, error: message }, line: `${name} FAILED: ${message}` };
  }
}

/** Starts the environment and publishes its connections to the test files. */
export async function globalSetup(): Promise<void> {
  const began = performance.now();
  workDir = await mkdtemp(join(tmpdir(), 'sbr-test-env-'));
  // PostgreSQL runs as the `postgres` system user when the tests run as root; it must be
  // able to reach its data directory below this one (mkdtemp creates it 0700).
  await chmod(workDir, 0o755);
  const dir = workDir;
  const [kube, postgres, s3] = await Promise.all([
    timed(
      'kube-apiserver',
      async (): Promise<KubeEnvironment> => {
        const assets = await resolveAssets(repoRoot, 'kube');
        return startKube(assets, join(dir, 'kube'));
      },
      ({ server, caPem, adminToken, kubeconfigPath }) => ({
        server,
        caPem,
        adminToken,
        kubeconfigPath,
      }),
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
  const state: EnvironmentState = { kube: kube.part, postgres: postgres.part, s3: s3.part };
  const stateFile = join(dir, 'state.json');
  await writeFile(stateFile, JSON.stringify(state), { mode: 0o600 });
  process.env[STATE_FILE_VARIABLE] = stateFile;
  const total = Math.round(performance.now() - began);
  process.stderr.write(
    `test environment (started in parallel, ${total} ms in all): ${kube.line}; ${postgres.line}; ${s3.line}\n`,
  );
}

/** Stops what globalSetup started and removes its scratch directory. */
export async function globalTeardown(): Promise<void> {
  await Promise.allSettled(stoppers.map((stop) => stop()));
  if (workDir && !process.env.SBR_TEST_KEEP_ENV)
    await rm(workDir, { recursive: true, force: true });
}
