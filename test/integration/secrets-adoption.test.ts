/**
 * Moving over from the reference operator: its `<project>-jwt` (built exactly as it builds
 * it, test/fixtures/reference-operator.ts) is adopted by the secrets phase only when the
 * project carries `supabase.reconciler.dev/adopt-jwt-secret: strrl`, on the real API server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { errors, jwtVerify } from 'jose';
import {
  ADOPT_FROM_REFERENCE_OPERATOR,
  ADOPT_JWT_SECRET_ANNOTATION,
  supabaseProjectCrd,
} from '../../shared/api/index.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { isAcknowledgement } from '../../shared/runtime/handler.ts';
import {
  componentSecretEnv,
  JWT_VERIFIERS,
  verificationKey,
} from '../../shared/secrets/conventions.ts';
import {
  ADOPTED_FROM_ANNOTATION,
  JWT_SECRET_KEYS,
  REQUIRED_JWT_SECRET_KEYS,
} from '../../shared/secrets/names.ts';
import { reconcileSecrets } from '../../functions/secrets/handler.ts';
import { applyCrd, freshNamespace, kube } from '../env/index.ts';
import { acquireClusterLock } from '../env/cluster-lock.ts';
import { createReferenceJwtSecret } from '../fixtures/reference-operator.ts';
import { STRRL_CRD_LOCK, strrlCrd } from '../fixtures/strrl-crd.ts';
import {
  assertNoValues,
  createProject,
  databaseInitialized,
  memoryLogger,
  patchProject,
  readJwtSecret,
  readProject,
  testDeps,
} from './secrets-support.ts';

const K = JWT_SECRET_KEYS;
const ADOPT = { [ADOPT_JWT_SECRET_ANNOTATION]: ADOPT_FROM_REFERENCE_OPERATOR };

async function run(namespace: string, deps = testDeps()) {
  const project = await readProject(namespace);
  const { logger, lines } = memoryLogger();
  const result = await reconcileSecrets(databaseInitialized(project), deps.deps, logger);
  return { result, lines, ...deps };
}

function reveal(secret: { data: ReadonlyMap<string, { reveal(): string }> }, key: string) {
  const value = secret.data.get(key);
  assert.ok(value, `key ${key} is present`);
  return value.reveal();
}

async function secretsReady(namespace: string) {
  const live = await readProject(namespace);
  const found = live.status?.conditions?.find((c) => c.type === 'SecretsReady');
  assert.ok(found, 'SecretsReady is set');
  return { live, condition: found };
}

async function projectEvents(namespace: string, reason: string) {
  const list = await kube().core.listNamespacedEvent({ namespace });
  return list.items.filter((e) => e.reason === reason && e.involvedObject.name === 'demo');
}

// The reference operator's CRD, held installed for this file: the Secrets' owners are real
// reference projects (test/fixtures/reference-operator.ts), and migrate-from-strrl's test
// removes that CRD for a moment, which would delete them and, through them, the Secrets.
let releaseStrrlCrd: (() => Promise<void>) | undefined;
before(async () => {
  await applyCrd(supabaseProjectCrd());
  releaseStrrlCrd = await acquireClusterLock(STRRL_CRD_LOCK);
  await applyCrd(strrlCrd);
});
after(async () => {
  await releaseStrrlCrd?.();
});

describe('the reference operator’s JWT Secret', () => {
  test('with the annotation it is adopted: secret kept, keys re-signed with its text, missing keys added, owner replaced, said in status and an Event', async () => {
    const namespace = await freshNamespace('adopt-jwt');
    const project = await createProject(namespace, 'demo', { annotations: ADOPT });
    const reference = await createReferenceJwtSecret(namespace);
    const textKey = new TextEncoder().encode(reference.data[K.jwtSecret]);
    // The fixture is the reference's: its keys do not verify with the text (why it must move).
    await assert.rejects(
      jwtVerify(reference.data[K.anonKey]!, textKey),
      errors.JWSSignatureVerificationFailed,
    );

    const { result, counts, lines } = await run(namespace);
    assert.ok(result && !isAcknowledgement(result), 'a reply');
    assert.equal(result.type, CHAIN_EVENT.secretsReady);
    // One replace (the adoption) and one create (the dashboard credentials, as for any project).
    assert.deepEqual(counts, { secretCreates: 1, secretReplaces: 1, statusWrites: 1 });

    const adopted = await readJwtSecret(namespace);
    assert.deepEqual([...adopted.data.keys()].sort(), [...REQUIRED_JWT_SECRET_KEYS].sort());
    assert.equal(reveal(adopted, K.jwtSecret), reference.data[K.jwtSecret], 'JWT secret kept');
    assert.equal(reveal(adopted, K.pgMetaCryptoKey), reference.data[K.pgMetaCryptoKey]);
    for (const [key, role] of [
      [K.anonKey, 'anon'],
      [K.serviceRoleKey, 'service_role'],
    ] as const) {
      const token = reveal(adopted, key);
      assert.notEqual(token, reference.data[key], `${key} re-signed`);
      const { payload, protectedHeader } = await jwtVerify(token, textKey, {
        algorithms: ['HS256'],
        issuer: 'supabase',
      });
      assert.equal(payload.role, role);
      assert.equal(protectedHeader.typ, 'JWT');
      // And no longer with the decoded bytes.
      await assert.rejects(
        jwtVerify(token, Buffer.from(reference.data[K.jwtSecret]!, 'base64')),
        errors.JWSSignatureVerificationFailed,
      );
      // Every component that verifies JWTs accepts it, as deploy-components configures them.
      for (const verifier of JWT_VERIFIERS) {
        const env = componentSecretEnv(verifier.component, adopted.data);
        await jwtVerify(token, verificationKey(verifier, env));
      }
    }
    assert.ok(reveal(adopted, K.realtimeSecretKeyBase).length >= 64);
    assert.equal(reveal(adopted, K.realtimeDbEncKey).length, 16);
    assert.deepEqual(adopted.ownerReferences, [
      {
        apiVersion: 'supabase.reconciler.dev/v1alpha1',
        kind: 'SupabaseProject',
        name: 'demo',
        uid: project.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    assert.equal(adopted.annotations[ADOPTED_FROM_ANNOTATION], 'strrl');
    assert.equal(adopted.labels['app.kubernetes.io/managed-by'], 'supabase-reconciler');

    const { live, condition } = await secretsReady(namespace);
    assert.equal(condition.status, 'True');
    assert.equal(condition.reason, 'JwtSecretAdopted');
    assert.match(condition.message, /adopted from the reference operator \(supabase\.strrl\.dev/);
    assert.match(condition.message, /clients must use the new anon and service_role keys/);
    assert.equal(live.status?.phase, 'DeployingComponents');
    const [event, ...more] = await projectEvents(namespace, 'JwtSecretAdopted');
    assert.ok(event, 'a JwtSecretAdopted Event on the project');
    assert.equal(more.length, 0);
    assert.equal(event.type, 'Warning');
    assert.equal(event.involvedObject.uid, project.metadata.uid);
    assert.match(event.message ?? '', /clients must use the new anon and service_role keys/);

    const values = [...adopted.data.values()].map((v) => v.reveal());
    const leaks = [...values, ...Object.values(reference.data)];
    const events = await kube().core.listNamespacedEvent({ namespace });
    assertNoValues(JSON.stringify(live.status), leaks, 'status');
    assertNoValues(JSON.stringify(events.items), leaks, 'Events');
    assertNoValues(lines.join('\n'), leaks, 'logs');

    // Adopted, the Secret is ours: a second run writes nothing and records no second Event.
    const again = await run(namespace);
    assert.ok(again.result && !isAcknowledgement(again.result));
    assert.deepEqual(again.counts, { secretCreates: 0, secretReplaces: 0, statusWrites: 0 });
    assert.equal((await readJwtSecret(namespace)).resourceVersion, adopted.resourceVersion);
    const [still] = await projectEvents(namespace, 'JwtSecretAdopted');
    assert.equal(still?.count ?? 1, 1);
    assert.equal((await secretsReady(namespace)).condition.reason, 'JwtSecretAdopted');
  });

  test('a rotation after adoption replaces every key and status no longer speaks of adoption', async () => {
    const namespace = await freshNamespace('adopt-rotate');
    await createProject(namespace, 'demo', { annotations: ADOPT });
    const reference = await createReferenceJwtSecret(namespace);
    await run(namespace);
    await patchProject(namespace, 'demo', {
      metadata: { annotations: { 'supabase.reconciler.dev/rotate-jwt-secret': 'r1' } },
    });
    await run(namespace);
    const rotated = await readJwtSecret(namespace);
    assert.notEqual(reveal(rotated, K.jwtSecret), reference.data[K.jwtSecret]);
    assert.equal(rotated.annotations[ADOPTED_FROM_ANNOTATION], undefined);
    assert.equal((await secretsReady(namespace)).condition.reason, 'KeysReady');
  });

  test('without the annotation the project fails with a message naming it; the Secret is untouched', async () => {
    const namespace = await freshNamespace('adopt-refused');
    await createProject(namespace);
    const reference = await createReferenceJwtSecret(namespace);
    const before = await readJwtSecret(namespace);
    const { result, counts, lines } = await run(namespace);
    assert.ok(result && isAcknowledgement(result));
    assert.equal(result.outcome, 'failed_permanent');
    assert.equal(counts.secretCreates + counts.secretReplaces, 0);
    assert.equal((await readJwtSecret(namespace)).resourceVersion, before.resourceVersion);
    const { live, condition } = await secretsReady(namespace);
    assert.equal(live.status?.phase, 'Failed');
    assert.equal(condition.status, 'False');
    assert.equal(condition.reason, 'JwtSecretAdoptionRequired');
    assert.match(condition.message, /was made by the reference operator \(supabase\.strrl\.dev\)/);
    assert.match(
      condition.message,
      /annotate the project with supabase\.reconciler\.dev\/adopt-jwt-secret=strrl/,
    );
    assert.equal((await projectEvents(namespace, 'JwtSecretAdopted')).length, 0);
    assertNoValues(JSON.stringify(live.status), Object.values(reference.data), 'status');
    assertNoValues(lines.join('\n'), Object.values(reference.data), 'logs');
  });

  test('an annotation with another value is refused, naming the one value it accepts', async () => {
    const namespace = await freshNamespace('adopt-other');
    await createProject(namespace, 'demo', {
      annotations: { [ADOPT_JWT_SECRET_ANNOTATION]: 'yes' },
    });
    await createReferenceJwtSecret(namespace);
    const { result } = await run(namespace);
    assert.ok(result && isAcknowledgement(result));
    const { condition } = await secretsReady(namespace);
    assert.equal(condition.reason, 'JwtSecretAdoptionRequired');
    assert.match(condition.message, /is not "strrl", the only value it accepts/);
  });

  const notTheReference: [string, (namespace: string) => Promise<void>][] = [
    [
      'the same keys without the reference’s owner reference',
      async (namespace) => {
        const made = await createReferenceJwtSecret(namespace);
        const body = await kube().core.readNamespacedSecret({ namespace, name: made.name });
        body.metadata!.ownerReferences = [];
        await kube().core.replaceNamespacedSecret({ namespace, name: made.name, body });
      },
    ],
    [
      'the reference’s owner reference and a fifth key',
      async (namespace) => {
        const made = await createReferenceJwtSecret(namespace);
        const body = await kube().core.readNamespacedSecret({ namespace, name: made.name });
        body.data = {
          ...body.data,
          extra: Buffer.from('added-by-someone-else').toString('base64'),
        };
        await kube().core.replaceNamespacedSecret({ namespace, name: made.name, body });
      },
    ],
  ];
  for (const [name, make] of notTheReference) {
    test(`a Secret that is not exactly the reference’s (${name}) is refused as any provided Secret, annotation or not`, async () => {
      const namespace = await freshNamespace('adopt-foreign');
      await createProject(namespace, 'demo', { annotations: ADOPT });
      await make(namespace);
      const before = await readJwtSecret(namespace);
      const { result, counts } = await run(namespace);
      assert.ok(result && isAcknowledgement(result));
      assert.equal(counts.secretCreates + counts.secretReplaces, 0);
      assert.equal((await readJwtSecret(namespace)).resourceVersion, before.resourceVersion);
      const { condition } = await secretsReady(namespace);
      assert.equal(condition.reason, 'InvalidJwtSecret');
      assert.match(condition.message, /anon-key is signed with the base64-decoded jwt-secret/);
    });
  }
});
