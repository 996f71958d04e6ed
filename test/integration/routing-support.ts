/**
 * The routing checks of the reconciler's Triggers against the functions' contracts: every event
 * type of the reconciler (shared/events/types.ts; the ApiServerSource types once per watched
 * kind) reaches exactly the functions that handle it, and never one whose parser would refuse
 * it (400, not retried, dead-lettered). Routing is decided by `routes` of
 * shared/local/triggers.ts, the router of the local runtime's broker. Run on the Trigger files
 * of deploy/overlays/knative (local-broker-routes.test.ts) and on the overlay as kustomize
 * renders it (deploy-manifests.test.ts), so a Trigger or an ACCEPTS list changed alone fails.
 *
 * "Exactly the functions that handle it" is not always one function: an `update` of a
 * SupabaseProject reaches validate-deps (a new generation starts a chain) and finalize (a
 * deletion under way), and reconcile.requested reaches validate-deps, finalize and
 * health-aggregate; each acts on its own part and acknowledges the rest.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { CloudEvent, HTTP } from 'cloudevents';
import { DEPLOY_COMPONENTS_ACCEPTS } from '../../functions/deploy-components/handler.ts';
import { FINALIZE_ACCEPTS } from '../../functions/finalize/decide.ts';
import { HEALTH_AGGREGATE_ACCEPTS } from '../../functions/health-aggregate/handler.ts';
import { initDbAccepts } from '../../functions/init-db/handler.ts';
import { RESYNC_ACCEPTS } from '../../functions/resync/handler.ts';
import { SECRETS_ACCEPTS } from '../../functions/secrets/handler.ts';
import { VALIDATE_DEPS_ACCEPTS } from '../../functions/validate-deps/handler.ts';
import { API_GROUP_VERSION, KIND } from '../../shared/api/group-version.ts';
import type { Accepts } from '../../shared/events/parse.ts';
import {
  ACKNOWLEDGED_DELETE,
  API_SERVER_EVENT,
  KNOWN_EVENT_TYPES,
} from '../../shared/events/types.ts';
import { routes, type TriggerManifest } from '../../shared/local/triggers.ts';

/** Every function a Trigger may name (its Knative Service), with what its handler parses. */
export const ACCEPTS: ReadonlyMap<string, Accepts> = new Map([
  ['validate-deps', VALIDATE_DEPS_ACCEPTS],
  ['init-db', initDbAccepts],
  ['secrets', SECRETS_ACCEPTS],
  ['deploy-components', DEPLOY_COMPONENTS_ACCEPTS],
  ['health-aggregate', HEALTH_AGGREGATE_ACCEPTS],
  ['finalize', FINALIZE_ACCEPTS],
  ['resync', RESYNC_ACCEPTS],
]);

/**
 * The phases list ApiServerSource `delete` only to acknowledge it (shared/events/types.ts,
 * ACKNOWLEDGED_DELETE); these act on a delete of the kind they watch.
 */
const ACTS_ON_DELETE: ReadonlySet<string> = new Set(['finalize', 'health-aggregate']);

/** The objects the two ApiServerSources watch. */
const WATCHED = [
  { apiVersion: API_GROUP_VERSION, kind: KIND },
  { apiVersion: 'apps/v1', kind: 'Deployment' },
] as const;

const API_SERVER_TYPES: ReadonlySet<string> = new Set(Object.values(API_SERVER_EVENT));

/** One event per type, and per watched kind for the ApiServerSource types. */
function everyEvent(): { event: CloudEvent<unknown>; kind?: string }[] {
  return [...KNOWN_EVENT_TYPES].flatMap((type) =>
    API_SERVER_TYPES.has(type)
      ? WATCHED.map(({ apiVersion, kind }) => ({
          kind,
          event: new CloudEvent<unknown>({
            type,
            source: 'https://10.96.0.1:443',
            kind,
            apiversion: apiVersion,
          }),
        }))
      : [{ event: new CloudEvent<unknown>({ type, source: '/test' }) }],
  );
}

/** Whether the function's parser takes the event (else it answers 400). */
function parses(accepts: Accepts, type: string, kind: string | undefined): boolean {
  if (!accepts.types.includes(type)) return false;
  return kind === undefined || accepts.resource === undefined || accepts.resource.kind === kind;
}

/** Whether the function does something with the event (not merely acknowledges it). */
function handles(name: string, accepts: Accepts, type: string, kind: string | undefined): boolean {
  if (!parses(accepts, type, kind)) return false;
  return (
    type !== ACKNOWLEDGED_DELETE || (ACTS_ON_DELETE.has(name) && accepts.resource?.kind === kind)
  );
}

function subscribersOf(triggers: readonly TriggerManifest[], event: CloudEvent<unknown>): string[] {
  return routes(triggers, event)
    .map((route) => route.subscriber.ref?.name ?? '?')
    .sort();
}

/** Every Trigger names a function of the reconciler, never the dead-letter sink. */
export function assertTriggersNameFunctions(triggers: readonly TriggerManifest[]): void {
  assert.ok(triggers.length > 0, 'no Trigger at all');
  for (const trigger of triggers) {
    const name = trigger.subscriber.ref?.name ?? '';
    assert.ok(ACCEPTS.has(name), `${trigger.name} names "${name}"`);
  }
}

/**
 * Every event type reaches exactly the functions that handle it, none that would answer 400,
 * and at least one.
 * @returns the routing table, one line per event (`<type> (kind K) → f1, f2`)
 */
export function assertEveryEventReachesItsHandlers(triggers: readonly TriggerManifest[]): string[] {
  const table: string[] = [];
  for (const { event, kind } of everyEvent()) {
    const routed = subscribersOf(triggers, event);
    const expected = [...ACCEPTS]
      .filter(([name, accepts]) => handles(name, accepts, event.type, kind))
      .map(([name]) => name)
      .sort();
    const label = `${event.type}${kind ? ` (kind ${kind})` : ''}`;
    assert.deepEqual(routed, expected, label);
    for (const name of routed)
      assert.ok(
        parses(ACCEPTS.get(name)!, event.type, kind),
        `${label} → ${name} would answer 400`,
      );
    table.push(`${label} → ${routed.join(', ')}`);
  }
  // Every type is routed somewhere: an event nobody handles is a Trigger missing.
  for (const line of table) assert.doesNotMatch(line, /→ $/, line);
  return table;
}

/** What is none of the reconciler's events routes nowhere. */
export function assertForeignEventsRouteNowhere(triggers: readonly TriggerManifest[]): void {
  assert.deepEqual(
    subscribersOf(triggers, new CloudEvent({ type: 'dev.example.other', source: '/x' })),
    [],
  );
  // An ApiServerSource event without its kind (another adapter) matches no kind filter.
  assert.deepEqual(
    subscribersOf(triggers, new CloudEvent({ type: API_SERVER_EVENT.add, source: '/x' })),
    [],
  );
  assert.deepEqual(
    subscribersOf(
      triggers,
      new CloudEvent({ type: API_SERVER_EVENT.add, source: '/x', kind: 'ConfigMap' }),
    ),
    [],
  );
}

/** The recorded adapter and chain events of test/fixtures/events reach functions that parse them. */
export async function assertRecordedEventsRouted(
  triggers: readonly TriggerManifest[],
): Promise<void> {
  const dir = new URL('../fixtures/events/', import.meta.url);
  const files = (await readdir(dir)).filter(
    (f) => f.endsWith('.json') && !f.startsWith('dead-letter'),
  );
  assert.ok(files.length >= 5);
  for (const file of files) {
    const { headers, body } = JSON.parse(await readFile(new URL(file, dir), 'utf8')) as {
      headers: Record<string, string>;
      body: string;
    };
    const event = HTTP.toEvent({ headers, body }) as CloudEvent<unknown>;
    const kind = typeof event.kind === 'string' ? event.kind : undefined;
    const routed = subscribersOf(triggers, event);
    assert.ok(routed.length > 0, `${file} is routed nowhere`);
    for (const name of routed)
      assert.ok(parses(ACCEPTS.get(name)!, event.type, kind), `${file} → ${name}`);
  }
}
