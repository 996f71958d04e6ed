/**
 * validate-deps' entry point as a process, wired as in a pod (KUBECONFIG default loading,
 * its own settings): it validates a real project, and a bad setting stops it before it
 * listens, naming the variable.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import { HTTP } from 'cloudevents';
import { supabaseProjectCrd } from '../../shared/api/index.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { applyCrd, freshNamespace, kubeConnection } from '../env/index.ts';
import { LOOPBACK_ALLOWED_ENV } from '../fixtures/egress.ts';
import { apiServerEvent, readProject, workingProject } from './validate-deps-support.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const entryPoint = join(root, 'functions/validate-deps/index.ts');

function start(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', entryPoint], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      FUNCTION_NAME: 'validate-deps',
      PORT: '0',
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'none',
      KUBECONFIG: kubeConnection().kubeconfigPath,
      // The test servers are on loopback, which the egress policy refuses unless allowed.
      ...LOOPBACK_ALLOWED_ENV,
      ...env,
    },
  });
  const out: string[] = [];
  const err: string[] = [];
  child.stdout.setEncoding('utf8').on('data', (c: string) => out.push(c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => err.push(c));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, out, err, exited };
}

before(async () => {
  await applyCrd(supabaseProjectCrd());
});

test('the process validates a project and replies', async (t) => {
  const running = start({ VALIDATE_DEPS_POSTGRES_TIMEOUT_MS: '4000' });
  t.after(async () => {
    running.child.kill('SIGTERM');
    await running.exited;
  });
  let port: number | undefined;
  for (let i = 0; i < 1000 && port === undefined; i++) {
    const line = running.out
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; port?: number })
      .find((l) => l.msg === 'listening');
    port = line?.port;
    if (port === undefined) {
      assert.equal(running.child.exitCode, null, running.err.join(''));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  assert.ok(port, 'listening');

  const namespace = await freshNamespace('vd-proc');
  const created = await workingProject(namespace);
  const message = HTTP.binary(apiServerEvent(created));
  const res = await fetch(`http://127.0.0.1:${port}/`, {
    method: 'POST',
    headers: message.headers as Record<string, string>,
    body: message.body as string,
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('ce-type'), CHAIN_EVENT.dependenciesValidated);
  assert.equal((await readProject(namespace)).status?.phase, 'InitializingDatabase');
});

test('a bad setting exits 1 naming the variable, before listening', async () => {
  const running = start({ VALIDATE_DEPS_S3_TIMEOUT_MS: 'soon' });
  assert.equal(await running.exited, 1);
  assert.match(
    running.err.join(''),
    /VALIDATE_DEPS_S3_TIMEOUT_MS must be an integer from 100 to 60000, not "soon"/,
  );
});
