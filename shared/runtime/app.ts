/**
 * The HTTP server every function runs (express 5): POST / takes one CloudEvent, the health
 * paths answer probes, /metrics answers scrapes. Phase logic stays in the handler; this
 * file only adapts it to HTTP, traces it, counts it and logs it.
 */
import { context, SpanStatusCode } from '@opentelemetry/api';
import express, { type NextFunction, type Request, type Response } from 'express';
import { eventTypeLabel } from '../events/types.ts';
import { withEventSpan, injectTraceparent } from '../telemetry/event-trace.ts';
import { describeError, type Logger } from '../telemetry/logger.ts';
import type { EventOutcome } from '../telemetry/metrics-recorder.ts';
import { PROMETHEUS_CONTENT_TYPE } from '../telemetry/prometheus.ts';
import type { Telemetry } from '../telemetry/telemetry.ts';
import type { Authenticate } from './authenticate.ts';
import { MalformedEventError, toHttpStatus } from './errors.ts';
import { isAcknowledgement, type EventHandler } from './handler.ts';
import { Health } from './health.ts';
import { readCloudEvent } from './receive.ts';
import { outcomeOfStatus, sendEmpty, sendError, sendReply } from './respond.ts';

/** Largest accepted request body. ApiServerSource events carry a whole object (etcd's limit is 1.5 MiB). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** What a function hands the runtime. */
export interface FunctionAppOptions {
  /** The function name (the Knative Service name). */
  readonly name: string;
  readonly handle: EventHandler;
  readonly logger: Logger;
  readonly telemetry: Telemetry;
  /** Shared health state; a new one when omitted. */
  readonly health?: Health;
  /** Checks each delivery's token before its body is read (absent: no authentication). */
  readonly authenticate?: Authenticate | undefined;
  /**
   * Answer a request that is not a readable CloudEvent with 202 instead of 400 (still counted
   * and logged as malformed). Only for a dead-letter sink: the broker does not retry a 4xx,
   * and an event its dead-letter sink refuses is lost without a trace.
   */
  readonly acknowledgeMalformed?: boolean | undefined;
}

/** A function's HTTP application and its health state (which `serve` drives). */
export interface FunctionApp {
  readonly name: string;
  readonly app: express.Express;
  readonly health: Health;
  readonly logger: Logger;
  readonly telemetry: Telemetry;
}

/**
 * Builds the HTTP application of one function. Create the telemetry first: express must be
 * patched before its routes are registered for its spans to exist.
 */
export function createFunctionApp(options: FunctionAppOptions): FunctionApp {
  const { handle, logger, telemetry } = options;
  const health = options.health ?? new Health();
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/health/liveness', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/health/readiness', async (_req, res) => {
    const report = await health.readiness();
    res.status(report.ready ? 200 : 503).json(report);
  });
  app.get('/metrics', async (_req, res) => {
    res.type(PROMETHEUS_CONTENT_TYPE).send(await telemetry.renderMetrics());
  });

  // Deliveries are authenticated before their body is read: an unauthenticated sender costs
  // no parsing.
  const { authenticate } = options;
  if (authenticate) {
    app.post('/', async (req, res, next) => {
      try {
        await authenticate(req.headers.authorization);
        next();
      } catch (error) {
        const status = sendError(res, error);
        logger.warn({ error: describeError(error), status }, 'delivery refused');
        telemetry.metrics.event('unknown', outcomeOfStatus(status), 0);
      }
    });
  }
  // Every body as text, whatever its type: HTTP.toEvent decides how to read it.
  app.post('/', express.text({ type: () => true, limit: MAX_BODY_BYTES }), async (req, res) => {
    await receive(req, res);
  });
  // Errors of the body reader (too large, bad charset) reach express's error path.
  app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const malformed = new MalformedEventError(
      `the request body could not be read: ${error instanceof Error ? error.message : 'unknown error'}`,
      { cause: error },
    );
    answerMalformed(res, malformed, 0);
  });

  /** An unreadable request: 400, or 202 for a sink that must not refuse (see the option). */
  function answerMalformed(res: Response, error: unknown, seconds: number): void {
    let status: number;
    if (options.acknowledgeMalformed) {
      status = 202;
      sendEmpty(res, 202);
    } else {
      status = sendError(res, error);
    }
    logger.warn({ error: describeError(error), status }, 'malformed event');
    telemetry.metrics.event('unknown', 'malformed', seconds);
  }

  async function receive(req: Request, res: Response): Promise<void> {
    const started = performance.now();
    const seconds = (): number => (performance.now() - started) / 1000;
    let event;
    try {
      event = readCloudEvent({ headers: req.headers, body: bodyText(req.body) });
    } catch (error) {
      answerMalformed(res, error, seconds());
      return;
    }
    const received = event;
    const eventLogger = logger.child({
      event: {
        id: received.id,
        type: received.type,
        subject: received.subject,
        source: received.source,
      },
    });
    // The HTTP request's context: the http instrumentation's server span, if any.
    const transportContext = context.active();
    await withEventSpan(
      telemetry.tracer,
      received,
      async (span) => {
        let outcome: EventOutcome;
        let status: number;
        try {
          const result = await handle(received, {
            logger: eventLogger,
            span,
            metrics: telemetry.metrics,
          });
          if (result === undefined) {
            outcome = 'processed';
            status = 204;
            sendEmpty(res, 204);
          } else if (isAcknowledgement(result)) {
            outcome = result.outcome;
            status = 202;
            span.setAttribute('reconciler.reason', result.reason);
            sendEmpty(res, 202);
          } else {
            outcome = 'processed';
            status = 200;
            const reply = injectTraceparent(result);
            span.setAttribute('reconciler.reply_type', reply.type);
            sendReply(res, reply);
          }
        } catch (error) {
          status = toHttpStatus(error);
          outcome = outcomeOfStatus(status);
          sendError(res, error);
          const kind = error instanceof Error ? error.name : typeof error;
          span.setAttribute('error.type', kind);
          span.setStatus({ code: SpanStatusCode.ERROR, message: kind });
          eventLogger[status >= 500 ? 'error' : 'warn'](
            { error: describeError(error), status, outcome },
            'event failed',
          );
        }
        span.setAttribute('reconciler.outcome', outcome);
        span.setAttribute('http.response.status_code', status);
        telemetry.metrics.event(eventTypeLabel(received.type), outcome, seconds());
        eventLogger.info(
          { outcome, status, duration_ms: Math.round(seconds() * 1000) },
          'event handled',
        );
      },
      transportContext,
    );
  }

  return { name: options.name, app, health, logger, telemetry };
}

function bodyText(body: unknown): string | undefined {
  return typeof body === 'string' && body.length > 0 ? body : undefined;
}
