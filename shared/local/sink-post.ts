/**
 * Posting an event's HTTP message to a sink as Knative's adapters do: one POST with exactly
 * the headers and body given (binary mode), retried with exponential backoff, then given up
 * with an error log, as sdk-go's sender does (knative-facts.md §1.5: 6 attempts, waits of 100,
 * 200, 400, 800, 1600 ms). A source has no reply path: the answer's body is discarded.
 *
 * Retried: connection failures, no answer within the timeout, 404 (a sink not routed yet),
 * 408, 425, 429 and every 5xx. Knative retries 502-504 but not 500; the local broker's
 * ingress answers 500 when it could not hand the event on, which a later attempt may cure.
 * Other 4xx are final: the sink refused the event.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Logger } from '../telemetry/logger.ts';

/** An HTTP message in CloudEvents binary mode. */
export interface OutgoingMessage {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** How events are delivered. Every field has a default (DELIVERY_DEFAULTS). */
export interface DeliveryOptions {
  /** Attempts per event, the first included. */
  readonly attempts?: number;
  /** The wait before the first retry; it doubles for each further one. */
  readonly backoffMs?: number;
  /** Bound of one attempt, from connecting to the answer's status line. */
  readonly timeoutMs?: number;
}

/** Defaults of the delivery options, in one place. */
export const DELIVERY_DEFAULTS = Object.freeze({
  attempts: 6,
  backoffMs: 100,
  // The broker's ingress answers once it has taken the event, not when it was handled.
  timeoutMs: 10_000,
} satisfies Required<DeliveryOptions>);

/** What the poster counts. */
export interface DeliveryCounts {
  /** Events the sink accepted (2xx). */
  delivered: number;
  /** Events given up: attempts exhausted, or refused with a final status. */
  failed: number;
  /** Events abandoned because the source was stopped before they were delivered. */
  abandoned: number;
}

/** Posts messages to one sink. */
export interface SinkPoster {
  /**
   * Delivers one message, retrying as described above.
   * @param what - names the event in logs (type, subject, id)
   * @param signal - aborts the delivery (no further attempt; the current one is cut)
   * @returns whether the sink accepted it; a failure is logged and counted, never thrown
   *   (`abandoned` when the signal aborted it, `failed` otherwise)
   */
  post(message: OutgoingMessage, what: EventLabel, signal?: AbortSignal): Promise<boolean>;
  readonly counts: Readonly<DeliveryCounts>;
  /** Closes the kept-alive connections. */
  close(): void;
}

/** How an event is named in log lines. */
export interface EventLabel {
  readonly type: string;
  readonly id: string;
  readonly subject?: string;
}

const RETRIED_STATUS = new Set([404, 408, 425, 429]);

/**
 * Creates the poster of one sink.
 * @param url - the sink (an http:// or https:// URL); never logged, it may carry user info
 * @throws Error when the URL is not an absolute http(s) URL or an option is out of range
 */
export function sinkPoster(url: string, options: DeliveryOptions, logger: Logger): SinkPoster {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:'))
    throw new Error('the sink must be an absolute http:// or https:// URL');
  const settings = { ...DELIVERY_DEFAULTS, ...definedOnly(options) };
  for (const [name, value] of Object.entries(settings))
    if (!Number.isInteger(value) || value < (name === 'backoffMs' ? 0 : 1))
      throw new Error(`delivery option ${name} must be a positive integer, got ${value}`);
  const secure = parsed.protocol === 'https:';
  const agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const send = secure ? httpsRequest : httpRequest;
  const counts: DeliveryCounts = { delivered: 0, failed: 0, abandoned: 0 };

  const attempt = (message: OutgoingMessage, signal: AbortSignal): Promise<number> =>
    new Promise<number>((resolve, reject) => {
      const body = Buffer.from(message.body, 'utf8');
      const req = send(
        parsed,
        {
          method: 'POST',
          agent,
          headers: { ...message.headers, 'Content-Length': String(body.length) },
          signal: AbortSignal.any([signal, AbortSignal.timeout(settings.timeoutMs)]),
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  return {
    counts,
    close: () => {
      agent.destroy();
    },
    async post(message, what, signal = new AbortController().signal) {
      const label = { type: what.type, id: what.id, subject: what.subject };
      const cancelled = (): boolean => signal.aborted;
      let last = '';
      for (let n = 1; n <= settings.attempts; n++) {
        if (cancelled()) break;
        let retry: boolean;
        try {
          const status = await attempt(message, signal);
          if (status >= 200 && status <= 299) {
            counts.delivered++;
            return true;
          }
          last = `the sink answered ${status}`;
          retry = RETRIED_STATUS.has(status) || status >= 500;
        } catch (error) {
          if (cancelled()) break;
          last = describeFailure(error, settings.timeoutMs);
          retry = true;
        }
        if (!retry) break;
        if (n < settings.attempts) {
          logger.debug(
            { event: label, attempt: n, why: last },
            'posting an event failed; retrying',
          );
          await sleep(settings.backoffMs * 2 ** (n - 1), signal);
        }
      }
      if (cancelled()) {
        counts.abandoned++;
        logger.debug({ event: label }, 'the source was stopped before the event was delivered');
        return false;
      }
      counts.failed++;
      logger.error(
        { event: label, why: last },
        'an event could not be delivered to the sink and was dropped',
      );
      return false;
    },
  };
}

function definedOnly(options: DeliveryOptions): DeliveryOptions {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}

function describeFailure(error: unknown, timeoutMs: number): string {
  // An aborted request fails with an AbortError whose cause is the signal's reason.
  const reason = (error as { cause?: unknown } | null)?.cause ?? error;
  if (reason instanceof DOMException && reason.name === 'TimeoutError')
    return `no answer within ${timeoutMs} ms`;
  const code = (error as { code?: unknown } | null)?.code;
  return `the connection failed${typeof code === 'string' ? ` (${code})` : ''}`;
}

/** Waits, or less when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
