/**
 * The one call a function's index.ts makes: parse the configuration, build the logger and
 * telemetry, let the function build its dependencies once, and serve. A configuration error
 * ends the process with exit code 1 and the message, before anything listens.
 */
import { ConfigError } from '../config/config-error.ts';
import { parseConfig, type FunctionConfig } from '../config/runtime-config.ts';
import type { ConfigSchema, Environment } from '../config/settings.ts';
import { createLogger, describeError, type Logger } from '../telemetry/logger.ts';
import { startTelemetry, type Telemetry } from '../telemetry/telemetry.ts';
import { functionUserAgent } from '../k8s/client.ts';
import { readServiceAccountIssuer } from '../k8s/service-account-issuer.ts';
import { createFunctionApp } from './app.ts';
import { brokerAuthenticator } from './authenticate.ts';
import type { EventHandler } from './handler.ts';
import { Health } from './health.ts';
import { serve, type RunningFunction } from './serve.ts';

/** What a function's `setup` receives: everything built from the configuration. */
export interface FunctionRuntime<S extends ConfigSchema = ConfigSchema> {
  readonly config: FunctionConfig<S>;
  readonly logger: Logger;
  readonly telemetry: Telemetry;
  /** Register readiness checks here (say, the pg pool). */
  readonly health: Health;
}

/** A function, as its index.ts describes it. */
export interface FunctionDefinition<S extends ConfigSchema = ConfigSchema> {
  /**
   * The function's name: its Knative Service's (which Knative passes as `K_SERVICE`), and its
   * path and `FUNCTION_NAME` in the local runtime.
   */
  readonly name: string;
  /** The function's own settings, defined in shared/config. */
  readonly schema?: S;
  /**
   * Builds the function's clients once per process and returns its handler. Keep it quick:
   * it runs before the first event can be answered (create clients lazily where possible).
   */
  setup(runtime: FunctionRuntime<S>): EventHandler | Promise<EventHandler>;
  /** Answer unreadable requests 202 instead of 400 (a dead-letter sink; see createFunctionApp). */
  readonly acknowledgeMalformed?: boolean;
}

/**
 * A function with its configuration type erased, as the composition root lists them and the
 * local runtime (shared/local/) builds them, all in one process.
 */
export interface RegisteredFunction {
  readonly name: string;
  readonly acknowledgeMalformed: boolean;
  /**
   * Parses the function's configuration from `env` and returns how to set it up.
   * @throws ConfigError naming the variable at fault
   */
  configure(env: Environment): ConfiguredFunction;
  /**
   * Runs the function alone in this process, exactly as its index.ts does when it is the entry
   * point (runFunction): the production CLI's `function <name>`, one per Knative Service.
   * @param env - the environment (default `process.env`)
   */
  runAlone(env?: Environment): Promise<RunningFunction>;
}

/** A function whose configuration is parsed: what remains is to build its handler. */
export interface ConfiguredFunction {
  readonly config: FunctionConfig;
  setup(runtime: Omit<FunctionRuntime, 'config'>): EventHandler | Promise<EventHandler>;
}

/**
 * Declares a function (each function's index.ts exports one, and runs it with runFunction
 * when it is the process's entry point).
 * @param definition - name, settings schema and setup
 */
export function defineFunction<S extends ConfigSchema = ConfigSchema>(
  definition: FunctionDefinition<S>,
): FunctionDefinition<S> & RegisteredFunction {
  return {
    ...definition,
    acknowledgeMalformed: definition.acknowledgeMalformed ?? false,
    configure(env) {
      const config = parseConfig({ ...env, FUNCTION_NAME: definition.name }, definition.schema);
      return { config, setup: (runtime) => definition.setup({ ...runtime, config }) };
    },
    runAlone: (env) => runFunction(definition, env),
  };
}

/**
 * Starts a function process: config → logger → telemetry → setup → listen, then serves until
 * SIGTERM. On a ConfigError, writes the message to stderr and exits 1.
 * @param definition - the function's schema and setup
 * @param env - the environment (default `process.env`)
 */
export async function runFunction<S extends ConfigSchema = ConfigSchema>(
  definition: FunctionDefinition<S>,
  env: Environment = process.env,
): Promise<RunningFunction> {
  let config: FunctionConfig<S>;
  try {
    config = parseConfig(env, definition.schema);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // No logger yet: its level is part of the configuration that failed.
    process.stderr.write(`supabase-reconciler: ${error.message}\n`);
    process.exit(1);
  }
  const logger = createLogger({ name: config.functionName, level: config.logLevel });
  try {
    const telemetry = startTelemetry(config, { logger });
    const health = new Health();
    const handle = await definition.setup({ config, logger, telemetry, health });
    const authenticate = config.auth.audience
      ? brokerAuthenticator({
          audience: config.auth.audience,
          subjects: config.auth.subjects,
          issuer: config.auth.issuer,
          loadIssuer: () =>
            readServiceAccountIssuer({ userAgent: functionUserAgent(config.functionName) }),
        })
      : undefined;
    const fn = createFunctionApp({
      name: config.functionName,
      handle,
      logger,
      telemetry,
      health,
      authenticate,
      acknowledgeMalformed: definition.acknowledgeMalformed,
    });
    return await serve(fn, config);
  } catch (error) {
    logger.fatal({ error: describeError(error) }, 'start failed');
    logger.flush();
    process.exit(1);
  }
}
