/**
 * A missing or invalid environment variable. Thrown by the configuration parser before the
 * server listens; the entry point prints the message and exits with code 1 (the
 * functions-framework `OptionsError` pattern), so a misconfigured revision fails fast and
 * visibly instead of answering events wrongly.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** One sentence per bad variable. */
  readonly problems: readonly string[];

  /**
   * @param problems - one sentence per bad variable, each naming the variable and what it
   *   accepts; never the offending value when the variable may hold a secret
   */
  constructor(problems: readonly string[]) {
    super(
      problems.length === 1
        ? `invalid configuration: ${problems[0] ?? ''}`
        : `invalid configuration:\n- ${problems.join('\n- ')}`,
    );
    this.problems = problems;
  }
}
