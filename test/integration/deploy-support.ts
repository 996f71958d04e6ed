/**
 * Support of deploy-manifests.test.ts: rendering the kustomize overlays of deploy/ (alone, or
 * with the observability component), reading the rendered objects, the settings each process
 * knows, and a check of PingSource schedules (Knative's admission webhook parses them; a test
 * API server runs no webhook, so the CRD accepts any text).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { deadLetter } from '../../functions/dead-letter/index.ts';
import { deployComponents } from '../../functions/deploy-components/index.ts';
import { finalize } from '../../functions/finalize/index.ts';
import { healthAggregate } from '../../functions/health-aggregate/index.ts';
import { initDb } from '../../functions/init-db/index.ts';
import { resync } from '../../functions/resync/index.ts';
import { secrets } from '../../functions/secrets/index.ts';
import { validateDeps } from '../../functions/validate-deps/index.ts';
import { localSchema } from '../../shared/config/local.ts';
import { runtimeSchema } from '../../shared/config/runtime-config.ts';
import { Setting, type ConfigSchema } from '../../shared/config/settings.ts';
import { kubectl } from '../env/deploy-tools.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** The overlays of deploy/overlays. */
export const OVERLAYS = ['knative', 'standalone'] as const;
export type Overlay = (typeof OVERLAYS)[number];

/** A rendered Kubernetes object, as plain data. */
export interface RenderedObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly [field: string]: unknown;
}

/** An overlay as `kubectl kustomize` renders it. */
export interface Rendering {
  /** `knative`, or `knative + observability`. */
  readonly label: string;
  /** The YAML stream, as `kubectl apply -k` would send it. */
  readonly yaml: string;
  readonly objects: readonly RenderedObject[];
}

/**
 * Renders an overlay with the repository's kubectl (its kustomize), optionally including the
 * observability component the way a user's kustomization would (README "Install on a
 * cluster"): a kustomization in a scratch folder naming the overlay and the component by
 * relative paths (kustomize refuses absolute ones).
 */
export async function render(overlay: Overlay, withObservability: boolean): Promise<Rendering> {
  const overlayDir = join(repoRoot, 'deploy/overlays', overlay);
  const label = withObservability ? `${overlay} + observability` : overlay;
  if (!withObservability) {
    const { stdout } = await kubectl(['kustomize', overlayDir]);
    return { label, yaml: stdout, objects: parseObjects(stdout) };
  }
  const dir = await mkdtemp(join(tmpdir(), 'sbr-kustomize-'));
  try {
    await writeFile(
      join(dir, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'resources:',
        `  - ${relative(dir, overlayDir)}`,
        'components:',
        `  - ${relative(dir, join(repoRoot, 'deploy/components/observability'))}`,
        '',
      ].join('\n'),
    );
    const { stdout } = await kubectl(['kustomize', dir]);
    return { label, yaml: stdout, objects: parseObjects(stdout) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Renders the example installation of deploy/examples/install (an overlay, the observability
 * component, the image, settings and min-scale patches: README "Install on a cluster").
 */
export async function renderExampleInstall(): Promise<Rendering> {
  const { stdout } = await kubectl(['kustomize', join(repoRoot, 'deploy/examples/install')]);
  return { label: EXAMPLE_INSTALL, yaml: stdout, objects: parseObjects(stdout) };
}

/** The label of the example installation's rendering. */
export const EXAMPLE_INSTALL = 'examples/install';

/** The objects of a YAML stream (comment-only documents skipped). */
export function parseObjects(yaml: string): RenderedObject[] {
  return parseAllDocuments(yaml)
    .map((document) => document.toJS() as RenderedObject | null)
    .filter((object): object is RenderedObject => object !== null);
}

/** A YAML stream of objects (for kubectl's stdin). */
export function toYaml(objects: readonly unknown[]): string {
  return objects.map((object) => JSON.stringify(object)).join('\n---\n');
}

/** The objects of a kind (and API group, when given: `Service` is core's and Knative's). */
export function objectsOf(
  objects: readonly RenderedObject[],
  kind: string,
  apiVersion?: string,
): RenderedObject[] {
  return objects.filter(
    (o) => o.kind === kind && (apiVersion === undefined || o.apiVersion === apiVersion),
  );
}

/** Every environment variable name a schema reads. */
export function variablesOf(schema: ConfigSchema): string[] {
  return Object.values(schema).flatMap((entry) =>
    entry instanceof Setting ? [...entry.variables] : variablesOf(entry),
  );
}

/** Each function (by its Knative Service name) with its own settings' schema. */
export const FUNCTION_SCHEMAS: ReadonlyMap<string, ConfigSchema | undefined> = new Map<
  string,
  ConfigSchema | undefined
>([
  [validateDeps.name, validateDeps.schema],
  [initDb.name, initDb.schema],
  [secrets.name, secrets.schema],
  [deployComponents.name, deployComponents.schema],
  [healthAggregate.name, healthAggregate.schema],
  [finalize.name, finalize.schema],
  [resync.name, resync.schema],
  [deadLetter.name, deadLetter.schema],
]);

/**
 * Variables the OpenTelemetry packages read themselves (the exporters, the resource detector),
 * not shared/config: a manifest may set them too.
 */
export const OPENTELEMETRY_OWN_VARIABLES: ReadonlySet<string> = new Set([
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_EXPORTER_OTLP_TIMEOUT',
]);

/** What one function's process reads: the runtime's settings, its own, OpenTelemetry's. */
export function variablesOfFunction(name: string): ReadonlySet<string> {
  const own = FUNCTION_SCHEMAS.get(name);
  return new Set([
    ...variablesOf(runtimeSchema),
    ...(own ? variablesOf(own) : []),
    ...OPENTELEMETRY_OWN_VARIABLES,
  ]);
}

/** What the local runtime's process reads: its own settings and every function's. */
export function variablesOfLocalRuntime(): ReadonlySet<string> {
  return new Set([
    ...variablesOf(localSchema),
    ...[...FUNCTION_SCHEMAS.keys()].flatMap((name) => [...variablesOfFunction(name)]),
  ]);
}

/**
 * The fields of a cron schedule as Knative's PingSource parses it (robfig/cron: five fields,
 * or six with a leading seconds field; `@hourly`-style descriptors and `@every <duration>`;
 * an optional `CRON_TZ=` prefix, which Knative sets from `spec.timezone`).
 */
const CRON_FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31, question: true },
  { name: 'month', min: 1, max: 12, names: 'JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC' },
  { name: 'day of week', min: 0, max: 6, question: true, names: 'SUN MON TUE WED THU FRI SAT' },
] as const;
const SECONDS_FIELD = { name: 'second', min: 0, max: 59 } as const;
const DESCRIPTORS = new Set([
  '@yearly',
  '@annually',
  '@monthly',
  '@weekly',
  '@daily',
  '@midnight',
  '@hourly',
]);

interface CronField {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly question?: boolean;
  readonly names?: string;
}

/**
 * Why a PingSource schedule would be refused, or undefined when it parses.
 * @param schedule - `spec.schedule`
 */
export function cronProblem(schedule: string): string | undefined {
  const text = schedule.replace(/^(CRON_)?TZ=\S+\s+/, '').trim();
  if (text.startsWith('@')) {
    if (DESCRIPTORS.has(text)) return undefined;
    const every = /^@every\s+((\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+)$/.exec(text);
    return every ? undefined : `"${schedule}" is not a cron descriptor`;
  }
  const parts = text.split(/\s+/);
  const fields: readonly CronField[] =
    parts.length === 6 ? [SECONDS_FIELD, ...CRON_FIELDS] : parts.length === 5 ? CRON_FIELDS : [];
  if (fields.length === 0)
    return `"${schedule}" has ${parts.length} fields; a cron schedule has 5 (or 6 with seconds)`;
  for (const [i, field] of fields.entries()) {
    const problem = cronFieldProblem(parts[i] ?? '', field);
    if (problem) return `"${schedule}": ${field.name} ${problem}`;
  }
  return undefined;
}

function cronFieldProblem(text: string, field: CronField): string | undefined {
  const value = (token: string): number | undefined => {
    const index = field.names?.split(' ').indexOf(token.toUpperCase()) ?? -1;
    if (index >= 0) return index + field.min;
    return /^\d+$/.test(token) ? Number(token) : undefined;
  };
  for (const item of text.split(',')) {
    const [range = '', step, ...extra] = item.split('/');
    if (extra.length > 0 || (step !== undefined && !/^[1-9]\d*$/.test(step)))
      return `has a bad step in "${item}"`;
    if (range === '*' || (range === '?' && field.question)) continue;
    const [low = '', high, ...more] = range.split('-');
    const from = value(low);
    const to = high === undefined ? from : value(high);
    if (more.length > 0 || from === undefined || to === undefined)
      return `"${item}" is not a number, a range or *`;
    if (from < field.min || to > field.max || from > to)
      return `"${item}" is outside ${field.min}-${field.max}`;
  }
  return undefined;
}

/**
 * The period of a schedule that ticks every N minutes (`*\/N * * * *`, with N dividing 60),
 * in milliseconds; undefined for any other schedule.
 */
export function everyMinutesPeriodMs(schedule: string): number | undefined {
  const match = /^\*\/(\d+) \* \* \* \*$/.exec(schedule.trim());
  const minutes = match ? Number(match[1]) : Number.NaN;
  return Number.isInteger(minutes) && 60 % minutes === 0 ? minutes * 60_000 : undefined;
}
