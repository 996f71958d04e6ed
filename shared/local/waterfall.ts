/**
 * A trace drawn in the terminal (`supabase-reconciler trace`): one line per span, in tree
 * order, with its offset from the trace's start, its duration and a bar placed on a common
 * time axis, as Jaeger's timeline shows it.
 */
import type { RecordedSpan } from '../telemetry/span-store.ts';

/** Width of the time axis, in characters. */
const BAR_WIDTH = 40;

/** The spans in tree order (each after its parent, siblings by start), with their depth. */
function treeOrder(spans: readonly RecordedSpan[]): { span: RecordedSpan; depth: number }[] {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string | undefined, RecordedSpan[]>();
  for (const span of spans) {
    // A parent recorded elsewhere (the broker's, another process's) makes this a root here.
    const parent =
      span.parentSpanId !== undefined && ids.has(span.parentSpanId) ? span.parentSpanId : undefined;
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const ordered: { span: RecordedSpan; depth: number }[] = [];
  const visit = (parent: string | undefined, depth: number) => {
    for (const span of [...(children.get(parent) ?? [])].sort((a, b) => a.startMs - b.startMs)) {
      ordered.push({ span, depth });
      visit(span.spanId, depth + 1);
    }
  };
  visit(undefined, 0);
  return ordered;
}

const ms = (value: number): string => `${value.toFixed(value < 10 ? 1 : 0)} ms`;

/**
 * Draws a trace.
 * @param traceId - the trace
 * @param spans - its recorded spans (any order)
 * @returns the lines, ending with a newline
 */
export function renderWaterfall(traceId: string, spans: readonly RecordedSpan[]): string {
  if (spans.length === 0) return `trace ${traceId}: no span recorded by this machine's runtime\n`;
  const start = Math.min(...spans.map((s) => s.startMs));
  const end = Math.max(...spans.map((s) => s.endMs));
  const total = Math.max(end - start, 0.001);
  const lines = [`trace ${traceId}  ${ms(total)}, ${spans.length} spans`];
  for (const { span, depth } of treeOrder(spans)) {
    const from = Math.min(BAR_WIDTH - 1, Math.floor(((span.startMs - start) / total) * BAR_WIDTH));
    const width = Math.max(1, Math.round(((span.endMs - span.startMs) / total) * BAR_WIDTH));
    const bar = ' '.repeat(from) + '█'.repeat(Math.min(width, BAR_WIDTH - from));
    const mark = span.status === 2 ? ' ✖' : '';
    lines.push(
      `${ms(span.startMs - start).padStart(10)} ${ms(span.endMs - span.startMs).padStart(10)} |${bar.padEnd(BAR_WIDTH)}| ${'  '.repeat(depth)}${span.name}${mark}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
