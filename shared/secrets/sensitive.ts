/**
 * A wrapper for secret values: whatever serialises it (JSON for logs, util.inspect, template
 * strings, span attributes through String()) sees `[redacted]`. The value is read only with
 * an explicit `reveal()`, which makes every place that handles a secret easy to find.
 */
import { timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/** A secret value that does not print. */
export class Sensitive {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The secret itself. Never log, trace, or put the result in a message or status. */
  reveal(): string {
    return this.#value;
  }

  /** Whether the value is empty (or only whitespace), without revealing it. */
  isBlank(): boolean {
    return this.#value.trim().length === 0;
  }

  /** Constant-time comparison with another secret. */
  equals(other: Sensitive): boolean {
    const a = Buffer.from(this.#value);
    const b = Buffer.from(other.#value);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
