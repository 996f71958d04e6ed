/**
 * Settings of the local runtime (`npm start`, `supabase-reconciler run|status|trace`): where
 * it keeps its state (recorded spans, the embedded environment's kubeconfig) and how often
 * the resync ticks. Flags of the command line override them.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { integer, optionalText, parseSchema, type ConfigOf, type Environment } from './settings.ts';

/** Defaults of the local runtime, in one place. */
export const LOCAL_DEFAULTS = Object.freeze({
  /** deploy/'s PingSource ticks every 5 minutes; so does the local one. */
  resyncIntervalMs: 5 * 60_000,
  /** 0: any free port on loopback. */
  port: 0,
});

/** The local runtime's settings. */
export const localSchema = {
  stateDir: optionalText('SUPABASE_RECONCILER_STATE_DIR'),
  xdgStateHome: optionalText('XDG_STATE_HOME'),
  resyncIntervalMs: integer('RESYNC_INTERVAL_MS', {
    default: LOCAL_DEFAULTS.resyncIntervalMs,
    min: 1000,
    max: 24 * 3600_000,
  }),
  port: integer('LOCAL_PORT', { default: LOCAL_DEFAULTS.port, min: 0, max: 65_535 }),
};

/** The parsed settings, with the state folder resolved. */
export type LocalConfig = Omit<ConfigOf<typeof localSchema>, 'xdgStateHome'> & {
  readonly stateDir: string;
};

/**
 * Reads the local runtime's settings.
 * @throws ConfigError naming the variable at fault
 */
export function parseLocalConfig(env: Environment): LocalConfig {
  const { xdgStateHome, stateDir, ...rest } = parseSchema(localSchema, env);
  return {
    ...rest,
    // XDG's state folder: kept across runs, not a cache, not configuration.
    stateDir:
      stateDir ?? join(xdgStateHome ?? join(homedir(), '.local', 'state'), 'supabase-reconciler'),
  };
}
