import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { resolveAssets } from './assets.ts';

const roots: string[] = [];

after(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

/** A repository whose scripts/envtest-assets.sh is the given bash text (a fake of the build). */
async function repoWithScript(body: string): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'sbr-assets-fake-'));
  roots.push(root);
  await mkdir(join(root, 'scripts'));
  await writeFile(join(root, 'scripts/envtest-assets.sh'), `set -eu\n${body}\n`);
  return root;
}

test("a build's own progress lines reach the progress callback without their prefix; Go's output does not", async () => {
  const root = await repoWithScript(`
echo "envtest-assets: building kwok v0 from Go modules into /cache (first run only; takes minutes)" >&2
echo "go: downloading sigs.k8s.io/kwok v0" >&2
echo "envtest-assets: built kwok v0 in 3 s" >&2
echo "/cache/kwok-$1"`);
  const lines: string[] = [];
  const dir = await resolveAssets(root, 'kwok', { progress: (line) => lines.push(line) });
  assert.equal(dir, '/cache/kwok-kwok');
  assert.deepEqual(lines, [
    'building kwok v0 from Go modules into /cache (first run only; takes minutes)',
    'built kwok v0 in 3 s',
  ]);
});

test('a failed build names the part, who needs it, and the advice the script gives', async () => {
  const root = await repoWithScript(`
echo "go: something went wrong" >&2
echo "envtest-assets: the test environment needs versitygw. Install Go." >&2
exit 1`);
  await assert.rejects(
    resolveAssets(root, 's3', { progress: () => undefined, neededBy: 'the embedded environment' }),
    {
      message:
        'The s3 binaries of the embedded environment are not available. the test environment needs versitygw. Install Go.',
    },
  );
});

test('an abort ends a build in progress', async () => {
  const root = await repoWithScript('exec sleep 30');
  const controller = new AbortController();
  const pending = resolveAssets(root, 'kube', {
    progress: () => undefined,
    signal: controller.signal,
  });
  setTimeout(() => {
    controller.abort();
  }, 50);
  const began = Date.now();
  await assert.rejects(pending, { name: 'AbortError' });
  assert.ok(Date.now() - began < 5000);
});
