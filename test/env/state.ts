import { readFileSync } from 'node:fs';
import type { ClusterConnection } from './cluster.ts';
import type { KubeConnection } from './kube.ts';
import type { PostgresConnection } from './postgres.ts';
import type { S3Connection } from './s3.ts';

/** Either the connection of a part of the test environment, or why it could not start. */
export type Part<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** What the global setup started, handed to the test files (separate processes) as a file. */
export interface EnvironmentState {
  readonly kube: Part<KubeConnection>;
  /** The controllers and simulated Nodes; the API server works without them. */
  readonly cluster: Part<ClusterConnection>;
  readonly postgres: Part<PostgresConnection>;
  readonly s3: Part<S3Connection>;
}

/** The environment variable naming the state file; set by the global setup. */
export const STATE_FILE_VARIABLE = 'SBR_TEST_ENV_FILE';

let cached: EnvironmentState | undefined;

/**
 * Reads the state the global setup wrote.
 * @throws Error explaining how to run the tests when there is no global setup
 */
export function readState(): EnvironmentState {
  if (cached) return cached;
  const file = process.env[STATE_FILE_VARIABLE];
  if (!file) {
    throw new Error(
      `The test environment is not running (${STATE_FILE_VARIABLE} is not set). Run the tests with ` +
        '`npm test` (or `npm test -- <files>`), whose global setup starts kube-apiserver, PostgreSQL and S3.',
    );
  }
  cached = JSON.parse(readFileSync(file, 'utf8')) as EnvironmentState;
  return cached;
}

/**
 * The connection of one part, or an Error carrying the reason it is missing.
 * @throws Error with the global setup's explanation (what to install or set)
 */
export function requirePart<T>(name: string, part: Part<T>): T {
  if (part.ok) return part.value;
  throw new Error(
    `This test needs ${name}, which the test environment could not start: ${part.error}`,
  );
}
