/**
 * A counting semaphore: at most `size` holders at once, the others wait in arrival order.
 * Bounds the local broker's concurrent HTTP attempts (a burst of events must not open
 * thousands of connections to the functions of one process).
 */
export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError('slots: size must be at least 1');
    this.free = size;
  }

  /**
   * Waits for a slot.
   * @returns the function that gives it back, or `undefined` when `signal` aborted first
   */
  async acquire(signal: AbortSignal): Promise<(() => void) | undefined> {
    if (signal.aborted) return undefined;
    if (this.free > 0) {
      this.free--;
      return this.releaser();
    }
    const granted = await new Promise<boolean>((resolve) => {
      const onAbort = (): void => {
        const index = this.waiting.indexOf(grant);
        if (index >= 0) this.waiting.splice(index, 1);
        resolve(false);
      };
      const grant = (): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      };
      this.waiting.push(grant);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    return granted ? this.releaser() : undefined;
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter; `free` only grows when nobody waits.
      if (next) next();
      else this.free++;
    };
  }
}
