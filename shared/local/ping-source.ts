/**
 * The local PingSource: on a fixed interval, POSTs to a sink the event Knative's PingSource
 * sends on each tick of its schedule (knative-facts.md §4): binary mode, type
 * `dev.knative.sources.ping`, source `/apis/v1/namespaces/<ns>/pingsources/<name>`, a fresh
 * UUID per tick, `time` the send time, no subject, the payload as the body and its content
 * type as `Content-Type` (neither when there is none). Delivery retries as the adapter does
 * (sink-post.ts), then the tick is dropped.
 *
 * An interval rather than a cron schedule: the reconciler's only PingSource is the resync
 * tick, which needs "every few minutes", not wall-clock alignment. The first tick comes one
 * interval after the start, as a cron schedule never fires at its creation: on start the
 * ApiServerSource announces every object anyway. A tick due while the previous one is still
 * being delivered is skipped (resync ticks are interchangeable), and ticks missed while the
 * process was stopped are not caught up, as Knative's are not.
 */
import { randomUUID } from 'node:crypto';
import { PING_EVENT } from '../events/types.ts';
import type { Logger } from '../telemetry/logger.ts';
import { rfc3339Nano } from './go-encoding.ts';
import {
  sinkPoster,
  type DeliveryCounts,
  type DeliveryOptions,
  type OutgoingMessage,
} from './sink-post.ts';

/** How the source is set up (the PingSource's metadata and spec). */
export interface PingSourceOptions {
  /** The PingSource's namespace and name: they make the `source` attribute. */
  readonly namespace: string;
  readonly name: string;
  /** Time between ticks, in ms. */
  readonly intervalMs: number;
  /** Where ticks are posted: the broker's ingress URL. */
  readonly sink: string;
  /** `spec.data`: the payload, sent as is. Default: none (no body). */
  readonly data?: string;
  /** `spec.contentType`: `Content-Type` of the payload. Default: none. */
  readonly contentType?: string;
  /**
   * A random delay of up to this many ms added to each tick, as Knative's adapter adds up to
   * 500 ms, so that several sources do not fire at once. Default 0.
   */
  readonly jitterMs?: number;
  readonly delivery?: DeliveryOptions;
  readonly logger: Logger;
}

/** What the source has done so far. */
export interface PingSourceCounts extends DeliveryCounts {
  /** Ticks posted or being posted. */
  ticks: number;
  /** Ticks skipped because the previous one was still being delivered. */
  skipped: number;
}

/** A running PingSource. */
export interface PingSource {
  readonly counts: Readonly<PingSourceCounts>;
  /** Stops ticking; a delivery in progress is abandoned. */
  stop(): Promise<void>;
}

/** The `source` attribute of a PingSource's events. */
export function pingSourceName(namespace: string, name: string): string {
  return `/apis/v1/namespaces/${namespace}/pingsources/${name}`;
}

/**
 * The message of one tick.
 * @param id - default: a fresh UUID
 * @param time - default: now, RFC 3339 with nanoseconds
 */
export function pingMessage(
  options: Pick<PingSourceOptions, 'namespace' | 'name' | 'data' | 'contentType'>,
  id: string = randomUUID(),
  time: string = rfc3339Nano(),
): OutgoingMessage {
  return {
    headers: {
      ...(options.contentType ? { 'Content-Type': options.contentType } : {}),
      'Ce-Specversion': '1.0',
      'Ce-Id': id,
      'Ce-Source': pingSourceName(options.namespace, options.name),
      'Ce-Type': PING_EVENT,
      'Ce-Time': time,
    },
    body: options.data ?? '',
  };
}

/**
 * Starts ticking.
 * @throws Error at once when an option is invalid (saying which and what it must be)
 */
export function startPingSource(options: PingSourceOptions): PingSource {
  const { intervalMs, jitterMs = 0, logger } = options;
  if (!Number.isInteger(intervalMs) || intervalMs < 1)
    throw new Error(`the PingSource's intervalMs must be a positive integer, got ${intervalMs}`);
  if (!Number.isInteger(jitterMs) || jitterMs < 0)
    throw new Error(`the PingSource's jitterMs must be a non-negative integer, got ${jitterMs}`);
  for (const field of ['namespace', 'name'] as const)
    if (options[field] === '') throw new Error(`the PingSource's ${field} must not be empty`);
  const poster = sinkPoster(options.sink, options.delivery ?? {}, logger);
  const halt = new AbortController();
  let ticks = 0;
  let skipped = 0;
  let delivering: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const started = Date.now();
  let lastIndex = 0;

  const tick = (): void => {
    if (delivering) {
      skipped++;
      logger.warn('PingSource tick skipped: the previous tick is still being delivered');
      return;
    }
    ticks++;
    const message = pingMessage(options);
    const label = { type: PING_EVENT, id: message.headers['Ce-Id'] ?? '' };
    delivering = poster.post(message, label, halt.signal).then((ok) => {
      delivering = undefined;
      if (ok) logger.debug({ event: label }, 'PingSource tick posted');
    });
  };
  // Ticks fall on start + n × interval, so delivery time and jitter do not drift them; after a
  // pause (a suspended laptop) the next tick is the next one due, not every one missed.
  const schedule = (): void => {
    if (halt.signal.aborted) return;
    const next = Math.max(lastIndex + 1, Math.floor((Date.now() - started) / intervalMs) + 1);
    lastIndex = next;
    const due = started + next * intervalMs + Math.floor(Math.random() * (jitterMs + 1));
    timer = setTimeout(
      () => {
        tick();
        schedule();
      },
      Math.max(0, due - Date.now()),
    );
  };
  schedule();

  return {
    counts: {
      get ticks() {
        return ticks;
      },
      get skipped() {
        return skipped;
      },
      get delivered() {
        return poster.counts.delivered;
      },
      get failed() {
        return poster.counts.failed;
      },
      get abandoned() {
        return poster.counts.abandoned;
      },
    },
    async stop() {
      halt.abort();
      clearTimeout(timer);
      await delivering;
      poster.close();
    },
  };
}
