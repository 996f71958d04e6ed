/**
 * Listening and stopping. On SIGTERM the process turns unready, stops accepting
 * connections, lets in-flight events finish (bounded by the drain timeout), flushes
 * telemetry, and exits 0. Knative's queue-proxy has normally drained already by then; this
 * covers the rest (a local run, a pod deleted outright).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RuntimeConfig } from '../config/runtime-config.ts';
import { describeError } from '../telemetry/logger.ts';
import type { FunctionApp } from './app.ts';

/** A listening function. */
export interface RunningFunction {
  /** The port actually bound (useful when 0 was asked for). */
  readonly port: number;
  /** Drains, flushes telemetry and closes; resolves when done. Safe to call twice. */
  stop(): Promise<void>;
}

/** How `serve` behaves beyond the configuration. */
export interface ServeOptions {
  /**
   * Stop on SIGTERM and SIGINT and then exit the process (default true). Tests that run
   * several servers in one process pass false and call `stop()`.
   */
  readonly handleSignals?: boolean;
}

/**
 * Starts listening on `config.port` (all interfaces) and marks the function ready.
 * @param fn - the function app
 * @param config - the port and the drain timeout
 */
export async function serve(
  fn: FunctionApp,
  config: Pick<RuntimeConfig, 'port' | 'drainTimeoutMs' | 'http'>,
  options: ServeOptions = {},
): Promise<RunningFunction> {
  const { logger, health, telemetry } = fn;
  const server = await listen(fn, config.port, config.http);
  const { port } = server.address() as AddressInfo;
  health.markServing();
  logger.info({ port }, 'listening');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      health.startDraining();
      const drained = await closeWithin(server, config.drainTimeoutMs);
      logger.info({ drained }, drained ? 'drained' : 'drain timeout: connections closed');
      try {
        await telemetry.shutdown();
      } catch (error) {
        logger.warn({ error: describeError(error) }, 'telemetry flush failed');
      }
    })();
    return stopping;
  };

  if (options.handleSignals !== false) {
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'shutting down');
      void stop().then(
        () => {
          logger.flush();
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ error: describeError(error) }, 'shutdown failed');
          logger.flush();
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  return { port, stop };
}

function listen(fn: FunctionApp, port: number, timeouts: RuntimeConfig['http']): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(
      {
        headersTimeout: timeouts.headersTimeoutMs,
        requestTimeout: timeouts.requestTimeoutMs,
        keepAliveTimeout: timeouts.keepAliveTimeoutMs,
        // How often node checks those bounds (default 30 s): a tenth of the shortest, so a
        // slow client is cut close to its bound.
        connectionsCheckingInterval: Math.max(
          50,
          Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs) / 10,
        ),
      },
      fn.app,
    );
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/**
 * Stops accepting connections and waits for open ones to finish (idle keep-alive
 * connections are closed at once by node).
 * @returns true when everything finished in time; false when connections were cut
 */
function closeWithin(server: Server, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      clearInterval(sweeper);
      server.closeAllConnections();
      resolve(false);
    }, timeoutMs);
    // A keep-alive connection whose request finishes while draining becomes idle without
    // being closed; sweep such connections until the server has closed.
    const sweeper = setInterval(() => {
      server.closeIdleConnections();
    }, 50);
    server.close(() => {
      clearTimeout(timer);
      clearInterval(sweeper);
      resolve(true);
    });
    server.closeIdleConnections();
  });
}
