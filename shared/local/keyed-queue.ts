/**
 * Runs tasks in order per key and at most `concurrency` at a time overall: the events of one
 * object reach the sink in the order the watch reported them (as the adapter's synchronous
 * send keeps them), while a slow post about one object does not hold up the others.
 */

/** A queue of tasks keyed by object. */
export interface KeyedQueue {
  /** Adds a task; it runs after every earlier task of the same key. It must not reject. */
  push(key: string, task: () => Promise<void>): void;
  /** Resolves once every task pushed so far (and any pushed meanwhile) has finished. */
  idle(): Promise<void>;
  /** Tasks pushed and not yet finished. */
  readonly pending: number;
}

/**
 * Creates a queue.
 * @param concurrency - how many tasks may run at once (at least 1)
 */
export function keyedQueue(concurrency: number): KeyedQueue {
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error(`concurrency must be a positive integer, got ${concurrency}`);
  const tails = new Map<string, Promise<void>>();
  const waiting: (() => void)[] = [];
  let running = 0;
  let pending = 0;

  const acquire = async (): Promise<void> => {
    if (running < concurrency) {
      running++;
      return;
    }
    // The slot is handed over by release(), so `running` stays counted.
    await new Promise<void>((resolve) => waiting.push(resolve));
  };
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else running--;
  };

  return {
    get pending() {
      return pending;
    },
    push(key, task) {
      pending++;
      const previous = tails.get(key) ?? Promise.resolve();
      const current = previous.then(async () => {
        await acquire();
        try {
          await task();
        } finally {
          release();
          pending--;
        }
      });
      tails.set(key, current);
      void current.finally(() => {
        if (tails.get(key) === current) tails.delete(key);
      });
    },
    async idle() {
      while (tails.size > 0) await Promise.allSettled([...tails.values()]);
    },
  };
}
