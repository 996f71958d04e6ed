/**
 * When a part of the test environment cannot be had, the run says exactly what to install or
 * set, and the tests that need that part fail with that message instead of passing silently.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { requirePart } from '../env/state.ts';

const run = promisify(execFile);
const script = new URL('../../scripts/envtest-assets.sh', import.meta.url).pathname;

/** A PATH with just the tools the script uses besides Go, whatever this machine has. */
async function pathWithoutGo(): Promise<string> {
  const bin = await mkdtemp(join(tmpdir(), 'sbr-no-go-'));
  await mkdir(bin, { recursive: true });
  for (const tool of ['awk', 'dirname', 'mkdir', 'mktemp', 'flock', 'rm', 'mv']) {
    const { stdout } = await run('bash', ['-c', `command -v ${tool}`]);
    await symlink(stdout.trim(), join(bin, tool));
  }
  return bin;
}

/** Runs the assets script with no Go on PATH and an empty cache. */
async function withoutGo(part: string, env: Record<string, string> = {}) {
  const cache = await mkdtemp(join(tmpdir(), 'sbr-empty-cache-'));
  try {
    await run((await run('bash', ['-c', 'command -v bash'])).stdout.trim(), [script, part], {
      env: { PATH: await pathWithoutGo(), HOME: tmpdir(), SBR_ENVTEST_CACHE: cache, ...env },
    });
    assert.fail('the script succeeded without Go and without binaries');
  } catch (error) {
    return error as { code: number; stderr: string };
  }
}

test('without Go and without KUBEBUILDER_ASSETS, the kube part says what to install or set', async () => {
  const { code, stderr } = await withoutGo('kube');
  assert.equal(code, 1);
  assert.match(stderr, /needs kube-apiserver v1\.36\.\d+ and etcd v3\.\d+\.\d+/);
  assert.match(stderr, /Install Go >= 1\.\d+/);
  assert.match(stderr, /set KUBEBUILDER_ASSETS to a directory containing both binaries/);
});

test('without Go, the S3 part says what to install', async () => {
  const { code, stderr } = await withoutGo('s3');
  assert.equal(code, 1);
  assert.match(stderr, /needs versitygw v\d+\.\d+\.\d+/);
  assert.match(stderr, /Install Go/);
});

test('without Go, the controllers and kwok parts say what to install or set', async () => {
  const controllers = await withoutGo('controllers');
  assert.equal(controllers.code, 1);
  assert.match(controllers.stderr, /needs kube-controller-manager and kube-scheduler v1\.36\.\d+/);
  assert.match(controllers.stderr, /Install Go >= 1\.\d+/);
  assert.match(controllers.stderr, /into the directory named by KUBEBUILDER_ASSETS/);

  const kwok = await withoutGo('kwok');
  assert.equal(kwok.code, 1);
  assert.match(kwok.stderr, /needs kwok v\d+\.\d+\.\d+/);
  assert.match(kwok.stderr, /kwok-stages\.yaml/);
});

test('without Go, the kubectl and knative-crds parts (deploy/ tests) say what to install or set', async () => {
  const kubectl = await withoutGo('kubectl');
  assert.equal(kubectl.code, 1);
  assert.match(kubectl.stderr, /needs kubectl v1\.36\.\d+/);
  assert.match(kubectl.stderr, /Install Go >= 1\.\d+/);
  assert.match(kubectl.stderr, /into the directory named by KUBEBUILDER_ASSETS/);

  const crds = await withoutGo('knative-crds');
  assert.equal(crds.code, 1);
  assert.match(
    crds.stderr,
    /needs the Knative Serving v0\.\d+\.\d+ and Eventing v0\.\d+\.\d+ CRDs/,
  );
  assert.match(crds.stderr, /eventing-pingsource\.yaml/);
});

test('the controllers, kwok and kubectl are taken from KUBEBUILDER_ASSETS when it holds them', async () => {
  const assets = await mkdtemp(join(tmpdir(), 'sbr-assets-'));
  for (const bin of ['kube-controller-manager', 'kube-scheduler', 'kwok', 'kubectl']) {
    await writeFile(join(assets, bin), '', { mode: 0o755 });
  }
  await writeFile(join(assets, 'kwok-stages.yaml'), '');
  const env = { PATH: await pathWithoutGo(), HOME: tmpdir(), KUBEBUILDER_ASSETS: assets };
  const bash = (await run('bash', ['-c', 'command -v bash'])).stdout.trim();
  for (const part of ['controllers', 'kwok', 'kubectl']) {
    const { stdout } = await run(bash, [script, part], { env });
    assert.equal(stdout.trim(), assets);
  }
});

test('a KUBEBUILDER_ASSETS without the binaries is named as the problem', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'sbr-assets-'));
  await writeFile(join(empty, 'etcd'), '');
  const { code, stderr } = await withoutGo('kube', { KUBEBUILDER_ASSETS: empty });
  assert.equal(code, 1);
  assert.match(
    stderr,
    new RegExp(`KUBEBUILDER_ASSETS=${empty} has no executable 'kube-apiserver'`),
  );
});

test('a test that needs a part the setup could not start fails with the reason', () => {
  assert.throws(
    () =>
      requirePart('PostgreSQL', { ok: false, error: 'PostgreSQL did not start: initdb failed' }),
    /This test needs PostgreSQL, which the test environment could not start: PostgreSQL did not start: initdb failed/,
  );
  assert.equal(requirePart('PostgreSQL', { ok: true, value: 42 }), 42);
});
