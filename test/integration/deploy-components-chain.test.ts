/**
 * The chain up to deploy-components as the Broker runs it: an ApiServerSource add event to
 * validate-deps, each reply to the next function (init-db, secrets, deploy-components), over
 * HTTP in binary mode, against the real API server with its controllers and kwok Nodes,
 * PostgreSQL, S3 and the OTLP receiver. Every Deployment rolls out to Ready Pods, and the
 * reconciliation is one trace.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  createDeployComponentsHandler,
  DEPLOY_COMPONENTS_FUNCTION,
} from '../../functions/deploy-components/handler.ts';
import { COMPONENTS } from '../../shared/api/components.ts';
import { componentResourceName } from '../../shared/api/resource-names.ts';
import { COMPONENT_APPLY_ORDER, COMPONENT_BUILDERS } from '../../shared/components/index.ts';
import { API_SERVER_EVENT, CHAIN_EVENT } from '../../shared/events/types.ts';
import { kubeObjectApplier } from '../../shared/k8s/apply.ts';
import { kubeEventRecorder } from '../../shared/k8s/events.ts';
import { kubeProjectStore } from '../../shared/reconcile/project-store.ts';
import {
  freshNamespace,
  kubeConnection,
  startOtlpReceiver,
  waitForRollout,
  type OtlpReceiver,
} from '../env/index.ts';
import {
  chainStores,
  deliver,
  phaseHarnesses,
  projectOnTestServers,
  replyOf,
} from '../fixtures/chain.ts';
import { createHarness, type Harness } from '../fixtures/function-harness.ts';
import { apiServerEvent, installProjectCrd } from '../fixtures/project.ts';

let receiver: OtlpReceiver;
let validateDeps: Harness;
let initDb: Harness;
let secrets: Harness;
let deploy: Harness;

before(async () => {
  await installProjectCrd();
  receiver = await startOtlpReceiver();
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint };
  // The OTLP exporters read their endpoint from the process environment, as in a pod.
  Object.assign(process.env, env);
  ({ validateDeps, initDb, secrets } = phaseHarnesses(env));
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
    { env, name: DEPLOY_COMPONENTS_FUNCTION, telemetry: validateDeps.telemetry },
  );
});

after(async () => {
  await validateDeps.telemetry.shutdown();
  await receiver.close();
});

test('add event -> validate-deps -> init-db -> secrets -> deploy-components: every Deployment rolls out to Ready Pods, one trace', async () => {
  const namespace = await freshNamespace('deploy-chain');
  const created = await projectOnTestServers(namespace, 'deploy_chain');

  const validated = replyOf(await deliver(validateDeps, apiServerEvent(created, 'add')));
  const initialised = replyOf(await deliver(initDb, validated));
  const ready = replyOf(await deliver(secrets, initialised));
  assert.equal(ready.type, CHAIN_EVENT.secretsReady);
  const deployed = replyOf(await deliver(deploy, ready));
  assert.equal(deployed.type, CHAIN_EVENT.componentsDeployed);
  assert.equal(deployed.subject, `namespaces/${namespace}/supabaseprojects/demo`);

  for (const component of COMPONENTS) {
    const rolled = await waitForRollout(namespace, componentResourceName('demo', component));
    assert.equal(rolled.status?.readyReplicas, rolled.spec?.replicas ?? 1, component);
  }

  const live = await kubeProjectStore({ kubeconfigPath: kubeConnection().kubeconfigPath }).get({
    namespace,
    name: 'demo',
  });
  assert.ok(live);
  const status = (type: string) => live.status?.conditions?.find((c) => c.type === type);
  for (const type of ['SecretsReady', 'NetworkReady', 'Progressing']) {
    assert.equal(status(type)?.status, 'True', `${type}: ${status(type)?.message ?? 'absent'}`);
  }
  assert.equal(live.status?.phase, 'DeployingComponents');

  await validateDeps.telemetry.flush();
  const names = [
    API_SERVER_EVENT.add,
    CHAIN_EVENT.dependenciesValidated,
    CHAIN_EVENT.databaseInitialized,
    CHAIN_EVENT.secretsReady,
  ];
  const spans = await receiver.waitForSpans((received) =>
    names.every((type) =>
      received.some((s) => s.name === `process ${type}` && s.traceId === live.status?.lastTraceId),
    ),
  );
  const chain = names.map((type) =>
    spans.find((s) => s.name === `process ${type}` && s.traceId === live.status?.lastTraceId)!,
  );
  for (let i = 1; i < chain.length; i++) {
    assert.equal(chain[i]!.traceId, chain[0]!.traceId, 'one trace');
    assert.equal(chain[i]!.parentSpanId, chain[i - 1]!.spanId, `${names[i]!} follows its sender`);
  }
});
