/**
 * The spans the local runtime recorded, kept on disk so that another process
 * (`supabase-reconciler trace <namespace>/<name>`) can draw a reconciliation without a
 * collector: one JSON line per finished span, one file per trace, the oldest traces removed
 * beyond a bound. Only names, times, ids, status and attributes are kept: span attributes
 * never hold secret values (the runtime's rule 7 applies to spans as to logs).
 */
import { appendFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace';

/** A finished span as stored. */
export interface RecordedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string | undefined;
  readonly name: string;
  /** Start and end, in milliseconds since the epoch (fractional). */
  readonly startMs: number;
  readonly endMs: number;
  /** OpenTelemetry's status code: 0 unset, 1 ok, 2 error. */
  readonly status: number;
  readonly attributes: Readonly<Record<string, unknown>>;
}

/** Traces kept on disk before the oldest are removed. */
const DEFAULT_MAX_TRACES = 200;

const TRACE_ID = /^[0-9a-f]{32}$/;

const toMs = ([seconds, nanos]: readonly [number, number]): number => seconds * 1000 + nanos / 1e6;

/**
 * A SpanProcessor that appends every finished span to `<dir>/<traceId>.jsonl`.
 * @param dir - the folder (created on the first span)
 * @param maxTraces - how many trace files to keep
 */
export function fileSpanRecorder(dir: string, maxTraces = DEFAULT_MAX_TRACES): SpanProcessor {
  let pending: Promise<unknown> = Promise.resolve();
  let written = 0;
  const write = async (span: ReadableSpan): Promise<void> => {
    const { traceId, spanId } = span.spanContext();
    const record: RecordedSpan = {
      traceId,
      spanId,
      parentSpanId: span.parentSpanContext?.spanId,
      name: span.name,
      startMs: toMs(span.startTime),
      endMs: toMs(span.endTime),
      status: span.status.code,
      attributes: span.attributes,
    };
    await mkdir(dir, { recursive: true });
    await appendFile(join(dir, `${traceId}.jsonl`), `${JSON.stringify(record)}\n`);
    // Pruning lists the folder: once every 50 spans is enough to keep it bounded.
    if (++written % 50 === 0) await prune(dir, maxTraces);
  };
  return {
    onStart: () => undefined,
    onEnd(span) {
      // One write at a time, in order; a failed write loses that span, never the event.
      pending = pending.then(() => write(span)).catch(() => undefined);
    },
    forceFlush: () => pending.then(() => undefined),
    shutdown: () => pending.then(() => undefined),
  };
}

async function prune(dir: string, maxTraces: number): Promise<void> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.jsonl'));
  if (files.length <= maxTraces) return;
  const dated = await Promise.all(
    files.map(async (file) => ({ file, mtime: (await stat(join(dir, file))).mtimeMs })),
  );
  dated.sort((a, b) => a.mtime - b.mtime);
  await Promise.all(
    dated
      .slice(0, files.length - maxTraces)
      .map(({ file }) => rm(join(dir, file), { force: true })),
  );
}

/**
 * The spans recorded for one trace, in start order.
 * @param dir - the recorder's folder
 * @param traceId - 32 lower-case hex digits
 * @returns the spans, or an empty list when none were recorded here
 */
export async function readTrace(dir: string, traceId: string): Promise<RecordedSpan[]> {
  if (!TRACE_ID.test(traceId)) throw new RangeError(`"${traceId}" is not a W3C trace id`);
  let text: string;
  try {
    text = await readFile(join(dir, `${traceId}.jsonl`), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as RecordedSpan)
    .sort((a, b) => a.startMs - b.startMs);
}
