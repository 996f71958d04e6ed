/**
 * `npm run mutation`: mutation testing (StrykerJS) of the core decision logic listed in
 * stryker.config.json. Its integration tests need the real API server, PostgreSQL and S3, so
 * this starts the test environment once (the same global setup as `npm test`), runs Stryker
 * with it, and stops it. Arguments are passed to `stryker run` (for example
 * `npm run mutation -- --mutate shared/events/parse.ts`).
 *
 * The report lands in reports/mutation/ (mutation.html, mutation.json); its README records
 * the scores and the surviving mutants judged equivalent. Not part of `npm test`: it takes
 * tens of minutes.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { globalSetup, globalTeardown } from '../test/env/global-setup.ts';

const require = createRequire(import.meta.url);
// The package exports only its API and package.json; its command sits in bin/.
const strykerBin = join(
  dirname(require.resolve('@stryker-mutator/core/package.json')),
  'bin/stryker.js',
);

await globalSetup();
try {
  process.exitCode = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [strykerBin, 'run', ...process.argv.slice(2)], {
      stdio: 'inherit',
    });
    child.once('error', reject);
    child.once('exit', (exitCode, signal) => {
      resolve(exitCode ?? (signal ? 1 : 0));
    });
  });
} finally {
  await globalTeardown();
}
