/**
 * `npm test`: runs every test file (unit, integration, end-to-end) with Node's test runner,
 * TypeScript loaded through tsx, and the shared test environment started once by the global
 * setup (test/env/global-setup.ts).
 *
 * `npm test -- <file or glob> ...` runs only those files; arguments starting with `--` are
 * passed to `node --test` (for example `--test-name-pattern=watch`).
 */
import { spawn } from 'node:child_process';
import { globSync } from 'node:fs';
import { availableParallelism } from 'node:os';

const args = process.argv.slice(2);
const nodeFlags = args.filter((a) => a.startsWith('--'));
const files = args.filter((a) => !a.startsWith('--'));
// Test files mostly wait on the API server, PostgreSQL and S3, so run more of them than
// there are cores (the runner's default is cores - 1, which is 1 on a 2-core machine).
const concurrency = process.env.SBR_TEST_CONCURRENCY ?? String(Math.max(4, availableParallelism()));

/** One run of Node's test runner over `targets`; resolves with its exit code. */
function run(targets: readonly string[], stage: { concurrency: string; timeoutMs: number }) {
  return new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--test',
        '--test-global-setup=test/env/global-setup.ts',
        `--test-concurrency=${stage.concurrency}`,
        // A hung test fails after its bound instead of holding CI until its limit.
        `--test-timeout=${String(stage.timeoutMs)}`,
        ...nodeFlags,
        ...targets,
      ],
      { stdio: 'inherit' },
    );
    child.on('exit', (code, signal) => {
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

const E2E = 'test/e2e/';

if (files.length > 0) {
  process.exit(await run(files, { concurrency, timeoutMs: 120_000 }));
}

// The whole suite in two stages. The end-to-end scenarios each run the whole chain (every
// function, the broker, the watches) on the shared test servers; run among the other files,
// four at once on a 2-core machine, they have overrun their bounds (seen in CI). So: every
// other file first, as many at once as before; then the end-to-end files two at a time, with
// a longer bound per test.
const everything = globSync(
  ['shared/**/*.test.ts', 'functions/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
  { exclude: (name) => name === 'node_modules' },
).sort();
const first = await run(
  everything.filter((file) => !file.startsWith(E2E)),
  { concurrency, timeoutMs: 120_000 },
);
const second = await run(
  everything.filter((file) => file.startsWith(E2E)),
  { concurrency: process.env.SBR_E2E_CONCURRENCY ?? '2', timeoutMs: 240_000 },
);
process.exit(first !== 0 ? first : second);
