/**
 * The child processes of the embedded environment (and of the test environment built on it):
 * each one's output kept in a log file, a readiness wait that fails as soon as it dies, and a
 * stop that waits until it has exited.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';

/** A server process of the embedded environment whose output is kept in a log file. */
export interface ManagedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logPath: string;
  /** Resolves when the process has exited (at once if it already has). */
  stop(): Promise<void>;
  /** Rejects as soon as the process exits; used to fail a readiness wait early. */
  readonly exited: Promise<never>;
}

/** How a managed process is started and stopped. */
export interface ProcessOptions {
  /** Variables added to the inherited environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Run as this user and group (PostgreSQL refuses to run as root). */
  readonly uid?: number;
  readonly gid?: number;
  /**
   * The signal that stops it promptly. SIGTERM for most servers; PostgreSQL's SIGTERM is a
   * "smart" shutdown that waits for every client to leave, so it is stopped with SIGINT.
   */
  readonly stopSignal?: NodeJS.Signals;
}

/**
 * Starts a server binary with its stdout and stderr appended to `logPath`.
 * @param name - short name used in error messages
 * @param command - the executable
 * @param args - its arguments
 * @param logPath - where its output goes (read it when a start fails)
 * @param options - environment, user and stop signal
 * @returns a handle to stop it and to notice an early exit
 */
export function startProcess(
  name: string,
  command: string,
  args: readonly string[],
  logPath: string,
  options: ProcessOptions = {},
): ManagedProcess {
  const log = createWriteStream(logPath, { flags: 'a' });
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
    ...(options.uid === undefined ? {} : { uid: options.uid }),
    ...(options.gid === undefined ? {} : { gid: options.gid }),
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exitedAlready = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exitedAlready = true;
      resolve();
    });
    child.once('error', () => {
      exitedAlready = true;
      resolve();
    });
  });
  const exited = new Promise<never>((_, reject) => {
    void exitPromise.then(() => {
      reject(
        new Error(
          `${name} exited (code ${String(child.exitCode)}) before it was ready; see ${logPath}`,
        ),
      );
    });
  });
  // Nobody may be listening to `exited` yet; an unobserved rejection must not crash the runner.
  exited.catch(() => undefined);
  return {
    name,
    child,
    logPath,
    exited,
    async stop() {
      if (!exitedAlready) {
        child.kill(options.stopSignal ?? 'SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exitPromise;
        clearTimeout(killer);
      }
      log.end();
    },
  };
}

/**
 * Polls `probe` until it returns true, the process exits, or `timeoutMs` passes.
 * @param what - what is awaited, for the error message
 * @param probe - resolves true when ready; false or a rejection means "not yet"
 * @param exited - a promise that rejects when the awaited process dies
 * @param timeoutMs - how long to wait in total
 * @throws Error naming `what` when the time runs out or the process dies
 */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  exited: Promise<never>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await Promise.race([probe(), exited])) return;
    } catch (error) {
      if (error instanceof Error && error.message.includes('before it was ready')) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what} was not ready within ${timeoutMs} ms`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
