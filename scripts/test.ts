/**
 * `npm test`: runs every test file (unit, integration, end-to-end) with Node's test runner,
 * TypeScript loaded through tsx, and the shared test environment started once by the global
 * setup (test/env/global-setup.ts).
 *
 * `npm test -- <file or glob> ...` runs only those files; arguments starting with `--` are
 * passed to `node --test` (for example `--test-name-pattern=watch`).
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

const args = process.argv.slice(2);
const nodeFlags = args.filter((a) => a.startsWith('--'));
const files = args.filter((a) => !a.startsWith('--'));
const patterns =
  files.length > 0
    ? files
    : ['shared/**/*.test.ts', 'functions/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'];

// Test files mostly wait on the API server, PostgreSQL and S3, so run more of them than
// there are cores (the runner's default is cores - 1, which is 1 on a 2-core machine).
const concurrency = process.env.SBR_TEST_CONCURRENCY ?? String(Math.max(4, availableParallelism()));

const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-global-setup=test/env/global-setup.ts',
    `--test-concurrency=${concurrency}`,
    // A hung test fails after 2 minutes instead of holding CI until its limit.
    '--test-timeout=120000',
    ...nodeFlags,
    ...patterns,
  ],
  { stdio: 'inherit' },
);
child.on('exit', (code, signal) => {
  process.exit(code ?? (signal ? 1 : 0));
});
