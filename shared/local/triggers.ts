/**
 * Reading the Broker and Trigger manifests of deploy/ (eventing.knative.dev/v1), the one source
 * of truth for the reconciler's routing: the cluster applies them, the in-process broker of
 * `npm start` routes by them. Other objects in the same files (Services, sources, RBAC) are
 * skipped. Whatever the local broker could not honour as Knative would is refused with a
 * ManifestError naming the file, the object and the field.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CloudEventV1 } from 'cloudevents';
import { parseAllDocuments } from 'yaml';
import {
  parseIsoDuration,
  type DeliverySpec,
  type Destination,
  type DestinationRef,
} from './delivery.ts';
import { matchesFilter, type SubscriptionsFilter, type TriggerFilter } from './filter.ts';
import { runtimeFile } from '../runtime/runtime-files.ts';

/** A manifest the local broker cannot use; one sentence per problem. */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(
      problems.length === 1
        ? `invalid Knative manifest: ${problems[0] ?? ''}`
        : `invalid Knative manifests:\n- ${problems.join('\n- ')}`,
    );
    this.problems = problems;
  }
}

/** A Broker as the manifests declare it. */
export interface BrokerManifest {
  readonly name: string;
  readonly namespace?: string;
  readonly delivery?: DeliverySpec;
  /** Where it was read (file and document), for messages. */
  readonly origin: string;
}

/** A Trigger as the manifests declare it. */
export interface TriggerManifest {
  readonly name: string;
  readonly namespace?: string;
  /** The name of its Broker (`spec.broker`). */
  readonly broker: string;
  readonly filter: TriggerFilter;
  readonly subscriber: Destination;
  /** Its own delivery, which replaces the Broker's entirely. */
  readonly delivery?: DeliverySpec;
  readonly origin: string;
}

/** Every Broker and Trigger of a set of manifests. */
export interface Topology {
  readonly brokers: readonly BrokerManifest[];
  readonly triggers: readonly TriggerManifest[];
}

/** Where a Trigger sends an event: what `routes` answers. */
export interface Route {
  readonly trigger: TriggerManifest;
  readonly subscriber: Destination;
}

const EVENTING_GROUP = 'eventing.knative.dev';
const EVENTING_VERSION = `${EVENTING_GROUP}/v1`;
/** Attribute names a filter may use (Knative's validation of `filter.attributes`). */
const ATTRIBUTE_NAME = /^[a-z][a-z0-9]*$/;

/** deploy/overlays/knative/ of this repository: the manifests `npm start` routes by. */
export function defaultManifestDir(): string {
  // Through runtimeFile: the build copies the folder beside the bundle (scripts/build.ts).
  return fileURLToPath(runtimeFile('deploy/overlays/knative/'));
}

/**
 * Reads every `*.yaml`/`*.yml` file of `dir` (not recursing, in name order).
 * @throws ManifestError listing every problem found; an Error when the folder is unreadable
 */
export async function readTopology(dir: string = defaultManifestDir()): Promise<Topology> {
  const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  const texts = await Promise.all(
    files.map(async (file) => ({ text: await readFile(join(dir, file), 'utf8'), origin: file })),
  );
  return parseManifests(texts);
}

/**
 * Parses manifests (several YAML documents per text) into a topology.
 * @param sources - each manifest text with a name for messages (its file)
 * @throws ManifestError listing every problem
 */
export function parseManifests(
  sources: readonly { readonly text: string; readonly origin: string }[],
): Topology {
  const problems: string[] = [];
  const brokers: BrokerManifest[] = [];
  const triggers: TriggerManifest[] = [];
  for (const { text, origin } of sources) {
    parseAllDocuments(text).forEach((document, index) => {
      const where = `${origin} (document ${index + 1})`;
      if (document.errors.length > 0) {
        problems.push(`${where} is not valid YAML: ${document.errors[0]?.message ?? ''}`);
        return;
      }
      const object: unknown = document.toJS();
      if (object === null || object === undefined) return; // a comment-only document
      const reader = new Reader(where, problems);
      const parsed = reader.object(object);
      if (parsed?.kind === 'Broker') brokers.push(parsed.value);
      else if (parsed?.kind === 'Trigger') triggers.push(parsed.value);
    });
  }
  checkNames(brokers, 'Broker', problems);
  checkNames(triggers, 'Trigger', problems);
  if (problems.length > 0) throw new ManifestError(problems);
  return { brokers, triggers };
}

/**
 * The Triggers an event is routed by: every one whose filter matches it. The deploy checks
 * reuse this to prove each event type reaches the function that handles it.
 */
export function routes(
  triggers: readonly TriggerManifest[],
  event: CloudEventV1<unknown>,
): Route[] {
  return triggers
    .filter((trigger) => matchesFilter(trigger.filter, event))
    .map((trigger) => ({ trigger, subscriber: trigger.subscriber }));
}

function checkNames(
  objects: readonly { name: string; namespace?: string; origin: string }[],
  kind: string,
  problems: string[],
): void {
  const seen = new Map<string, string>();
  for (const object of objects) {
    const key = `${object.namespace ?? ''}/${object.name}`;
    const first = seen.get(key);
    if (first !== undefined)
      problems.push(
        `${object.origin}: ${kind} "${object.name}" is declared twice (first in ${first})`,
      );
    else seen.set(key, object.origin);
  }
}

type Parsed =
  { kind: 'Broker'; value: BrokerManifest } | { kind: 'Trigger'; value: TriggerManifest };

/** Reads one object, recording problems with their path instead of stopping at the first. */
class Reader {
  private readonly where: string;
  private readonly problems: string[];

  constructor(where: string, problems: string[]) {
    this.where = where;
    this.problems = problems;
  }

  private fail(path: string, message: string): void {
    this.problems.push(`${this.where}: ${path} ${message}`);
  }

  object(value: unknown): Parsed | undefined {
    if (!isRecord(value)) {
      this.fail('the document', 'is not an object');
      return undefined;
    }
    const { apiVersion, kind } = value;
    if (typeof apiVersion !== 'string' || !apiVersion.startsWith(`${EVENTING_GROUP}/`))
      return undefined; // not ours to read: a Service, a source, RBAC…
    if (kind !== 'Broker' && kind !== 'Trigger') return undefined;
    if (apiVersion !== EVENTING_VERSION) {
      this.fail('apiVersion', `is ${apiVersion}; write ${kind} as ${EVENTING_VERSION}`);
      return undefined;
    }
    const metadata = isRecord(value.metadata) ? value.metadata : {};
    const name = this.name(metadata.name, 'metadata.name');
    const namespace = metadata.namespace;
    if (namespace !== undefined && (typeof namespace !== 'string' || namespace === ''))
      this.fail('metadata.namespace', 'must be a namespace name when set');
    const spec = value.spec ?? {};
    if (!isRecord(spec)) {
      this.fail('spec', 'must be an object');
      return undefined;
    }
    const label = `${kind} "${name ?? '?'}"`;
    const base = {
      name: name ?? '',
      ...(typeof namespace === 'string' ? { namespace } : {}),
      origin: `${this.where}, ${label}`,
    };
    const delivery =
      spec.delivery === undefined
        ? undefined
        : this.delivery(spec.delivery, `${label} spec.delivery`);
    const withDelivery = delivery === undefined ? {} : { delivery };
    if (kind === 'Broker') return { kind, value: { ...base, ...withDelivery } };

    if (spec.brokerRef !== undefined)
      this.fail(`${label} spec.brokerRef`, 'is not supported; name the Broker with spec.broker');
    const broker = this.name(spec.broker, `${label} spec.broker`);
    const subscriber = this.destination(spec.subscriber, `${label} spec.subscriber`);
    const filter = this.filter(spec, label);
    if (broker === undefined || subscriber === undefined || filter === undefined) return undefined;
    return { kind, value: { ...base, broker, filter, subscriber, ...withDelivery } };
  }

  private name(value: unknown, path: string): string | undefined {
    if (typeof value === 'string' && value !== '') return value;
    {
      this.fail(path, 'is required (a name)');
      return undefined;
    }
  }

  private filter(spec: Record<string, unknown>, label: string): TriggerFilter | undefined {
    // Knative: when both are set, `filters` wins.
    if (spec.filters !== undefined) {
      const filters = this.list(spec.filters, `${label} spec.filters`);
      return (
        filters && {
          filters: filters.map((f, i) => this.expression(f, `${label} spec.filters[${i}]`)),
        }
      );
    }
    const filter = spec.filter ?? {};
    if (!isRecord(filter)) {
      this.fail(`${label} spec.filter`, 'must be an object');
      return undefined;
    }
    const attributes = filter.attributes ?? {};
    const map = this.attributeMap(attributes, `${label} spec.filter.attributes`, true);
    return map && { attributes: map };
  }

  private expression(value: unknown, path: string): SubscriptionsFilter {
    const never: SubscriptionsFilter = { any: [] };
    if (!isRecord(value)) {
      this.fail(path, 'must be an object');
      return never;
    }
    const dialects = Object.keys(value);
    if (dialects.length !== 1) {
      this.fail(
        path,
        `must use exactly one dialect (exact, prefix, suffix, all, any, not), found ${dialects.length}`,
      );
      return never;
    }
    const [dialect = ''] = dialects;
    const body = value[dialect];
    const at = `${path}.${dialect}`;
    switch (dialect) {
      case 'exact':
      case 'prefix':
      case 'suffix': {
        const map = this.attributeMap(body, at, false);
        if (map === undefined) return never;
        if (Object.keys(map).length === 0) {
          this.fail(at, 'must name at least one attribute');
          return never;
        }
        return dialect === 'exact'
          ? { exact: map }
          : dialect === 'prefix'
            ? { prefix: map }
            : { suffix: map };
      }
      case 'all':
      case 'any': {
        const list = this.list(body, at);
        if (list === undefined) return never;
        const items = list.map((f, i) => this.expression(f, `${at}[${i}]`));
        return dialect === 'all' ? { all: items } : { any: items };
      }
      case 'not':
        return { not: this.expression(body, at) };
      case 'cesql': {
        this.fail(
          at,
          'is not supported by the local broker (npm start); express the filter with exact, prefix, suffix, all, any or not',
        );
        return never;
      }
      default: {
        this.fail(path, `uses an unknown dialect "${dialect}"`);
        return never;
      }
    }
  }

  private list(value: unknown, path: string): unknown[] | undefined {
    if (Array.isArray(value)) return value as unknown[];
    {
      this.fail(path, 'must be a list');
      return undefined;
    }
  }

  private attributeMap(
    value: unknown,
    path: string,
    emptyValueAllowed: boolean,
  ): Record<string, string> | undefined {
    if (!isRecord(value)) {
      this.fail(path, 'must be a map of attribute names to values');
      return undefined;
    }
    const map: Record<string, string> = {};
    let ok = true;
    for (const [name, expected] of Object.entries(value)) {
      if (!ATTRIBUTE_NAME.test(name)) {
        ok = false;
        this.fail(
          `${path}.${name}`,
          'is not a CloudEvents attribute name (lower-case letters and digits, starting with a letter)',
        );
      } else if (typeof expected !== 'string') {
        ok = false;
        this.fail(`${path}.${name}`, `must be a string (quote it in YAML), got ${typeof expected}`);
      } else if (expected === '' && !emptyValueAllowed) {
        ok = false;
        this.fail(`${path}.${name}`, 'must not be empty');
      } else map[name] = expected;
    }
    return ok ? map : undefined;
  }

  private destination(value: unknown, path: string): Destination | undefined {
    if (!isRecord(value)) {
      this.fail(path, 'is required: a ref to a Service, a uri, or both');
      return undefined;
    }
    const { ref, uri } = value;
    if (ref === undefined && uri === undefined) {
      this.fail(path, 'needs a ref (apiVersion, kind, name) or a uri');
      return undefined;
    }
    if (uri !== undefined && (typeof uri !== 'string' || uri === '')) {
      this.fail(`${path}.uri`, 'must be a URI');
      return undefined;
    }
    if (typeof uri === 'string' && ref === undefined && !URL.canParse(uri)) {
      this.fail(`${path}.uri`, 'must be an absolute URI when there is no ref');
      return undefined;
    }
    let parsedRef: DestinationRef | undefined;
    if (ref !== undefined) {
      if (!isRecord(ref)) {
        this.fail(`${path}.ref`, 'must be an object');
        return undefined;
      }
      const apiVersion = this.name(ref.apiVersion, `${path}.ref.apiVersion`);
      const kind = this.name(ref.kind, `${path}.ref.kind`);
      const name = this.name(ref.name, `${path}.ref.name`);
      if (apiVersion === undefined || kind === undefined || name === undefined) return undefined;
      parsedRef = {
        apiVersion,
        kind,
        name,
        ...(typeof ref.namespace === 'string' ? { namespace: ref.namespace } : {}),
      };
    }
    return {
      ...(parsedRef ? { ref: parsedRef } : {}),
      ...(typeof uri === 'string' ? { uri } : {}),
    };
  }

  private delivery(value: unknown, path: string): DeliverySpec | undefined {
    if (!isRecord(value)) {
      this.fail(path, 'must be an object');
      return undefined;
    }
    const known = new Set([
      'retry',
      'backoffPolicy',
      'backoffDelay',
      'timeout',
      'deadLetterSink',
      'format',
      'retryAfterMax',
    ]);
    for (const field of Object.keys(value))
      if (!known.has(field)) this.fail(`${path}.${field}`, 'is not a delivery field');
    const { retry = 0, backoffPolicy, backoffDelay, timeout, deadLetterSink, format } = value;
    if (typeof retry !== 'number' || !Number.isInteger(retry) || retry < 0 || retry > 100) {
      this.fail(`${path}.retry`, 'must be an integer from 0 to 100');
      return undefined;
    }
    if (
      backoffPolicy !== undefined &&
      backoffPolicy !== 'exponential' &&
      backoffPolicy !== 'linear'
    ) {
      this.fail(`${path}.backoffPolicy`, 'must be exponential or linear');
      return undefined;
    }
    if (format !== undefined && format !== 'json' && format !== 'binary') {
      this.fail(`${path}.format`, 'must be json or binary');
      return undefined;
    }
    const backoffDelayMs = this.duration(backoffDelay, `${path}.backoffDelay`);
    const timeoutMs = this.duration(timeout, `${path}.timeout`);
    if (timeoutMs === 0) {
      this.fail(`${path}.timeout`, 'must be longer than zero');
      return undefined;
    }
    const sink =
      deadLetterSink === undefined
        ? undefined
        : this.destination(deadLetterSink, `${path}.deadLetterSink`);
    return {
      retry,
      ...(backoffPolicy === undefined ? {} : { backoffPolicy }),
      ...(backoffDelayMs === undefined ? {} : { backoffDelayMs }),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(sink === undefined ? {} : { deadLetterSink: sink }),
      ...(format === undefined ? {} : { format }),
    };
  }

  private duration(value: unknown, path: string): number | undefined {
    if (value === undefined) return undefined;
    const ms = typeof value === 'string' ? parseIsoDuration(value) : undefined;
    if (ms === undefined) {
      this.fail(path, 'must be an ISO-8601 duration such as PT0.5S or PT1M (no years or months)');
      return undefined;
    }
    return ms;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
