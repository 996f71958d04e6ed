/**
 * Structured logs: pino JSON lines, one per record, stamped with the active span's
 * `trace_id` and `span_id` so a log line leads to its trace. Secret-looking fields are
 * redacted by path, a safety net behind the rule that secret values never reach a log call.
 */
import { trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config/runtime-config.ts';
import { ReconcilerError } from '../runtime/errors.ts';
import { RedactedError } from '../secrets/redacted-error.ts';

export type { Logger } from 'pino';

/** Field names whose values are never written, at the top level and two levels down. */
const SECRET_FIELDS = [
  'authorization',
  'cookie',
  'password',
  'passwd',
  'secret',
  'token',
  'key',
  'apiKey',
  'accessKeyId',
  'secretAccessKey',
  'privateKey',
  'jwtSecret',
  'connectionString',
];

/** pino redaction paths covering the secret field names at depth 0 to 2, and HTTP headers. */
export const REDACTED_PATHS: readonly string[] = [
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]),
  'headers["x-api-key"]',
  '*.headers["x-api-key"]',
  'headers["proxy-authorization"]',
  '*.headers["proxy-authorization"]',
];

/** How the logger is built. */
export interface LoggerOptions {
  /** The function name, written as `name` on every line. */
  readonly name: string;
  readonly level: LogLevel;
  /**
   * Where lines go. Default: stdout, written synchronously. pino's own default (asynchronous)
   * registers a process-wide exit hook to flush itself; the runtime owns the process's exit
   * (its SIGTERM drain ends with process.exit), so lines are written at once and nothing is
   * left to flush when it exits. A function logs a few lines per event. Tests pass a stream
   * to read them back.
   */
  readonly destination?: DestinationStream;
}

/**
 * Creates the process's logger. Per-event loggers are `logger.child({...})` of it.
 * @returns a pino logger that adds `trace_id`/`span_id` of the active span to each line
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: options.name,
      level: options.level,
      // Read on every line: the span active where the call is made, not where the child
      // logger was created.
      mixin() {
        const spanContext = trace.getActiveSpan()?.spanContext();
        return spanContext ? { trace_id: spanContext.traceId, span_id: spanContext.spanId } : {};
      },
      redact: { paths: [...REDACTED_PATHS], censor: '[REDACTED]' },
      // Numbers for levels are pino's default; names read better in `kubectl logs`.
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

/**
 * The parts of an error worth logging, with its `cause` chain flattened, so a wrapped
 * low-level error (a socket reset under a TransientError) is visible in one record.
 *
 * Causes go through redaction: a cause is printed in full only when it is a scrubbed copy
 * (RedactedError, made by the boundary that caught it: shared/db, shared/s3) or one of the
 * reconciler's own errors, whose messages never hold a secret. Any other cause may be a raw
 * error that carries a secret in its message or fields (a server echoing the password), so
 * only its type and code are printed; never a raw cause's other fields.
 */
export function describeError(error: unknown, depth = 0): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const described: Record<string, unknown> =
    error instanceof RedactedError
      ? {
          type: error.originalName,
          ...(error.code === undefined ? {} : { code: error.code }),
          message: error.message,
          stack: error.stack,
        }
      : { type: error.name, message: error.message, stack: error.stack };
  if (error.cause !== undefined && depth < 5)
    described.cause = printable(error.cause)
      ? describeError(error.cause, depth + 1)
      : withheld(error.cause);
  return described;
}

function printable(cause: unknown): cause is Error {
  return cause instanceof RedactedError || cause instanceof ReconcilerError;
}

/** What is printed of a cause nobody scrubbed: its type and a code that looks like one. */
function withheld(cause: unknown): Record<string, unknown> {
  const name = cause instanceof Error ? cause.name : typeof cause;
  const code = (cause as { code?: unknown } | null)?.code;
  return {
    type: /^[\w$.]{1,64}$/.test(name) ? name : 'Error',
    ...(typeof code === 'string' && /^[\w.-]{1,40}$/.test(code) ? { code } : {}),
    message: '[not shown: a cause not scrubbed by the boundary that caught it]',
  };
}
