/**
 * A rollout that cannot progress (Auth requests more CPU than any kwok Node has, so its Pod
 * stays Pending) with a short `spec.progressDeadlineSeconds`: the deployment controller of
 * the test cluster sets Progressing=False ProgressDeadlineExceeded on its own at the deadline,
 * and health-aggregate reports it as AuthReady=False, Degraded=True and Progressing=False,
 * naming the component and the controller's message. Before the deadline the same Pod is
 * merely starting: not degraded.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { COMPONENTS } from '../../shared/api/components.ts';
import { componentResourceName } from '../../shared/api/resource-names.ts';
import { freshNamespace, waitForRollout } from '../env/index.ts';
import { installProjectCrd } from '../fixtures/project.ts';
import { preparedProject, readProject, runDeploy } from './deploy-components-support.ts';
import {
  deliverDeployed,
  deliverDeployment,
  deploymentOf,
  healthUnderTest,
  waitForDeployment,
} from './health-aggregate-support.ts';

before(async () => {
  await installProjectCrd();
});

const DEADLINE_SECONDS = 5;

test('a rollout stuck past spec.progressDeadlineSeconds: Degraded=True, AuthReady=False and Progressing=False with ProgressDeadlineExceeded', async () => {
  const namespace = await freshNamespace('health-deadline');
  const health = healthUnderTest();
  await preparedProject(namespace, {
    progressDeadlineSeconds: DEADLINE_SECONDS,
    // More than a kwok Node has (1k CPUs each): the Pod stays Pending.
    auth: { resources: { requests: { cpu: '5000' } } },
  });
  await runDeploy(namespace);
  for (const c of COMPONENTS) {
    const deployment = await deploymentOf(namespace, c);
    assert.equal(deployment.spec?.progressDeadlineSeconds, DEADLINE_SECONDS, c);
  }

  // Before the deadline the Pending Pod is starting, not a fault.
  await deliverDeployed(health, namespace);
  const early = await readProject(namespace);
  const before = (type: string) => early.status?.conditions?.find((c) => c.type === type);
  assert.notEqual(before('AuthReady')?.status, 'True');
  assert.notEqual(before('AuthReady')?.reason, 'ProgressDeadlineExceeded');
  assert.equal(before('Degraded')?.status, 'False', before('Degraded')?.message);

  await Promise.all(
    COMPONENTS.filter((c) => c !== 'auth').map((c) =>
      waitForRollout(namespace, componentResourceName('demo', c)),
    ),
  );
  await waitForDeployment(
    namespace,
    'auth',
    'the controller reports ProgressDeadlineExceeded',
    (d) =>
      d.status?.conditions?.some(
        (c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded',
      ) === true,
    DEADLINE_SECONDS * 1000 + 30_000,
  );
  await deliverDeployment(health, namespace, 'auth');

  const stuck = await readProject(namespace);
  const condition = (type: string) => stuck.status?.conditions?.find((c) => c.type === type);
  assert.equal(condition('AuthReady')?.status, 'False');
  assert.equal(condition('AuthReady')?.reason, 'ProgressDeadlineExceeded');
  assert.equal(condition('Degraded')?.status, 'True');
  assert.equal(condition('Degraded')?.reason, 'ProgressDeadlineExceeded');
  assert.match(
    condition('Degraded')?.message ?? '',
    /^Auth \(GoTrue\): the rollout of Deployment demo-auth made no progress within spec\.progressDeadlineSeconds: 0\/1 ready.*Progressing=False \(ProgressDeadlineExceeded\): ReplicaSet "demo-auth-[a-z0-9]+" has timed out progressing\./,
  );
  assert.equal(condition('Progressing')?.status, 'False');
  assert.equal(condition('Progressing')?.reason, 'ProgressDeadlineExceeded');
  assert.equal(condition('Ready')?.status, 'False');
  assert.equal(condition('Ready')?.reason, 'ComponentsDegraded');
  assert.equal(stuck.status?.phase, 'DeployingComponents');
  assert.equal(condition('KongReady')?.status, 'True');
});
