/**
 * Only the runtime owns a function process's exit: no dependency may hook exit, beforeExit
 * or the terminating signals (one once replaced the test runner's exit code). Each real
 * phase function is started as its own process with its production wiring, handles an event
 * (so lazily built clients exist), and is asked how many listeners are registered; then
 * SIGTERM must drain and exit 0. The local runtime (`npm start`: every function in one
 * process) is held to the same rule.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { HTTP, type CloudEvent } from 'cloudevents';
import { chainEvent } from '../../shared/events/chain.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { eventFixture } from '../fixtures/events.ts';
import { startFunctionProcess } from '../fixtures/function-process.ts';
import { installProjectCrd } from '../fixtures/project.ts';
import { freshNamespace, kubeConnection } from '../env/index.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const probe = join(root, 'test/fixtures/process-hooks-probe.ts');

interface HookCounts {
  readonly atLoad: Record<string, number>;
  readonly now: Record<string, number>;
}

const absent = { namespace: 'no-such-namespace', name: 'absent' };
const uid = '00000000-0000-4000-8000-000000000001';

/** An input event of each function, for a project that does not exist. */
function inputFor(name: string): { headers: Record<string, string>; body: string } {
  if (name === 'validate-deps') return eventFixture('apiserver-add');
  const type =
    name === 'init-db' ? CHAIN_EVENT.dependenciesValidated : CHAIN_EVENT.databaseInitialized;
  const event: CloudEvent<unknown> = chainEvent({
    type,
    from: 'test',
    key: absent,
    uid,
    generation: 1,
  });
  const { headers, body } = HTTP.binary(event);
  return { headers: headers as Record<string, string>, body: body as string };
}

for (const name of ['validate-deps', 'init-db', 'secrets']) {
  test(`${name}: only the runtime's SIGTERM/SIGINT drain listens; SIGTERM exits 0`, async () => {
    const fn = await startFunctionProcess(name, { nodeArgs: ['--import', probe] });
    try {
      const port = fn.port;
      // An event for a project that does not exist: the function reads it through its real
      // Kubernetes client and acknowledges the miss.
      const { headers, body } = inputFor(name);
      const res = await fetch(`http://127.0.0.1:${String(port)}/`, {
        method: 'POST',
        headers,
        body,
      });
      assert.equal(res.status, 202, `answered ${String(res.status)}: ${await res.text()}`);

      fn.child.kill('SIGUSR2');
      await assertOnlyTheDrainListens(() => fn.stderr(), 'the function and its dependencies');
    } catch (error) {
      await fn.stop();
      throw error;
    }
    // SIGTERM: the runtime's drain, then exit 0.
    assert.equal(await fn.stop(), 0, fn.stderr());
    assert.match(fn.stdout(), /"msg":"drained"/);
  });
}

/**
 * Reads the probe's report (after SIGUSR2) and asserts that what was added since it loaded is
 * the runtime's SIGTERM and SIGINT drain, and nothing else.
 * @param stderr - the process's stderr so far
 * @param who - for the message
 */
async function assertOnlyTheDrainListens(stderr: () => string, who: string): Promise<void> {
  const counts = await waitFor(
    () => stderr().includes('process-hooks '),
    () => JSON.parse(stderr().split('process-hooks ')[1]!.split('\n')[0]!) as HookCounts,
  );
  const added = Object.fromEntries(
    Object.entries(counts.now).map(([hook, n]) => [hook, n - (counts.atLoad[hook] ?? 0)]),
  );
  assert.deepEqual(
    added,
    {
      exit: 0,
      beforeExit: 0,
      SIGTERM: 1,
      SIGINT: 1,
      SIGHUP: 0,
      SIGQUIT: 0,
      uncaughtException: 0,
      unhandledRejection: 0,
    },
    `listeners added by ${who}`,
  );
}

/** Polls until `ready` holds, then returns `value()`; fails after 90 s. */
async function waitFor<T>(ready: () => boolean, value: () => T): Promise<T> {
  const deadline = Date.now() + 90_000;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the function');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return value();
}

test('npm start (the local runtime, every function in one process): only its own SIGTERM/SIGINT listen; SIGTERM exits 0', async () => {
  await installProjectCrd();
  const namespace = await freshNamespace('hooks');
  const stateDir = await mkdtemp(join(tmpdir(), 'sbr-hooks-'));
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      probe,
      join(root, 'functions/index.ts'),
      '--kubeconfig',
      kubeConnection().kubeconfigPath,
      '--namespace',
      namespace,
    ],
    {
      cwd: root,
      env: { PATH: process.env.PATH, SUPABASE_RECONCILER_STATE_DIR: stateDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    await waitFor(
      () => stdout.includes('reconciling the cluster of') || child.exitCode !== null,
      () => undefined,
    );
    assert.equal(child.exitCode, null, `exited early: ${stdout}\n${stderr}`);
    child.kill('SIGUSR2');
    await assertOnlyTheDrainListens(
      () => stderr,
      'the local runtime, its functions and their dependencies',
    );
    child.kill('SIGTERM');
    const code = await Promise.race([
      exited,
      new Promise<'slow'>((resolve) =>
        setTimeout(() => {
          resolve('slow');
        }, 30_000),
      ),
    ]);
    assert.equal(code, 0, `exit ${String(code)}: ${stdout}\n${stderr}`);
    assert.match(stdout, /SIGTERM: stopping/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await rm(stateDir, { recursive: true, force: true });
  }
});
