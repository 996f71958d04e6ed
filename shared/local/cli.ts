/**
 * The command line of the local runtime (`npm start`, the `supabase-reconciler` bin):
 *
 *   supabase-reconciler [run] [--kubeconfig <file>] [--namespace <ns>]... [--port <n>]
 *                       [--resync-interval <seconds>]
 *   supabase-reconciler status [--kubeconfig <file>]
 *   supabase-reconciler trace <namespace>/<name> [--kubeconfig <file>]
 *   supabase-reconciler function <name>
 *   supabase-reconciler migrate-from-strrl [--kubeconfig <file>] [--namespace <ns>]... [--apply]
 *
 * `run` reconciles the cluster of the kubeconfig (flag, KUBECONFIG, ~/.kube/config); with
 * none, it starts the embedded environment (embedded/) and reconciles its demo project.
 * `function` runs one function alone, as its Knative Service does (the container image's
 * `args: ["function", "<name>"]`), configured by the environment only. `migrate-from-strrl`
 * moves STRRL/supabase-operator projects over (shared/migrate/command.ts).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseLocalConfig } from '../config/local.ts';
import type { Environment } from '../config/settings.ts';
import { isNamespaceName, isObjectName } from '../k8s/names.ts';
import { kubeProjectStore } from '../reconcile/project-store.ts';
import type { RegisteredFunction } from '../runtime/run-function.ts';
import { readTrace } from '../telemetry/span-store.ts';
import { clusterConfigured, type EmbeddedEnvironment } from './embedded/index.ts';
import { startLocalRuntime } from './run-local.ts';
import { renderStatusTable } from './status-table.ts';
import { renderWaterfall } from './waterfall.ts';

/** Where the command writes, and what it reads. */
export interface CliIo {
  readonly env: Environment;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Resolves when the process is asked to stop (SIGINT, SIGTERM). */
  readonly stopRequested: Promise<string>;
}

const USAGE = `usage:
  supabase-reconciler [run] [--kubeconfig <file>] [--namespace <ns>]... [--port <n>] [--resync-interval <seconds>]
  supabase-reconciler status [--kubeconfig <file>]
  supabase-reconciler trace <namespace>/<name> [--kubeconfig <file>]
  supabase-reconciler function <name>
  supabase-reconciler migrate-from-strrl [--kubeconfig <file>] [--namespace <ns>]... [--apply]
`;

/**
 * Runs one command.
 * @param functions - every function (the composition root's list)
 * @param argv - the arguments after the program name
 * @returns the exit code
 */
export async function runCli(
  functions: readonly RegisteredFunction[],
  argv: readonly string[],
  io: CliIo,
): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        kubeconfig: { type: 'string' },
        namespace: { type: 'string', multiple: true },
        port: { type: 'string' },
        'resync-interval': { type: 'string' },
        apply: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    io.err(`supabase-reconciler: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = args;
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const [command = 'run', target, ...extra] = positionals;
  if (command === 'function') return runOne(functions, target, extra, values, io);
  if (command === 'migrate-from-strrl' && target === undefined) {
    return runMigrateFromStrrl(values, io);
  }
  if (extra.length > 0 || (command !== 'trace' && target !== undefined)) {
    io.err(
      `supabase-reconciler: unexpected arguments: ${positionals.slice(1).join(' ')}\n${USAGE}`,
    );
    return 2;
  }
  let env = io.env;
  if (values.port !== undefined) env = { ...env, LOCAL_PORT: values.port };
  if (values['resync-interval'] !== undefined) {
    const seconds = Number(values['resync-interval']);
    env = { ...env, RESYNC_INTERVAL_MS: String(Math.round(seconds * 1000)) };
  }
  try {
    const config = parseLocalConfig(env);
    const kubeconfig = values.kubeconfig;
    switch (command) {
      case 'run':
        return await run(functions, { ...io, env }, config, kubeconfig, values.namespace);
      case 'status':
        return await status(io, kubeconfig);
      case 'trace':
        return await traceOf(io, config.stateDir, target, kubeconfig);
      default:
        io.err(`supabase-reconciler: unknown command "${command}"\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    // A bad setting, an unreadable kubeconfig, a cluster that refuses the list: one line that
    // says what, never a stack trace (the JSON log on stderr has the details).
    io.err(`supabase-reconciler: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

async function run(
  functions: readonly RegisteredFunction[],
  io: CliIo,
  config: ReturnType<typeof parseLocalConfig>,
  kubeconfigFlag: string | undefined,
  namespaces: readonly string[] | undefined,
): Promise<number> {
  const invalid = namespaces?.find((ns) => !isNamespaceName(ns));
  if (invalid !== undefined) {
    io.err(`supabase-reconciler: --namespace "${invalid.slice(0, 100)}" is not a namespace name\n`);
    return 2;
  }
  const embeddedState = join(config.stateDir, 'embedded');
  const choice = clusterConfigured({
    kubeconfigFlag,
    env: io.env,
    embeddedKubeconfigPath: join(embeddedState, 'kubeconfig'),
  });
  let embedded: EmbeddedEnvironment | undefined;
  let env = io.env;
  let kubeconfigPath: string | undefined;
  if (choice.kind === 'none') {
    io.out(`${choice.reason}\n`);
    const { startEmbeddedEnvironment } = await import('./embedded/index.ts');
    const aborted = new AbortController();
    void io.stopRequested.then(() => {
      aborted.abort();
    });
    embedded = await startEmbeddedEnvironment({
      stateDir: embeddedState,
      log: (line) => {
        io.out(`${line}\n`);
      },
      signal: aborted.signal,
    });
    kubeconfigPath = embedded.kubeconfigPath;
    // The embedded servers are on loopback, which the egress policy refuses by default.
    const allow = [env.EGRESS_ALLOW, ...embedded.egressAllow].filter(Boolean).join(',');
    env = { ...env, EGRESS_ALLOW: allow };
  } else if (choice.kind === 'kubeconfig') {
    kubeconfigPath = choice.path;
  }
  const runtime = await startLocalRuntime({
    functions,
    env,
    kubeconfigPath,
    stateDir: config.stateDir,
    print: (line) => {
      io.out(`${line}\n`);
    },
    port: config.port,
    resyncIntervalMs: config.resyncIntervalMs,
    namespaces,
  }).catch(async (error: unknown) => {
    await embedded?.stop();
    throw error;
  });
  io.out(
    `supabase-reconciler: reconciling the cluster of ${kubeconfigPath ?? 'this Pod (in-cluster service account)'} (${functions.length} functions at ${runtime.url}, resync every ${Math.round(config.resyncIntervalMs / 1000)} s); Ctrl-C stops\n`,
  );
  if (embedded) {
    io.out(
      `embedded environment ready: Pods are simulated by kwok (no container runs). Point kubectl at it:\n  export KUBECONFIG=${kubeconfigPath}\n  kubectl get sbp -n ${embedded.namespace} -w\n`,
    );
  }
  const signal = await io.stopRequested;
  io.out(`${signal}: stopping (in-flight events finish first)\n`);
  await runtime.stop();
  await embedded?.stop();
  return 0;
}

/**
 * `function <name>`: the function's own process, exactly what `functions/<name>/index.ts` runs
 * when it is the entry point. Resolves once it listens; it then serves until SIGTERM.
 */
async function runOne(
  functions: readonly RegisteredFunction[],
  name: string | undefined,
  extra: readonly string[],
  flags: Readonly<Record<string, unknown>>,
  io: CliIo,
): Promise<number> {
  const names = functions.map((fn) => fn.name).join(', ');
  const given = Object.keys(flags).filter((flag) => flags[flag] !== undefined);
  if (extra.length > 0 || given.length > 0) {
    const unexpected = [...extra, ...given.map((flag) => `--${flag}`)].join(' ');
    io.err(
      `supabase-reconciler: function takes a name only, not ${unexpected}: a function reads its settings from the environment (PORT, KUBECONFIG, its own variables)\n`,
    );
    return 2;
  }
  const fn = functions.find((candidate) => candidate.name === name);
  if (!fn) {
    io.err(
      `supabase-reconciler: ${name === undefined ? 'function needs a name' : `unknown function "${name.slice(0, 100)}"`}: one of ${names}\n`,
    );
    return 2;
  }
  // Knative sets K_SERVICE (the Service is named after the function); elsewhere the name given
  // here is the function's name, so FUNCTION_NAME need not repeat it.
  const named = io.env.FUNCTION_NAME ?? io.env.K_SERVICE;
  await fn.runAlone(named === undefined ? { ...io.env, FUNCTION_NAME: fn.name } : io.env);
  return 0;
}

async function status(io: CliIo, kubeconfigPath: string | undefined): Promise<number> {
  const projects = await kubeProjectStore(kubeconfigPath ? { kubeconfigPath } : {}).list();
  io.out(renderStatusTable(projects));
  return 0;
}

async function traceOf(
  io: CliIo,
  stateDir: string,
  target: string | undefined,
  kubeconfigPath: string | undefined,
): Promise<number> {
  const [namespace, name, ...rest] = (target ?? '').split('/');
  if (
    !namespace ||
    !name ||
    rest.length > 0 ||
    !isNamespaceName(namespace) ||
    !isObjectName(name)
  ) {
    io.err(`supabase-reconciler: trace needs <namespace>/<name> of a SupabaseProject\n${USAGE}`);
    return 2;
  }
  const project = await kubeProjectStore(kubeconfigPath ? { kubeconfigPath } : {}).get({
    namespace,
    name,
  });
  if (!project) {
    io.err(`supabase-reconciler: SupabaseProject ${namespace}/${name} not found\n`);
    return 1;
  }
  const traceId = project.status?.lastTraceId;
  if (!traceId) {
    io.err(
      `supabase-reconciler: ${namespace}/${name} has no status.lastTraceId yet: no reconciliation has started\n`,
    );
    return 1;
  }
  io.out(renderWaterfall(traceId, await readTrace(join(stateDir, 'spans'), traceId)));
  return 0;
}

async function runMigrateFromStrrl(
  values: { readonly kubeconfig?: string; readonly namespace?: string[]; readonly apply?: boolean },
  io: CliIo,
): Promise<number> {
  try {
    // Loaded on use: `function <name>` starts through this file too, and must not pay for it.
    const { migrateFromStrrl } = await import('../migrate/command.ts');
    const { kubeMigrationCluster } = await import('../migrate/kube.ts');
    const cluster = await kubeMigrationCluster(values.kubeconfig);
    return await migrateFromStrrl(
      cluster,
      { apply: values.apply === true, namespaces: values.namespace ?? [] },
      io,
    );
  } catch (error) {
    io.err(`supabase-reconciler: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
