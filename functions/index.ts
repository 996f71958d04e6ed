#!/usr/bin/env node
/**
 * The composition root: every function, handed to the local runtime that runs them together
 * in one process (`npm start`, the `supabase-reconciler` bin), or to run one of them alone
 * (`function <name>`, as its Knative Service does). Each function's index.ts also runs it
 * alone when it is the entry point.
 */
import { runCli } from '../shared/local/cli.ts';
import type { RegisteredFunction } from '../shared/runtime/run-function.ts';
import { deadLetter } from './dead-letter/index.ts';
import { deployComponents } from './deploy-components/index.ts';
import { finalize } from './finalize/index.ts';
import { healthAggregate } from './health-aggregate/index.ts';
import { initDb } from './init-db/index.ts';
import { resync } from './resync/index.ts';
import { secrets } from './secrets/index.ts';
import { validateDeps } from './validate-deps/index.ts';

/** Every function of the reconciler, in the order of the chain. */
export const FUNCTIONS: readonly RegisteredFunction[] = [
  validateDeps,
  initDb,
  secrets,
  deployComponents,
  healthAggregate,
  finalize,
  resync,
  deadLetter,
];

/**
 * The command line with this process's arguments, streams and signals (the bin, `npm start`,
 * and the production bundle's entry, scripts/build.ts).
 * @returns the exit code
 */
export function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const stopRequested = new Promise<string>((resolve) => {
    process.once('SIGINT', () => {
      resolve('SIGINT');
    });
    process.once('SIGTERM', () => {
      resolve('SIGTERM');
    });
  });
  return runCli(FUNCTIONS, argv, {
    env: process.env,
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    stopRequested,
  });
}

if (import.meta.main) process.exitCode = await main();
