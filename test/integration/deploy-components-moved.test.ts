/**
 * What a project moved over from the reference operator brings to deploy-components, on the
 * real API server with the controllers: the SMTP Secret (`spec.auth.smtpSecretRef`) reaches
 * Auth's Deployment by reference and a changed SMTP Secret rolls Auth and nothing else; a
 * storage endpoint written as a bare host reaches Storage as `https://<host>`.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { COMPONENTS, type ComponentName } from '../../shared/api/components.ts';
import { componentResourceName } from '../../shared/api/resource-names.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { isAcknowledgement } from '../../shared/runtime/handler.ts';
import { INPUTS_HASH_ANNOTATION } from '../../functions/deploy-components/inputs-hash.ts';
import { freshNamespace, kube, waitForRollout } from '../env/index.ts';
import { createProject, createSecret, installProjectCrd } from '../fixtures/project.ts';
import {
  DATABASE,
  preparedProject,
  readDeployment,
  readProject,
  replicaSets,
  resolvedEnv,
  runDeploy,
  runSecrets,
} from './deploy-components-support.ts';

before(async () => {
  await installProjectCrd();
});

const SMTP = {
  host: 'smtp.example.internal',
  port: '587',
  username: 'mailer',
  password: 'smtp-password-value-0123',
  from: 'noreply@example.internal',
};

function assertReplied(result: Awaited<ReturnType<typeof runDeploy>>['result']) {
  assert.ok(result && !isAcknowledgement(result), `a reply, got ${JSON.stringify(result)}`);
  assert.equal(result.type, CHAIN_EVENT.componentsDeployed);
}

async function authEnv(namespace: string) {
  const deployment = await readDeployment(namespace, 'auth');
  const container = deployment?.spec?.template.spec?.containers[0];
  assert.ok(container, 'Auth has a container');
  return { deployment, env: container.env ?? [] };
}

test('the SMTP Secret reaches Auth by reference, autoconfirm goes off, and a changed SMTP Secret rolls Auth alone', async () => {
  const namespace = await freshNamespace('deploy-smtp');
  await createSecret(namespace, 'demo-smtp', SMTP);
  await preparedProject(namespace, { auth: { smtpSecretRef: { name: 'demo-smtp' } } });
  assertReplied((await runDeploy(namespace)).result);

  const { deployment, env } = await authEnv(namespace);
  for (const [variable, key] of [
    ['GOTRUE_SMTP_HOST', 'host'],
    ['GOTRUE_SMTP_PORT', 'port'],
    ['GOTRUE_SMTP_USER', 'username'],
    ['GOTRUE_SMTP_PASS', 'password'],
    ['GOTRUE_SMTP_ADMIN_EMAIL', 'from'],
  ] as const) {
    const entry = env.find((e) => e.name === variable);
    const ref = entry?.valueFrom?.secretKeyRef;
    assert.deepEqual([ref?.name, ref?.key], ['demo-smtp', key], variable);
    assert.equal(entry?.value, undefined, `${variable} is not inlined`);
  }
  const resolved = await resolvedEnv(namespace, env);
  assert.equal(resolved.get('GOTRUE_SMTP_HOST'), SMTP.host);
  assert.equal(resolved.get('GOTRUE_SMTP_PASS'), SMTP.password);
  assert.equal(resolved.get('GOTRUE_SMTP_ADMIN_EMAIL'), SMTP.from);
  assert.equal(resolved.get('GOTRUE_MAILER_AUTOCONFIRM'), 'false');
  assert.equal(resolved.get('GOTRUE_MAILER_URLPATHS_CONFIRMATION'), '/auth/v1/verify');
  assert.ok(!JSON.stringify(deployment).includes(SMTP.password), 'no SMTP value in the object');

  await Promise.all(
    COMPONENTS.map((c) => waitForRollout(namespace, componentResourceName('demo', c))),
  );
  const hashes = async () =>
    new Map(
      await Promise.all(
        COMPONENTS.map(
          async (c) =>
            [
              c,
              (await readDeployment(namespace, c))?.spec?.template.metadata?.annotations?.[
                INPUTS_HASH_ANNOTATION
              ],
            ] as const,
        ),
      ),
    );
  const before = await hashes();
  const setsBefore = await replicaSets(namespace);

  const secret = await kube().core.readNamespacedSecret({ namespace, name: 'demo-smtp' });
  secret.data = {
    ...secret.data,
    password: Buffer.from('a-new-smtp-password-4567').toString('base64'),
  };
  await kube().core.replaceNamespacedSecret({ namespace, name: 'demo-smtp', body: secret });
  assertReplied((await runDeploy(namespace)).result);
  await waitForRollout(namespace, componentResourceName('demo', 'auth'));

  const after = await hashes();
  const changed: ComponentName[] = COMPONENTS.filter((c) => before.get(c) !== after.get(c));
  assert.deepEqual(changed, ['auth'], 'only Auth reads the SMTP Secret');
  const setsAfter = await replicaSets(namespace);
  assert.deepEqual(
    COMPONENTS.filter(
      (c) => JSON.stringify(setsAfter.get(c)) !== JSON.stringify(setsBefore.get(c)),
    ),
    ['auth'],
  );
});

test('an SMTP Secret deleted after validation fails the phase with a message naming it', async () => {
  const namespace = await freshNamespace('deploy-smtp-gone');
  await preparedProject(namespace, { auth: { smtpSecretRef: { name: 'demo-smtp' } } });
  const { result } = await runDeploy(namespace);
  assert.ok(result && isAcknowledgement(result));
  assert.equal(result.outcome, 'failed_permanent');
  assert.equal(await readDeployment(namespace, 'auth'), undefined, 'nothing half-configured');
  const project = await readProject(namespace);
  const progressing = project.status?.conditions?.find((c) => c.type === 'Progressing');
  assert.equal(project.status?.phase, 'Failed');
  assert.ok(progressing, 'Progressing is set');
  assert.equal(progressing.status, 'False');
  assert.match(
    progressing.message,
    /the SMTP Secret "demo-smtp" \(spec\.auth\.smtpSecretRef\.name\) does not exist/,
  );
});

test('a storage endpoint without a scheme reaches Storage as https://<host>', async () => {
  const namespace = await freshNamespace('deploy-bare-s3');
  await createSecret(namespace, 'demo-db', { ...DATABASE });
  await createSecret(namespace, 'demo-s3', {
    endpoint: 's3.example.internal:9000',
    region: 'eu-west-1',
    bucket: 'files',
    accessKeyId: 'AKIDEXAMPLE',
    secretAccessKey: 'secret/key+value',
  });
  await createProject(namespace, { name: 'demo' });
  await runSecrets(namespace);
  assertReplied((await runDeploy(namespace)).result);
  const storage = await readDeployment(namespace, 'storageApi');
  const env = storage?.spec?.template.spec?.containers[0]?.env ?? [];
  assert.equal(
    env.find((e) => e.name === 'GLOBAL_S3_ENDPOINT')?.value,
    'https://s3.example.internal:9000',
  );
});
