/**
 * The line the local runtime prints for each event a function handled: time, project,
 * function (the phase), outcome, duration and trace id — what a person watches while the
 * reconciler works; the JSON logs stay on stderr.
 */
import type { CloudEvent } from 'cloudevents';
import { parseChainSubject } from '../events/subject.ts';

/** What one line says. */
export interface PhaseLineInput {
  readonly time: Date;
  /** The function (the phase). */
  readonly fn: string;
  readonly event: Pick<CloudEvent<unknown>, 'type' | 'subject'> & Record<string, unknown>;
  readonly outcome: string;
  readonly durationMs: number;
  readonly traceId: string;
}

/** `team-a/demo` from a chain event's subject, or the object an ApiServerSource event names. */
export function eventObject(event: PhaseLineInput['event']): string {
  const chain = typeof event.subject === 'string' ? parseChainSubject(event.subject) : undefined;
  if (chain) return `${chain.namespace}/${chain.name}`;
  const { namespace, name, kind } = event;
  if (typeof namespace === 'string' && typeof name === 'string') {
    return kind === 'SupabaseProject' || typeof kind !== 'string'
      ? `${namespace}/${name}`
      : `${namespace}/${name} (${kind})`;
  }
  return '-';
}

/**
 * Formats one line.
 * @example 10:48:32.123  team-a/demo  validate-deps  → dev.reconciler.supabase.dependencies.validated  412 ms  trace 4bf9…
 */
export function phaseLine(input: PhaseLineInput): string {
  const time = input.time.toISOString().slice(11, 23);
  const duration = `${Math.round(input.durationMs)} ms`;
  return [
    time,
    eventObject(input.event).padEnd(24),
    input.fn.padEnd(17),
    input.outcome,
    duration,
    `trace ${input.traceId}`,
  ].join('  ');
}
