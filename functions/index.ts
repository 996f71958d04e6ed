#!/usr/bin/env node
/**
 * The composition root: every function, handed to the local runtime that runs them together
 * in one process (`npm start`, the `supabase-reconciler` bin). Each function's index.ts also
 * runs it alone, as its Knative Service does.
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

if (import.meta.main) {
  const stopRequested = new Promise<string>((resolve) => {
    process.once('SIGINT', () => {
      resolve('SIGINT');
    });
    process.once('SIGTERM', () => {
      resolve('SIGTERM');
    });
  });
  process.exitCode = await runCli(FUNCTIONS, process.argv.slice(2), {
    env: process.env,
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    stopRequested,
  });
}
