/**
 * End to end, scenario 9: the embedded default. `npm start`'s command (node functions/index.ts)
 * with no kubeconfig anywhere starts the embedded environment (its own kube-apiserver, etcd,
 * controllers, kwok, PostgreSQL and S3 server, from the binaries the test environment already
 * built), prints the `export KUBECONFIG=...` line, and reconciles the demo project to Running;
 * on SIGTERM it exits 0 within a bound and leaves none of the processes it started.
 * (Linux: the processes are found in /proc.)
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { waitForProjectAt } from './cluster-support.ts';
import { isRunningAndReady } from './support.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');
/** How long the embedded start may take (measured: about 8 s on 2 cores). */
const START_BOUND_MS = 120_000;
/** How long the stop may take. */
const STOP_BOUND_MS = 30_000;

let scratch: string;
let child: ChildProcess | undefined;
let output = '';

/**
 * The environment of `npm start` run by a user without a cluster: no KUBECONFIG, no in-cluster
 * variables, a state folder of its own. A ~/.kube/config on this machine would be chosen over
 * the embedded environment, so HOME then moves to an empty folder, and the binaries' cache
 * (scripts/envtest-assets.sh, below HOME by default) is named explicitly.
 */
function startEnvironment(): NodeJS.ProcessEnv {
  const unset = new Set([
    'KUBECONFIG',
    'KUBERNETES_SERVICE_HOST',
    'KUBERNETES_SERVICE_PORT',
    // The test runner's marker for its own child processes.
    'NODE_TEST_CONTEXT',
  ]);
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !unset.has(name))),
    SUPABASE_RECONCILER_STATE_DIR: join(scratch, 'state'),
  };
  if (existsSync(join(homedir(), '.kube', 'config'))) {
    env.SBR_ENVTEST_CACHE ??= join(
      process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'),
      'supabase-reconciler',
      'envtest',
    );
    env.HOME = join(scratch, 'home');
  }
  return env;
}

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'sbr-e2e-embedded-'));
  child = spawn(process.execPath, ['--import', 'tsx', 'functions/index.ts'], {
    cwd: repoRoot,
    env: startEnvironment(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.setEncoding('utf8').on('data', (text: string) => (output += text));
  child.stderr?.setEncoding('utf8').on('data', (text: string) => (output += text));
});

after(async () => {
  if (child?.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
  }
  await rm(scratch, { recursive: true, force: true });
});

/** Resolves with the match once the output holds it; rejects when the process exits first. */
async function printed(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(output);
    if (match) return match;
    if (child?.exitCode !== null || Date.now() > deadline) {
      throw new Error(`no ${String(pattern)} (exit ${String(child?.exitCode)}):\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Every running process below `root`, with its start time (a pid may be reused later). */
async function descendants(root: number): Promise<Map<number, string>> {
  const children = new Map<number, number[]>();
  const started = new Map<number, string>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid ... starttime (field 22): split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields.length < 20 || fields[0] === 'Z') continue;
    const pid = Number(entry);
    started.set(pid, fields[19] ?? '');
    const siblings = children.get(Number(fields[1])) ?? [];
    siblings.push(pid);
    children.set(Number(fields[1]), siblings);
  }
  const found = new Map<number, string>();
  const queue = [root];
  while (queue.length > 0) {
    for (const pid of children.get(queue.shift() ?? 0) ?? []) {
      found.set(pid, started.get(pid) ?? '');
      queue.push(pid);
    }
  }
  return found;
}

/** The processes of `before` that still run (same pid and start time). */
async function survivors(before: Map<number, string>): Promise<number[]> {
  const left: number[] = [];
  for (const [pid, started] of before) {
    const stat = await readFile(`/proc/${String(pid)}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (stat && fields[0] !== 'Z' && fields[19] === started) left.push(pid);
  }
  return left;
}

test('npm start without a kubeconfig: the embedded environment, the demo project Running, a clean stop on SIGTERM', async () => {
  const running = child;
  assert.ok(running?.pid !== undefined, 'spawned');
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    running.once('exit', (code, signal) => {
      resolve({ code, signal });
    });
  });

  const exported = await printed(/export KUBECONFIG=(\S+)/, START_BOUND_MS);
  const kubeconfigPath = exported[1]!;
  assert.equal(kubeconfigPath, join(scratch, 'state', 'embedded', 'kubeconfig'));
  const demo = await waitForProjectAt(
    kubeconfigPath,
    { namespace: 'demo', name: 'demo' },
    isRunningAndReady,
  );
  assert.equal(demo.status?.componentsReady, '7/7');

  // Its servers: kube-apiserver, etcd, the controllers, kwok, PostgreSQL (and its own
  // children), the S3 server.
  const started = await descendants(running.pid);
  assert.ok(started.size >= 7, `${String(started.size)} processes below npm start`);

  const stopAt = performance.now();
  running.kill('SIGTERM');
  const timer = new Promise<'timeout'>((resolve) =>
    setTimeout(() => {
      resolve('timeout');
    }, STOP_BOUND_MS).unref(),
  );
  const outcome = await Promise.race([exited, timer]);
  const stopMs = Math.round(performance.now() - stopAt);
  assert.notEqual(
    outcome,
    'timeout',
    `still running ${String(STOP_BOUND_MS)} ms after SIGTERM:\n${output}`,
  );
  assert.deepEqual(outcome, { code: 0, signal: null }, output);
  assert.match(output, /SIGTERM: stopping/);
  assert.deepEqual(await survivors(started), [], 'every process it started has exited');
  assert.equal(existsSync(kubeconfigPath), false, 'the embedded kubeconfig is removed');
  console.log(`stopped in ${String(stopMs)} ms`);
});
