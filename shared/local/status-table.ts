/**
 * `supabase-reconciler status`: the projects as a table (namespace, name, phase, ready
 * components, last error, trace id), from the projects as the API server has them.
 */
import type { Reason } from '../api/reasons.ts';
import type { SupabaseProject } from '../api/types.ts';

/** Reasons that are work under way, not an error worth showing. */
const NOT_AN_ERROR: ReadonlySet<string> = new Set<Reason>([
  'Reconciling',
  'InProgress',
  'Pending',
  'Terminating',
  'ComponentsNotReady',
  'DeploymentMissing',
  'RollingOut',
  'PodsStarting',
]);

/** The most telling problem of a project: its failing condition's reason and message. */
export function lastError(project: Pick<SupabaseProject, 'status'>): string {
  const conditions = project.status?.conditions ?? [];
  const bad = conditions.find(
    (c) =>
      (c.type === 'Degraded' ? c.status === 'True' : c.status === 'False') &&
      c.type !== 'Ready' &&
      !NOT_AN_ERROR.has(c.reason),
  );
  return bad ? `${bad.type} ${bad.reason}: ${bad.message}` : '';
}

/**
 * Renders the table.
 * @param projects - the projects, any order (sorted here by namespace and name)
 * @param width - the longest line for the error column's cut (a terminal's width)
 */
export function renderStatusTable(
  projects: readonly Pick<SupabaseProject, 'metadata' | 'status'>[],
  width = 160,
): string {
  if (projects.length === 0) return 'No SupabaseProjects found.\n';
  const rows = [...projects]
    .sort((a, b) =>
      `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(
        `${b.metadata.namespace}/${b.metadata.name}`,
      ),
    )
    .map((p) => [
      p.metadata.namespace ?? '',
      p.metadata.name,
      p.status?.phase ?? 'Pending',
      p.status?.componentsReady ?? '-',
      p.status?.lastTraceId ?? '-',
      lastError(p),
    ]);
  const header = ['NAMESPACE', 'NAME', 'PHASE', 'READY', 'TRACE ID', 'LAST ERROR'];
  const widths = header
    .slice(0, -1)
    .map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => {
    const fixed = cells
      .slice(0, -1)
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('   ');
    const rest = Math.max(10, width - fixed.length - 3);
    const last = cells.at(-1) ?? '';
    return `${fixed}   ${last.length > rest ? `${last.slice(0, rest - 1)}…` : last}`.trimEnd();
  };
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}
