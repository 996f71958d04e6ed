/**
 * The building blocks of configuration: a `Setting` reads one value from the environment,
 * and a `ConfigSchema` groups settings (possibly nested) into the shape of a config object.
 * Functions compose their own schema with the runtime's (see `parseConfig`), so every
 * variable of a process is parsed, validated and reported in one pass.
 */
import { ConfigError } from './config-error.ts';

/** The process environment, or a test's stand-in for it. */
export type Environment = Readonly<Record<string, string | undefined>>;

/**
 * Thrown by a setting's reader; collected by `parseSchema` into one `ConfigError`. Exported
 * for settings whose value has a structure of its own (a JSON variable such as K_CE_OVERRIDES).
 */
export class InvalidSetting extends Error {}

/** One value read from one or more environment variables (the first that is set wins). */
export class Setting<T> {
  /** The variable names, in order of precedence. */
  readonly variables: readonly string[];
  readonly #read: (raw: string | undefined, variable: string) => T;

  /**
   * @param variables - the variable names, in order of precedence
   * @param read - turns the first non-empty value (or `undefined`) into the setting's value;
   *   throws `InvalidSetting` with a sentence naming the variable and the allowed values
   */
  constructor(
    variables: readonly string[],
    read: (raw: string | undefined, variable: string) => T,
  ) {
    this.variables = variables;
    this.#read = read;
  }

  /** The value from `env`. @throws InvalidSetting when the value is missing or invalid */
  parse(env: Environment): T {
    for (const variable of this.variables) {
      const raw = env[variable];
      // Kubernetes manifests often set `value: ""`; treat it as unset rather than as a value.
      if (raw !== undefined && raw !== '') return this.#read(raw, variable);
    }
    return this.#read(undefined, this.variables.join(' or '));
  }
}

/** Settings grouped by the key they get in the parsed config; groups may nest. */
export interface ConfigSchema {
  readonly [key: string]: Setting<unknown> | ConfigSchema;
}

/** The frozen config object a schema parses into. */
export type ConfigOf<S extends ConfigSchema> = {
  readonly [K in keyof S]: S[K] extends Setting<infer T>
    ? T
    : S[K] extends ConfigSchema
      ? ConfigOf<S[K]>
      : never;
};

/**
 * Parses every setting of `schema` from `env`, reporting all problems at once.
 * @returns a deeply frozen object shaped like the schema
 * @throws ConfigError listing every missing or invalid variable
 */
export function parseSchema<S extends ConfigSchema>(schema: S, env: Environment): ConfigOf<S> {
  const problems: string[] = [];
  const config = parseGroup(schema, env, problems);
  // Two settings may fall back to one variable (OTEL_EXPORTER_OTLP_PROTOCOL): report it once.
  if (problems.length > 0) throw new ConfigError([...new Set(problems)]);
  return config as ConfigOf<S>;
}

function parseGroup(
  schema: ConfigSchema,
  env: Environment,
  problems: string[],
): Readonly<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(schema)) {
    if (entry instanceof Setting) {
      try {
        out[key] = entry.parse(env);
      } catch (error) {
        if (!(error instanceof InvalidSetting)) throw error;
        problems.push(error.message);
      }
    } else {
      out[key] = parseGroup(entry, env, problems);
    }
  }
  return Object.freeze(out);
}

function names(variables: string | readonly string[]): readonly string[] {
  return typeof variables === 'string' ? [variables] : variables;
}

/**
 * An integer within bounds (ports, timeouts in milliseconds, intervals).
 * @param variables - the variable name, or names in order of precedence
 */
export function integer(
  variables: string | readonly string[],
  options: { readonly default?: number; readonly min?: number; readonly max?: number } = {},
): Setting<number> {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = options;
  const allowed = `an integer from ${min} to ${max}`;
  return new Setting(names(variables), (raw, variable) => {
    if (raw === undefined) {
      if (options.default !== undefined) return options.default;
      throw new InvalidSetting(`${variable} is required: ${allowed}`);
    }
    const value = /^-?\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max)
      throw new InvalidSetting(`${variable} must be ${allowed}, not "${raw}"`);
    return value;
  });
}

/**
 * One of a fixed list of words (log levels, exporter names). Matching ignores case, as the
 * OpenTelemetry specification asks for its enum variables.
 */
export function oneOf<const V extends string>(
  variables: string | readonly string[],
  values: readonly V[],
  options: { readonly default?: V } = {},
): Setting<V> {
  const allowed = `one of ${values.join(', ')}`;
  return new Setting(names(variables), (raw, variable) => {
    if (raw === undefined) {
      if (options.default !== undefined) return options.default;
      throw new InvalidSetting(`${variable} is required: ${allowed}`);
    }
    const value = values.find((v) => v === raw.trim().toLowerCase());
    if (value === undefined)
      throw new InvalidSetting(`${variable} must be ${allowed}, not "${raw}"`);
    return value;
  });
}

/** `true` or `false` (case-insensitive). */
export function boolean(
  variables: string | readonly string[],
  fallback: boolean,
): Setting<boolean> {
  return new Setting(names(variables), (raw, variable) => {
    if (raw === undefined) return fallback;
    const value = raw.trim().toLowerCase();
    if (value === 'true') return true;
    if (value === 'false') return false;
    throw new InvalidSetting(`${variable} must be true or false, not "${raw}"`);
  });
}

/** What a text value must look like, in words for the error message. */
export interface TextPattern {
  readonly regex: RegExp;
  readonly description: string;
}

/**
 * A required text value. The value is never echoed in an error, because text settings may
 * hold credentials.
 */
export function text(
  variables: string | readonly string[],
  options: { readonly default?: string; readonly pattern?: TextPattern } = {},
): Setting<string> {
  return new Setting(names(variables), (raw, variable) => {
    const value = raw ?? options.default;
    if (value === undefined)
      throw new InvalidSetting(
        `${variable} is required${options.pattern ? `: ${options.pattern.description}` : ''}`,
      );
    if (options.pattern && !options.pattern.regex.test(value))
      throw new InvalidSetting(`${variable} must be ${options.pattern.description}`);
    return value;
  });
}

/** An optional text value: `undefined` when unset. Never echoed in errors. */
export function optionalText(
  variables: string | readonly string[],
  options: { readonly pattern?: TextPattern } = {},
): Setting<string | undefined> {
  return new Setting(names(variables), (raw, variable) => {
    if (raw === undefined) return undefined;
    if (options.pattern && !options.pattern.regex.test(raw))
      throw new InvalidSetting(`${variable} must be ${options.pattern.description}`);
    return raw;
  });
}

/**
 * An optional absolute URL with one of the given protocols. Its value is not echoed in
 * errors: URLs can carry user info.
 */
export function optionalUrl(
  variables: string | readonly string[],
  protocols: readonly string[] = ['http:', 'https:'],
): Setting<string | undefined> {
  const allowed = `an absolute URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`;
  return new Setting(names(variables), (raw, variable) => {
    if (raw === undefined) return undefined;
    const url = URL.canParse(raw) ? new URL(raw) : undefined;
    if (!url || !protocols.includes(url.protocol))
      throw new InvalidSetting(`${variable} must be ${allowed}`);
    return raw;
  });
}

/**
 * A comma-separated list (spaces around items ignored, empty items dropped); empty when
 * unset. Each item is checked by `problem`, and a bad item is named in the error: use it only
 * for values that are not secret (addresses, names).
 * @param problem - why an item is not acceptable, or undefined when it is
 */
export function list(
  variables: string | readonly string[],
  problem: (item: string) => string | undefined,
): Setting<readonly string[]> {
  return new Setting(names(variables), (raw, variable) => {
    if (raw === undefined) return Object.freeze([]);
    const items = raw
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
    for (const item of items) {
      const why = problem(item);
      if (why !== undefined)
        throw new InvalidSetting(`${variable} has "${item.slice(0, 100)}", which ${why}`);
    }
    return Object.freeze(items);
  });
}
