/**
 * Liveness and readiness, at Knative's conventional paths. Liveness only says the process
 * answers (it never checks a dependency: a database outage must not get every pod
 * restarted). Readiness is false before the server listens and while draining, and runs the
 * readiness checks a function registers (say, its pg pool).
 */

/** A readiness check: resolves true when the dependency is usable. */
export type ReadinessCheck = () => boolean | Promise<boolean>;

/** The result of a readiness probe: each check's name with whether it passed. */
export interface ReadinessReport {
  readonly ready: boolean;
  /** `starting`, `draining`, or `serving`. */
  readonly state: 'starting' | 'serving' | 'draining';
  readonly checks: Readonly<Record<string, boolean>>;
}

/** How long one readiness check may take before it counts as failed. */
const CHECK_TIMEOUT_MS = 2_000;

/** The health state of one function process. */
export class Health {
  #state: ReadinessReport['state'] = 'starting';
  readonly #checks = new Map<string, ReadinessCheck>();

  /**
   * Adds a check run by every readiness probe.
   * @param name - a short name shown in the probe's answer
   */
  addReadinessCheck(name: string, check: ReadinessCheck): void {
    this.#checks.set(name, check);
  }

  /** Called once the server listens. */
  markServing(): void {
    if (this.#state === 'starting') this.#state = 'serving';
  }

  /** Called on SIGTERM: readiness turns false for good. */
  startDraining(): void {
    this.#state = 'draining';
  }

  /** Whether the process is draining (shutting down). */
  get draining(): boolean {
    return this.#state === 'draining';
  }

  /** Runs the readiness checks (in parallel, each bounded by a timeout). */
  async readiness(): Promise<ReadinessReport> {
    const names = [...this.#checks.keys()];
    const results = await Promise.all([...this.#checks.values()].map(runCheck));
    const checks = Object.fromEntries(names.map((name, i) => [name, results[i] === true]));
    const ready = this.#state === 'serving' && results.every(Boolean);
    return { ready, state: this.#state, checks };
  }
}

async function runCheck(check: ReadinessCheck): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => {
      resolve(false);
    }, CHECK_TIMEOUT_MS);
  });
  try {
    // A check that throws is simply not ready; its error text is not shown to the prober.
    return await Promise.race([Promise.resolve().then(check), timeout]).catch(() => false);
  } finally {
    clearTimeout(timer);
  }
}
