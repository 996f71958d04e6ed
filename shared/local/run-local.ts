/**
 * The local runtime: every function in one process (`npm start`, `supabase-reconciler run`),
 * each served at `/<function>/` of one HTTP server on loopback, with the in-process broker
 * (broker.ts, routing by deploy/overlays/knative/'s Triggers) at its ingress path, the ApiServerSource
 * on watches of the cluster in the kubeconfig, and a PingSource for the resync. The functions
 * receive exactly what Knative would deliver them, over HTTP. It knows no function: the
 * composition root (functions/index.ts) hands them over.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import { parseConfig } from '../config/runtime-config.ts';
import type { Environment } from '../config/settings.ts';
import { createFunctionApp } from '../runtime/app.ts';
import type { EventHandler, HandlerResult } from '../runtime/handler.ts';
import { PING_EVENT } from '../events/types.ts';
import { isAcknowledgement } from '../runtime/handler.ts';
import { Health } from '../runtime/health.ts';
import type { RegisteredFunction } from '../runtime/run-function.ts';
import { createLogger, describeError } from '../telemetry/logger.ts';
import { fileSpanRecorder } from '../telemetry/span-store.ts';
import { startTelemetry, type Telemetry } from '../telemetry/telemetry.ts';
import {
  RECONCILER_RESOURCES,
  startApiServerSource,
  type ApiServerSource,
} from './api-server-source.ts';
import { createLocalBroker, type LocalBroker } from './broker.ts';
import { phaseLine } from './phase-line.ts';
import { startPingSource, type PingSource } from './ping-source.ts';
import { defaultManifestDir, readTopology } from './triggers.ts';

/** How the local runtime is started. */
export interface LocalRuntimeOptions {
  readonly functions: readonly RegisteredFunction[];
  /** The environment every function's configuration is read from (process.env). */
  readonly env: Environment;
  /** The cluster: a kubeconfig file (undefined: KUBECONFIG, ~/.kube/config). */
  readonly kubeconfigPath?: string | undefined;
  /** Where recorded spans go (`<stateDir>/spans`), read by `supabase-reconciler trace`. */
  readonly stateDir: string;
  /** One line per handled event, for a person (stdout). */
  readonly print: (line: string) => void;
  /** The loopback port (default 0: any free port). */
  readonly port?: number;
  /** The Trigger and Broker manifests (default deploy/overlays/knative/). */
  readonly manifestDir?: string;
  /** Time between resync ticks (default 5 minutes, as deploy/'s PingSource). */
  readonly resyncIntervalMs?: number;
  /** The namespace the sources and the broker say they are in (Kn-Namespace). */
  readonly namespace?: string;
  /**
   * Only these namespaces' projects and Deployments (the ApiServerSource's, and resync's
   * RESYNC_NAMESPACES); absent: every namespace.
   */
  readonly namespaces?: readonly string[] | undefined;
  /** Longest wait for in-flight deliveries on stop (default 30 s). */
  readonly drainTimeoutMs?: number;
}

/** A running local runtime. */
export interface LocalRuntime {
  /** `http://127.0.0.1:<port>`: each function at `/<name>/`, the broker at `brokerUrl`. */
  readonly url: string;
  readonly brokerUrl: string;
  readonly broker: LocalBroker;
  readonly source: ApiServerSource;
  readonly telemetry: Telemetry;
  /** Stops the sources, lets in-flight deliveries finish (bounded), closes; safe twice. */
  stop(): Promise<void>;
}

const DEFAULTS = {
  resyncIntervalMs: 5 * 60_000,
  namespace: 'supabase-reconciler',
  drainTimeoutMs: 30_000,
};

/** The process's own name in telemetry and logs. */
export const LOCAL_RUNTIME_NAME = 'supabase-reconciler';

/**
 * Starts everything; resolves once the sources have listed the cluster.
 * @throws ConfigError (a function's setting), ManifestError (deploy/overlays/knative), or the
 *   source's error when the cluster cannot be listed (credentials, rights, CRD missing)
 */
export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  // The functions' Kubernetes clients load KUBECONFIG on their first call.
  const env: Environment = {
    LOG_LEVEL: 'warn',
    // Spans are recorded for `supabase-reconciler trace`; they go to a collector (Jaeger) only
    // when one is named, instead of failing to reach localhost:4318 every few seconds.
    ...(options.env.OTEL_EXPORTER_OTLP_ENDPOINT === undefined &&
    options.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT === undefined
      ? { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none' }
      : {}),
    ...options.env,
    ...(options.namespaces?.length ? { RESYNC_NAMESPACES: options.namespaces.join(',') } : {}),
    ...(options.kubeconfigPath ? { KUBECONFIG: options.kubeconfigPath } : {}),
  };
  if (options.kubeconfigPath) process.env.KUBECONFIG = options.kubeconfigPath;
  const config = parseConfig({ ...env, FUNCTION_NAME: LOCAL_RUNTIME_NAME });
  const logger = createLogger({ name: LOCAL_RUNTIME_NAME, level: config.logLevel });
  const telemetry = startTelemetry(config, {
    logger,
    spanProcessors: [fileSpanRecorder(join(options.stateDir, 'spans'))],
  });
  const health = new Health();
  const root = express();
  root.disable('x-powered-by');
  const server = await listen(root, options.port ?? 0);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const broker = createLocalBroker({
    topology: await readTopology(options.manifestDir ?? defaultManifestDir()),
    namespace: options.namespace ?? DEFAULTS.namespace,
    resolve: (ref) => `${url}/${ref.name}/`,
    logger: logger.child({ component: 'broker' }),
  });
  const brokerUrl = `${url}${broker.ingressPath}`;
  root.post(broker.ingressPath, broker.handleIngress);
  root.options(broker.ingressPath, broker.handleIngress);

  for (const fn of options.functions) {
    // resync posts its fan-out to K_SINK: back into the broker, as a SinkBinding would.
    const configured = fn.configure({ ...env, K_SINK: brokerUrl });
    const fnLogger = logger.child({ function: fn.name });
    const handle = await configured.setup({ logger: fnLogger, telemetry, health });
    const app = createFunctionApp({
      name: fn.name,
      handle: printing(fn.name, handle, options.print),
      logger: fnLogger,
      telemetry,
      health,
      acknowledgeMalformed: fn.acknowledgeMalformed,
    });
    root.use(`/${fn.name}`, app.app);
  }
  broker.verifyDestinations();
  health.markServing();

  const namespace = options.namespace ?? DEFAULTS.namespace;
  const source = startApiServerSource({
    kubeconfig: options.kubeconfigPath,
    namespace,
    resources: RECONCILER_RESOURCES,
    ...(options.namespaces?.length ? { namespaces: options.namespaces } : {}),
    sink: brokerUrl,
    logger: logger.child({ component: 'apiserversource' }),
  });
  // Started once the sources have listed the cluster; stop() may run before that.
  const started: { ping?: PingSource } = {};
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      health.startDraining();
      await started.ping?.stop();
      await source.stop();
      const drained = await broker.drain(options.drainTimeoutMs ?? DEFAULTS.drainTimeoutMs);
      if (!drained) logger.warn('stopped before every delivery finished');
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      });
      try {
        await telemetry.shutdown();
      } catch (error) {
        logger.warn({ error: describeError(error) }, 'telemetry flush failed');
      }
    })();
    return stopping;
  };
  try {
    await source.ready;
  } catch (error) {
    await stop();
    throw error;
  }
  started.ping = startPingSource({
    namespace,
    name: 'resync',
    intervalMs: options.resyncIntervalMs ?? DEFAULTS.resyncIntervalMs,
    sink: brokerUrl,
    logger: logger.child({ component: 'pingsource' }),
  });
  return { url, brokerUrl, broker, source, telemetry, stop };
}

function listen(app: express.Express, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(app);
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** A handler that also prints one line per event it handled (phase-line.ts). */
function printing(name: string, handle: EventHandler, print: (line: string) => void): EventHandler {
  return async (event, context) => {
    const started = performance.now();
    const traceId = context.span.spanContext().traceId;
    const line = (outcome: string) =>
      phaseLine({
        time: new Date(),
        fn: name,
        event: event,
        outcome,
        durationMs: performance.now() - started,
        traceId,
      });
    let result: HandlerResult;
    try {
      result = await handle(event, context);
    } catch (error) {
      print(line(`error: ${error instanceof Error ? error.message : String(error)}`));
      throw error;
    }
    if (isAcknowledgement(result)) {
      // Stale events and our own writes are the normal noise of an event-driven system.
      if (result.outcome !== 'dropped_own_write' && result.outcome !== 'dropped_stale') {
        print(line(`${result.outcome}: ${result.reason}`));
      }
    } else if (result) {
      print(line(`→ ${result.type}`));
    } else if (event.type === PING_EVENT || event.kind !== 'Deployment') {
      // A Deployment's status changes many times per rollout; health-aggregate's lines for
      // them would drown the chain's. Its transitions show as Events and in `status`.
      print(line('done'));
    }
    return result;
  };
}
