/**
 * The in-process broker of `npm start`: Knative's MT channel-based broker (knative-facts.md §3)
 * for functions that run in one process, routed by the Broker and Trigger manifests of deploy/
 * (triggers.ts). It knows no function: the runtime hands it a resolver from a Trigger's
 * subscriber `ref` to a URL.
 *
 * - Ingress (HTTP or `publish`): validates the event (400), applies the TTL (`knativebrokerttl`:
 *   255 when absent, decremented on each pass, refused at 0), stamps `knativearrivaltime`,
 *   answers 202 once the deliveries are queued; fan-out is asynchronous.
 * - Fan-out: to every Trigger whose filter matches, in binary mode (or structured with
 *   `delivery.format: json`), with `Prefer: reply`, `Kn-Namespace` and the event's
 *   `traceparent`; the TTL is not shown to subscribers.
 * - Answers: a reply event goes back into the ingress with the TTL re-attached; a 2xx that is
 *   neither empty nor a CloudEvent is a 502 failure; failures are retried as the Trigger's
 *   delivery (else the Broker's) says, on transport errors, 5xx, 404, 408, 409 and 429 only.
 * - After the last attempt, the dead-letter sink gets the event with `knativeerrordest`,
 *   `knativeerrorcode` and `knativeerrordata`; without a sink, or when the sink fails too, the
 *   loss is logged at error and counted.
 *
 * Like Knative's InMemoryChannel, nothing is persisted: events in flight are lost with the
 * process; `drain` on shutdown lets them finish first.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Counter, Meter } from '@opentelemetry/api';
import { CloudEvent, HTTP } from 'cloudevents';
import { readCloudEvent, type HttpMessage } from '../runtime/receive.ts';
import { MalformedEventError } from '../runtime/errors.ts';
import { describeError, type Logger } from '../telemetry/logger.ts';
import { attemptDelivery, type AttemptResult } from './attempt.ts';
import {
  backoffMs,
  effectiveDelivery,
  isRetriedFailure,
  type DeliverySpec,
  type Destination,
  type DestinationRef,
} from './delivery.ts';
import { ingressRequestHandler } from './ingress-http.ts';
import { DEFAULT_MAX_TTL, nextTtl, stampArrival, withTtl, type IngressResult } from './ingress.ts';
import { Slots } from './slots.ts';
import {
  routes,
  type BrokerManifest,
  type Route,
  type Topology,
  type TriggerManifest,
} from './triggers.ts';

/** Turns a subscriber or dead-letter `ref` into the URL it is served at. */
export type SubscriberResolver = (ref: DestinationRef) => URL | string;

/** What the broker is built from. */
export interface LocalBrokerOptions {
  /** The manifests (triggers.ts `readTopology`). */
  readonly topology: Topology;
  /** The Broker to serve, by name (default `default`). */
  readonly name?: string;
  /** `Kn-Namespace` and the ingress path (default: the manifest's namespace, else `default`). */
  readonly namespace?: string;
  readonly resolve: SubscriberResolver;
  readonly logger: Logger;
  /** broker-ingress's MAX_TTL (default 255). */
  readonly maxTtl?: number;
  /** Most HTTP attempts under way at once; more wait for a slot (default 32). */
  readonly maxInFlight?: number;
  /** Most deliveries queued, in flight or waiting to retry; beyond, the ingress answers 503. */
  readonly maxPending?: number;
  /** Bound of one attempt when the delivery spec sets no timeout (default 300 s: Knative Serving's request timeout). */
  readonly defaultTimeoutMs?: number;
  /** Where the delivery counter goes (OpenTelemetry); none when omitted. */
  readonly meter?: Meter;
  /** The clock of `knativearrivaltime` (tests). */
  readonly now?: () => Date;
}

/**
 * How a delivery (one event to one Trigger, with its retries) ended:
 * `delivered` (2xx, nothing to forward), `replied` (2xx and the reply was taken back in),
 * `dead_lettered`, `dead_letter_failed` (the sink failed too: lost), `dropped` (failed and no
 * sink: lost), `abandoned` (the broker stopped waiting at shutdown: lost).
 */
export type DeliveryOutcome =
  'delivered' | 'replied' | 'dead_lettered' | 'dead_letter_failed' | 'dropped' | 'abandoned';

/** What the ingress did with events: accepted, or refused and why. */
export type IngressOutcome = 'accepted' | 'malformed' | 'ttl_exhausted' | 'unavailable';

/** Counters since the broker started (also exported through `meter` when given). */
export interface BrokerCounts {
  readonly ingress: Readonly<Record<IngressOutcome, number>>;
  readonly deliveries: Readonly<Record<DeliveryOutcome, number>>;
  /** Every HTTP attempt to a subscriber (retries included, dead-letter sink excluded). */
  readonly attempts: number;
}

/** The broker the local runtime mounts and drives. */
export interface LocalBroker {
  readonly name: string;
  readonly namespace: string;
  /** Where the runtime mounts `handleIngress`: `/broker/<namespace>/<name>`. */
  readonly ingressPath: string;
  /** node:http handler of the ingress (POST one CloudEvent; see ingress-http.ts). */
  readonly handleIngress: (req: IncomingMessage, res: ServerResponse) => void;
  /**
   * Takes an event as the HTTP ingress would, without HTTP.
   * @throws MalformedEventError when the ingress would answer 400 (invalid event, TTL
   *   exhausted); BrokerUnavailableError when it would answer 503
   */
  publish(event: CloudEvent<unknown>): void;
  /** The Triggers (and their subscribers) the event would be delivered to. */
  routes(event: CloudEvent<unknown>): Route[];
  /**
   * Resolves every subscriber and dead-letter sink once, so that a Trigger naming a function
   * that is not there fails the start rather than its first delivery.
   * @throws Error naming the Trigger and the destination
   */
  verifyDestinations(): void;
  /**
   * Stops taking events at the ingress (503) and waits for every delivery, replies and retries
   * included, up to `timeoutMs`; then abandons the rest (logged and counted).
   * @returns whether everything finished in time
   */
  drain(timeoutMs: number): Promise<boolean>;
  counts(): BrokerCounts;
}

/** The ingress cannot take the event now (shutting down, or too many pending deliveries). */
export class BrokerUnavailableError extends Error {
  override readonly name = 'BrokerUnavailableError';
}

/** The counter of finished deliveries, by trigger (bounded: the manifests') and outcome. */
export const BROKER_DELIVERIES_METRIC = 'supabase_reconciler_broker_deliveries_total';
/** The counter of events offered to the ingress, by outcome. */
export const BROKER_INGRESS_METRIC = 'supabase_reconciler_broker_ingress_events_total';

const DEFAULTS = { maxInFlight: 32, maxPending: 10_000, defaultTimeoutMs: 300_000 };
/** knativeerrordata is cut to this many characters (a multiple of 4 stays valid base64). */
const ERROR_DATA_LIMIT = 1024;

/**
 * Builds the broker `options.name` of the topology.
 * @throws ManifestError-like Error when the topology has no such Broker, or a Trigger names
 *   a Broker the topology does not declare
 */
export function createLocalBroker(options: LocalBrokerOptions): LocalBroker {
  return new Broker(options);
}

class Broker implements LocalBroker {
  readonly name: string;
  readonly namespace: string;
  readonly ingressPath: string;
  readonly handleIngress: (req: IncomingMessage, res: ServerResponse) => void;
  private readonly manifest: BrokerManifest;
  private readonly triggers: readonly TriggerManifest[];
  private readonly logger: Logger;
  private readonly maxTtl: number;
  private readonly maxPending: number;
  private readonly defaultTimeoutMs: number;
  private readonly slots: Slots;
  private readonly now: () => Date;
  private readonly shutdown = new AbortController();
  private readonly pending = new Set<Promise<void>>();
  private closing = false;
  private readonly ingressCounts: Record<IngressOutcome, number> = {
    accepted: 0,
    malformed: 0,
    ttl_exhausted: 0,
    unavailable: 0,
  };
  private readonly deliveryCounts: Record<DeliveryOutcome, number> = {
    delivered: 0,
    replied: 0,
    dead_lettered: 0,
    dead_letter_failed: 0,
    dropped: 0,
    abandoned: 0,
  };
  private attempts = 0;
  private readonly deliveryCounter: Counter | undefined;
  private readonly ingressCounter: Counter | undefined;

  private readonly resolver: SubscriberResolver;

  constructor(options: LocalBrokerOptions) {
    this.resolver = options.resolve;
    this.name = options.name ?? 'default';
    const manifest = options.topology.brokers.find((b) => b.name === this.name);
    if (!manifest)
      throw new Error(
        `the manifests declare no Broker "${this.name}" (found: ${options.topology.brokers.map((b) => b.name).join(', ') || 'none'}); add it to deploy/overlays/knative/broker.yaml`,
      );
    const known = new Set(options.topology.brokers.map((b) => b.name));
    for (const trigger of options.topology.triggers)
      if (!known.has(trigger.broker))
        throw new Error(
          `${trigger.origin} names Broker "${trigger.broker}", which the manifests do not declare`,
        );
    this.manifest = manifest;
    this.triggers = options.topology.triggers.filter((t) => t.broker === this.name);
    this.namespace = options.namespace ?? manifest.namespace ?? 'default';
    this.ingressPath = `/broker/${this.namespace}/${this.name}`;
    this.logger = options.logger.child({ broker: this.name });
    this.maxTtl = options.maxTtl ?? DEFAULT_MAX_TTL;
    this.maxPending = options.maxPending ?? DEFAULTS.maxPending;
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULTS.defaultTimeoutMs;
    this.slots = new Slots(options.maxInFlight ?? DEFAULTS.maxInFlight);
    this.now = options.now ?? (() => new Date());
    this.deliveryCounter = options.meter?.createCounter(BROKER_DELIVERIES_METRIC, {
      description:
        'Deliveries of the local broker (one event to one Trigger, retries included), by trigger and outcome',
    });
    this.ingressCounter = options.meter?.createCounter(BROKER_INGRESS_METRIC, {
      description: 'Events offered to the local broker ingress, by outcome',
    });
    this.handleIngress = ingressRequestHandler((message) => this.acceptMessage(message));
  }

  publish(event: CloudEvent<unknown>): void {
    // The same validation as an event arriving over HTTP.
    const { headers, body } = HTTP.structured(event);
    const result = this.acceptMessage({ headers, body: body as string });
    if (result.status === 202) return;
    if (result.status === 503) throw new BrokerUnavailableError(result.message);
    throw new MalformedEventError(result.message);
  }

  /** The HTTP ingress: an unreadable or invalid event is refused with 400 and why. */
  private acceptMessage(message: HttpMessage): IngressResult {
    let event: CloudEvent<unknown>;
    try {
      event = readCloudEvent(message);
    } catch (error) {
      this.countIngress('malformed');
      const why = error instanceof Error ? error.message : 'unreadable';
      this.logger.warn({ problem: why }, 'event refused');
      return { status: 400, message: why };
    }
    return this.accept(event, false);
  }

  routes(event: CloudEvent<unknown>): Route[] {
    return routes(this.triggers, event);
  }

  verifyDestinations(): void {
    for (const trigger of this.triggers) {
      this.resolve(trigger.subscriber, `${trigger.origin} spec.subscriber`);
      const sink = this.deliveryOf(trigger).deadLetterSink;
      if (sink) this.resolve(sink, `${trigger.origin} deadLetterSink`);
    }
  }

  async drain(timeoutMs: number): Promise<boolean> {
    this.closing = true;
    const timer = new AbortController();
    const finished = await Promise.race([
      this.idle().then(() => true),
      sleep(timeoutMs, false, { signal: timer.signal }).catch(() => false),
    ]);
    timer.abort();
    if (!finished) {
      this.shutdown.abort();
      await this.idle();
      this.logger.warn(
        { abandoned: this.deliveryCounts.abandoned, timeoutMs },
        'broker drain timed out: deliveries abandoned',
      );
    }
    return finished;
  }

  counts(): BrokerCounts {
    return {
      ingress: { ...this.ingressCounts },
      deliveries: { ...this.deliveryCounts },
      attempts: this.attempts,
    };
  }

  /** The ingress: TTL, arrival time, fan-out. `internal` for replies of deliveries under way. */
  private accept(event: CloudEvent<unknown>, internal: boolean): IngressResult {
    const ttl = nextTtl(event, this.maxTtl);
    if (typeof ttl !== 'number') {
      this.countIngress(ttl.problem === 'exhausted' ? 'ttl_exhausted' : 'malformed');
      this.logger.warn({ event: summary(event), problem: ttl.message }, 'event refused');
      return { status: 400, message: ttl.message };
    }
    if (this.shutdown.signal.aborted || (this.closing && !internal)) {
      this.countIngress('unavailable');
      return { status: 503, message: 'the broker is shutting down' };
    }
    const held = stampArrival(event, this.now());
    const matched = routes(this.triggers, held);
    if (this.pending.size + matched.length > this.maxPending) {
      this.countIngress('unavailable');
      this.logger.warn(
        { event: summary(held), pending: this.pending.size },
        'broker full: event refused',
      );
      return {
        status: 503,
        message: `the broker has ${this.pending.size} deliveries pending; try again later`,
      };
    }
    this.countIngress('accepted');
    this.logger.debug(
      { event: summary(held), ttl, triggers: matched.map((r) => r.trigger.name) },
      'event accepted',
    );
    for (const { trigger } of matched) this.track(held, ttl, trigger);
    return { status: 202 };
  }

  /** Starts a delivery and keeps it in `pending` (what drain waits for) until it ends. */
  private track(event: CloudEvent<unknown>, ttl: number, trigger: TriggerManifest): void {
    const delivery = this.deliver(event, ttl, trigger).catch((error: unknown) => {
      // A bug, not an answer of the subscriber: the event is lost, and says so.
      this.logger.error(
        { event: summary(event), trigger: trigger.name, error: describeError(error) },
        'delivery failed unexpectedly: event lost',
      );
      this.deliveryCounts.dropped++;
      this.deliveryCounter?.add(1, { trigger: trigger.name, outcome: 'dropped' });
    });
    this.pending.add(delivery);
    void delivery.finally(() => this.pending.delete(delivery));
  }

  /** Resolves once nothing is pending (replies may add deliveries while it waits). */
  private async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** One event to one Trigger: attempts with backoff, then the dead-letter sink. */
  private async deliver(
    event: CloudEvent<unknown>,
    ttl: number,
    trigger: TriggerManifest,
  ): Promise<void> {
    const spec = this.deliveryOf(trigger);
    const log = this.logger.child({ event: summary(event), trigger: trigger.name });
    let failure: Extract<AttemptResult, { kind: 'failed' }> | undefined;
    let url = '';
    try {
      for (let n = 0; n <= spec.retry; n++) {
        if (n > 0) await sleep(backoffMs(spec, n - 1), undefined, { signal: this.shutdown.signal });
        const result = await this.attemptOnce(trigger, spec, event, ttl);
        url = result.url;
        if (result.outcome.kind === 'abandoned') {
          this.finish(trigger, 'abandoned', log);
          return;
        }
        if (result.outcome.kind !== 'failed') {
          this.finish(trigger, result.outcome.kind, log);
          return;
        }
        failure = result.outcome;
        log.debug(
          { attempt: n + 1, status: failure.status, why: failure.why },
          'delivery attempt failed',
        );
        if (!isRetriedFailure(failure.status)) break;
      }
    } catch (error) {
      if (this.shutdown.signal.aborted) {
        this.finish(trigger, 'abandoned', log);
        return;
      }
      throw error;
    }
    if (!failure) return;
    await this.deadLetter(event, ttl, trigger, spec, url, failure, log);
  }

  /** One attempt, its reply taken back in; a reply the ingress refuses fails the attempt. */
  private async attemptOnce(
    trigger: TriggerManifest,
    spec: DeliverySpec,
    event: CloudEvent<unknown>,
    ttl: number,
  ): Promise<{ url: string; outcome: AttemptResult }> {
    let url: string;
    try {
      url = this.resolve(trigger.subscriber, `${trigger.origin} spec.subscriber`);
    } catch (error) {
      const why = error instanceof Error ? error.message : 'unresolvable';
      return { url: describeDestination(trigger.subscriber), outcome: failed(undefined, why) };
    }
    const release = await this.slots.acquire(this.shutdown.signal);
    if (!release) return { url, outcome: { kind: 'abandoned' } };
    let outcome: AttemptResult;
    try {
      this.attempts++;
      outcome = await attemptDelivery({
        url,
        event,
        format: spec.format ?? 'binary',
        namespace: this.namespace,
        timeoutMs: spec.timeoutMs ?? this.defaultTimeoutMs,
        shutdown: this.shutdown.signal,
      });
    } finally {
      release();
    }
    if (outcome.kind !== 'replied') return { url, outcome };
    // The filter re-attaches the TTL it received; the ingress decrements it (§3.4, §3.5).
    const answer = this.accept(withTtl(outcome.reply, ttl), true);
    if (answer.status === 202) return { url, outcome };
    return {
      url,
      outcome: failed(
        answer.status,
        `the broker refused the reply: ${answer.message}`,
        answer.message,
      ),
    };
  }

  /** The dead-letter sink's turn: the event as held, plus the error extensions (§3.8). */
  private async deadLetter(
    event: CloudEvent<unknown>,
    ttl: number,
    trigger: TriggerManifest,
    spec: DeliverySpec,
    url: string,
    failure: Extract<AttemptResult, { kind: 'failed' }>,
    log: Logger,
  ): Promise<void> {
    const failed = { status: failure.status ?? 500, why: failure.why, subscriber: url };
    if (!spec.deadLetterSink) {
      log.error(failed, 'delivery failed and the Trigger has no dead-letter sink: event lost');
      this.finish(trigger, 'dropped', log);
      return;
    }
    let sinkUrl: string;
    try {
      sinkUrl = this.resolve(spec.deadLetterSink, `${trigger.origin} deadLetterSink`);
    } catch (error) {
      log.error(
        { ...failed, error: describeError(error) },
        'dead-letter sink unresolvable: event lost',
      );
      this.finish(trigger, 'dead_letter_failed', log);
      return;
    }
    const data = failure.body.toString('base64').slice(0, ERROR_DATA_LIMIT);
    const letter = new CloudEvent<unknown>({
      ...withTtl(event, ttl).toJSON(),
      knativeerrordest: url,
      knativeerrorcode: String(failed.status),
      ...(data === '' ? {} : { knativeerrordata: data }),
    });
    let last: AttemptResult | undefined;
    for (let n = 0; n <= spec.retry; n++) {
      try {
        if (n > 0) await sleep(backoffMs(spec, n - 1), undefined, { signal: this.shutdown.signal });
      } catch {
        {
          this.finish(trigger, 'abandoned', log);
          return;
        }
      }
      const release = await this.slots.acquire(this.shutdown.signal);
      if (!release) {
        this.finish(trigger, 'abandoned', log);
        return;
      }
      try {
        last = await attemptDelivery({
          url: sinkUrl,
          event: letter,
          format: spec.format ?? 'binary',
          namespace: this.namespace,
          timeoutMs: spec.timeoutMs ?? this.defaultTimeoutMs,
          shutdown: this.shutdown.signal,
        });
      } finally {
        release();
      }
      // A dead-letter sink's reply is not forwarded: it ends the event's journey.
      if (last.kind === 'delivered' || last.kind === 'replied') {
        log.warn(failed, 'delivery failed: event sent to the dead-letter sink');
        {
          this.finish(trigger, 'dead_lettered', log);
          return;
        }
      }
      if (last.kind === 'abandoned') {
        this.finish(trigger, 'abandoned', log);
        return;
      }
      if (!isRetriedFailure(last.status)) break;
    }
    log.error(
      { ...failed, sinkStatus: last?.kind === 'failed' ? (last.status ?? 500) : undefined },
      'delivery failed and so did the dead-letter sink: event lost',
    );
    this.finish(trigger, 'dead_letter_failed', log);
  }

  private deliveryOf(trigger: TriggerManifest): DeliverySpec {
    return effectiveDelivery(trigger.delivery, this.manifest.delivery);
  }

  /** A Destination's URL: the resolved ref, with `uri` relative to it; or the absolute `uri`. */
  private resolve(destination: Destination, what: string): string {
    const { ref, uri } = destination;
    if (!ref) return uri ?? '';
    let base: URL;
    try {
      base = new URL(this.resolver(ref));
    } catch (error) {
      throw new Error(
        `${what}: ${ref.kind} "${ref.name}" (${ref.apiVersion}) cannot be resolved to a URL: ${error instanceof Error ? error.message : 'unknown'}`,
        { cause: error },
      );
    }
    return uri === undefined ? base.href : new URL(uri, base).href;
  }

  private finish(trigger: TriggerManifest, outcome: DeliveryOutcome, log: Logger): void {
    this.deliveryCounts[outcome]++;
    this.deliveryCounter?.add(1, { trigger: trigger.name, outcome });
    log.debug({ outcome }, 'delivery finished');
  }

  private countIngress(outcome: IngressOutcome): void {
    this.ingressCounts[outcome]++;
    this.ingressCounter?.add(1, { broker: this.name, outcome });
  }
}

function failed(
  status: number | undefined,
  why: string,
  body = '',
): Extract<AttemptResult, { kind: 'failed' }> {
  return { kind: 'failed', status, why, body: Buffer.from(body, 'utf8') };
}

function describeDestination(destination: Destination): string {
  return destination.ref
    ? `${destination.ref.kind}/${destination.ref.name}`
    : (destination.uri ?? '');
}

function summary(event: CloudEvent<unknown>): Record<string, unknown> {
  return { id: event.id, type: event.type, source: event.source, subject: event.subject };
}
