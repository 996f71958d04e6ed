/**
 * A real Jaeger (v2, built from its Go module by scripts/envtest-assets.sh part `jaeger`) on
 * loopback, for the tests that assert what an operator sees in Jaeger: it receives OTLP/HTTP,
 * keeps traces in memory, and answers its query API, configured by the very file the
 * observability component deploys (deploy/components/observability/jaeger-config.yaml). Started by the test file that needs it,
 * not by the global setup: its first build takes minutes, and only that file pays it.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveAssets } from '../../shared/local/embedded/assets.ts';
import { freePort } from '../../shared/local/embedded/ports.ts';
import { startProcess, waitUntil, type ManagedProcess } from './process.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** A span as Jaeger's query API (`GET /api/traces/<id>`) returns it. */
export interface JaegerSpan {
  readonly traceID: string;
  readonly spanID: string;
  readonly operationName: string;
  /** `CHILD_OF` its parent (a root span has none); `FOLLOWS_FROM` for links. */
  readonly references: readonly { refType: string; traceID: string; spanID: string }[];
  /** Microseconds since the epoch. */
  readonly startTime: number;
  readonly duration: number;
  /** Key into the trace's `processes`. */
  readonly processID: string;
  readonly tags: readonly { key: string; type: string; value: unknown }[];
}

/** One trace as Jaeger's query API returns it. */
export interface JaegerTrace {
  readonly traceID: string;
  readonly spans: readonly JaegerSpan[];
  /** The processes (service name and resource attributes) that sent the spans. */
  readonly processes: Readonly<Record<string, { serviceName: string }>>;
}

/** A running Jaeger. */
export interface JaegerEnvironment {
  /** Base URL of its OTLP/HTTP receiver, as for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly otlpEndpoint: string;
  /** Base URL of its query API (`/api/traces/<id>`; the UI's port in a cluster). */
  readonly queryUrl: string;
  /** The trace as Jaeger has it now, or undefined when it knows no span of it (404). */
  trace(traceId: string): Promise<JaegerTrace | undefined>;
  stop(): Promise<void>;
}

/**
 * The Jaeger configuration the observability component deploys (an OpenTelemetry Collector
 * file: OTLP receivers, in-memory storage, query API, health check), so the test proves the
 * shipped file. Each listener it binds on every interface of a Pod is moved here to a free
 * port on 127.0.0.1, so nothing listens on a public address.
 */
const DEPLOYED_CONFIG = join(repoRoot, 'deploy/components/observability/jaeger-config.yaml');

/** The listeners of the deployed configuration, by their port there. */
const LISTENERS = {
  otlpGrpc: 4317,
  otlpHttp: 4318,
  queryGrpc: 16685,
  queryHttp: 16686,
  health: 13133,
} as const;

type Ports = Record<keyof typeof LISTENERS, number>;

/**
 * The deployed configuration with every listener on loopback.
 * @throws Error when a listener of LISTENERS is no longer in the file (update both together)
 */
export async function loopbackJaegerConfig(ports: Ports): Promise<string> {
  let config = await readFile(DEPLOYED_CONFIG, 'utf8');
  for (const [name, deployedPort] of Object.entries(LISTENERS)) {
    const bind = `endpoint: 0.0.0.0:${deployedPort}`;
    if (!config.includes(bind)) {
      throw new Error(
        `${DEPLOYED_CONFIG} has no '${bind}' (${name}); test/env/jaeger.ts moves each listener to loopback and must know them all`,
      );
    }
    config = config.replaceAll(bind, `endpoint: 127.0.0.1:${ports[name as keyof Ports]}`);
  }
  if (config.includes('0.0.0.0')) {
    throw new Error(`${DEPLOYED_CONFIG} binds a listener test/env/jaeger.ts does not move`);
  }
  return config;
}

/** Attempts when a port taken between freePort() and Jaeger's bind fails the start. */
const START_ATTEMPTS = 3;

/**
 * Builds Jaeger on first use (minutes; cached afterwards), then starts it on loopback and
 * waits until it is healthy.
 * @throws Error saying how to build Jaeger when it cannot be had, or pointing at its log
 *   when it does not start
 */
export async function startJaeger(): Promise<JaegerEnvironment> {
  const assets = await resolveAssets(repoRoot, 'jaeger', {
    neededBy: 'the Jaeger trace test (build it once with `scripts/envtest-assets.sh jaeger`)',
    progress: (line) => process.stderr.write(`jaeger: ${line}\n`),
  });
  // Kept when the start fails: the error names the log file in it.
  const workDir = await mkdtemp(join(tmpdir(), 'sbr-jaeger-'));
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(join(assets, 'jaeger'), workDir);
    } catch (error) {
      const log = await readFile(join(workDir, 'jaeger.log'), 'utf8').catch(() => '');
      if (attempt >= START_ATTEMPTS || !log.includes('address already in use')) throw error;
      await rm(join(workDir, 'jaeger.log'), { force: true });
    }
  }
}

async function startOnce(binary: string, workDir: string): Promise<JaegerEnvironment> {
  const ports: Ports = {
    otlpGrpc: await freePort(),
    otlpHttp: await freePort(),
    queryGrpc: await freePort(),
    queryHttp: await freePort(),
    health: await freePort(),
  };
  const configPath = join(workDir, 'jaeger.yaml');
  await writeFile(configPath, await loopbackJaegerConfig(ports));
  const proc: ManagedProcess = startProcess(
    'jaeger',
    binary,
    [`--config=${configPath}`],
    join(workDir, 'jaeger.log'),
  );
  try {
    await waitUntil(
      'jaeger',
      async () => (await fetch(`http://127.0.0.1:${ports.health}/status`)).ok,
      proc.exited,
      30_000,
    );
  } catch (error) {
    // A child process left running would keep the test runner from exiting.
    await proc.stop();
    throw error;
  }
  const queryUrl = `http://127.0.0.1:${ports.queryHttp}`;
  return {
    otlpEndpoint: `http://127.0.0.1:${ports.otlpHttp}`,
    queryUrl,
    async trace(traceId) {
      const response = await fetch(`${queryUrl}/api/traces/${encodeURIComponent(traceId)}`);
      if (response.status === 404) return undefined;
      if (!response.ok) {
        throw new Error(
          `Jaeger answered ${response.status} to GET /api/traces/${traceId}: ${await response.text()}`,
        );
      }
      const body = (await response.json()) as { data?: JaegerTrace[] };
      return body.data?.[0];
    },
    async stop() {
      await proc.stop();
      if (!process.env.SBR_TEST_KEEP_ENV) await rm(workDir, { recursive: true, force: true });
    },
  };
}
