/**
 * The whole chain as the Broker runs it, over HTTP in binary mode: an ApiServerSource add
 * event to validate-deps, each reply to the next function, deploy-components' reply to
 * health-aggregate (which answers 204: the chain ends), on the real API server with its
 * controllers and kwok Nodes, PostgreSQL and S3. The project ends Running and Ready with the
 * chain's trace id, observedGeneration and lastReconcileTime, and a later Deployment event
 * that changes nothing writes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  createDeployComponentsHandler,
  DEPLOY_COMPONENTS_FUNCTION,
} from '../../functions/deploy-components/handler.ts';
import { COMPONENTS } from '../../shared/api/components.ts';
import { COMPONENT_READY_CONDITIONS } from '../../shared/api/conditions.ts';
import { componentResourceName } from '../../shared/api/resource-names.ts';
import { COMPONENT_APPLY_ORDER, COMPONENT_BUILDERS } from '../../shared/components/index.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { kubeObjectApplier } from '../../shared/k8s/apply.ts';
import { kubeEventRecorder } from '../../shared/k8s/events.ts';
import { freshNamespace, kubeConnection, waitForRollout } from '../env/index.ts';
import {
  chainStores,
  deliver,
  phaseHarnesses,
  projectOnTestServers,
  replyOf,
  type PhaseHarnesses,
} from '../fixtures/chain.ts';
import { createHarness, NO_EXPORT_ENV, type Harness } from '../fixtures/function-harness.ts';
import { apiServerEvent, installProjectCrd, readProject } from '../fixtures/project.ts';
import { deliverDeployment, healthUnderTest } from './health-aggregate-support.ts';

let phases: PhaseHarnesses;
let deploy: Harness;

before(async () => {
  await installProjectCrd();
  phases = phaseHarnesses(NO_EXPORT_ENV);
  deploy = createHarness(
    createDeployComponentsHandler({
      ...chainStores(),
      objects: kubeObjectApplier({ kubeconfigPath: kubeConnection().kubeconfigPath }),
      events: kubeEventRecorder({
        kubeconfigPath: kubeConnection().kubeconfigPath,
        component: DEPLOY_COMPONENTS_FUNCTION,
      }),
      builders: COMPONENT_BUILDERS,
      order: COMPONENT_APPLY_ORDER,
      clock: () => new Date(),
    }),
    { name: DEPLOY_COMPONENTS_FUNCTION, telemetry: phases.validateDeps.telemetry },
  );
});

after(async () => {
  await phases.validateDeps.telemetry.shutdown();
});

test("add event -> validate-deps -> init-db -> secrets -> deploy-components -> health-aggregate: Running and Ready with the chain's trace id", async () => {
  const namespace = await freshNamespace('health-chain');
  const health = healthUnderTest();
  const created = await projectOnTestServers(namespace, 'health_chain');

  const validated = replyOf(await deliver(phases.validateDeps, apiServerEvent(created, 'add')));
  const initialised = replyOf(await deliver(phases.initDb, validated));
  const ready = replyOf(await deliver(phases.secrets, initialised));
  const deployed = replyOf(await deliver(deploy, ready));
  assert.equal(deployed.type, CHAIN_EVENT.componentsDeployed);
  const traceId = (await readProject(namespace)).status?.lastTraceId;
  assert.match(traceId ?? '', /^[0-9a-f]{32}$/);

  await Promise.all(
    COMPONENTS.map((c) => waitForRollout(namespace, componentResourceName('demo', c))),
  );
  const answer = await deliver(health.harness, deployed);
  assert.equal(answer.status, 204, 'no reply: the chain ends');
  assert.equal(answer.text, '');

  const project = await readProject(namespace);
  const status = project.status;
  assert.ok(status);
  const condition = (type: string) => status.conditions?.find((c) => c.type === type);
  assert.equal(status.phase, 'Running');
  for (const type of [
    'Ready',
    'Available',
    'PostgreSQLConnected',
    'S3Connected',
    'DatabaseInitialized',
    'SecretsReady',
    'NetworkReady',
    ...COMPONENTS.map((c) => COMPONENT_READY_CONDITIONS[c]),
  ]) {
    assert.equal(
      condition(type)?.status,
      'True',
      `${type}: ${condition(type)?.message ?? 'absent'}`,
    );
    assert.equal(condition(type)?.observedGeneration, 1, type);
  }
  assert.equal(condition('Degraded')?.status, 'False');
  assert.equal(condition('Progressing')?.status, 'False');
  assert.equal(condition('Progressing')?.reason, 'Succeeded');
  assert.equal(status.observedGeneration, 1);
  assert.equal(status.lastTraceId, traceId, 'the trace of this reconciliation is kept');
  assert.ok(status.lastReconcileTime);
  assert.equal(status.componentsReady, '7/7');

  const writes = health.writes();
  await deliverDeployment(health, namespace, 'storageApi');
  assert.equal(health.writes(), writes, 'nothing changed: nothing written');
});
