/**
 * Which of the reconciler's functions gave up on a dead-lettered event: the subscriber the
 * broker names in `knativeerrordest` when that is one of ours, else the function that consumes
 * the event's type (the Triggers' routing, docs/architecture.md "The chain").
 */
import type { ReceivedEvent } from '../../shared/events/parse.ts';
import { CHAIN_EVENT, type ChainEventType } from '../../shared/events/types.ts';

/**
 * Every function of the reconciler, by its Knative Service name (the folder names under
 * functions/; a function may not import another, so the names are listed here). Also the only
 * values of the dead-letter metric's `function` label besides `unknown`.
 */
export const FUNCTION_NAMES: ReadonlySet<string> = new Set([
  'validate-deps',
  'init-db',
  'secrets',
  'deploy-components',
  'health-aggregate',
  'finalize',
  'resync',
  'dead-letter',
]);

/** The function each chain event type is routed to. */
const CONSUMER_OF: Readonly<Record<ChainEventType, string>> = {
  [CHAIN_EVENT.reconcileRequested]: 'validate-deps',
  [CHAIN_EVENT.dependenciesValidated]: 'init-db',
  [CHAIN_EVENT.databaseInitialized]: 'secrets',
  [CHAIN_EVENT.secretsReady]: 'deploy-components',
  [CHAIN_EVENT.componentsDeployed]: 'health-aggregate',
};

/**
 * The function named by a subscriber URL: a Knative Service's address
 * (`http://<function>.<namespace>.svc.cluster.local`, or its external
 * `http://<function>.<namespace>.<domain>`), or one Service hosting every function behind its
 * own path (`http://<service>.<namespace>.svc/<function>`). Anything else names none.
 * @param destination - the `knativeerrordest` value
 */
export function functionOfDestination(destination: string): string | undefined {
  if (!URL.canParse(destination)) return undefined;
  const url = new URL(destination);
  const [firstLabel = ''] = url.hostname.split('.');
  const [firstSegment = ''] = url.pathname.split('/').filter((segment) => segment !== '');
  if (FUNCTION_NAMES.has(firstSegment)) return firstSegment;
  if (FUNCTION_NAMES.has(firstLabel)) return firstLabel;
  return undefined;
}

/**
 * The function that consumes an event (the Triggers' routing): chain events by type;
 * ApiServerSource deletes and updates announcing a deletion go to finalize, the other adds and
 * updates to validate-deps.
 */
export function consumerOf(event: ReceivedEvent): string | undefined {
  switch (event.kind) {
    case 'chain':
      return CONSUMER_OF[event.type];
    case 'resource':
      return event.action === 'delete' || event.object.metadata.deletionTimestamp !== undefined
        ? 'finalize'
        : 'validate-deps';
    case 'ping':
      return 'resync';
  }
}
