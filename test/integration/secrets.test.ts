/**
 * The secrets phase against the real API server, driven through its handler: what it
 * generates, that a second run writes nothing, how it treats Secrets it did not make, what
 * it repairs in its own, rotation, dashboard credentials, concurrent runs and stale events.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { CloudEvent } from 'cloudevents';
import { decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { supabaseProjectCrd } from '../../shared/api/index.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { isAcknowledgement, type HandlerResult } from '../../shared/runtime/handler.ts';
import {
  componentSecretEnv,
  JWT_VERIFIERS,
  verificationKey,
} from '../../shared/secrets/conventions.ts';
import { GENERATED_LENGTHS } from '../../shared/secrets/generate.ts';
import {
  generatedDashboardSecretName,
  JWT_SECRET_KEYS,
  REQUIRED_JWT_SECRET_KEYS,
  ROTATE_JWT_SECRET_ANNOTATION,
  ROTATED_FOR_ANNOTATION,
} from '../../shared/secrets/names.ts';
import { reconcileSecrets } from '../../functions/secrets/handler.ts';
import { applyCrd, freshNamespace, kube } from '../env/index.ts';
import {
  adminSecretStore,
  assertNoValues,
  createProject,
  databaseInitialized,
  memoryLogger,
  patchProject,
  readJwtSecret,
  readProject,
  secretValues,
  statusAndEvents,
  testDeps,
} from './secrets-support.ts';

const TEN_YEARS = 3650 * 86_400;
const K = JWT_SECRET_KEYS;

function reveal(secret: { data: ReadonlyMap<string, { reveal(): string }> }, key: string): string {
  const value = secret.data.get(key);
  assert.ok(value, `key ${key} is present`);
  return value.reveal();
}

function assertReply(result: HandlerResult): CloudEvent<unknown> {
  assert.ok(result && !isAcknowledgement(result), 'a reply event');
  assert.equal(result.type, CHAIN_EVENT.secretsReady);
  return result;
}

/** Runs the handler once on the project's current chain event. */
async function run(namespace: string, deps = testDeps(), name = 'demo') {
  const project = await readProject(namespace, name);
  const { logger, lines } = memoryLogger();
  const result = await reconcileSecrets(databaseInitialized(project), deps.deps, logger);
  return { result, lines, ...deps };
}

function condition(project: Awaited<ReturnType<typeof readProject>>, type = 'SecretsReady') {
  const found = project.status?.conditions?.find((c) => c.type === type);
  assert.ok(found, `condition ${type}`);
  return found;
}

/** Creates a Secret as a user would (stringData, no owner). */
async function userSecret(namespace: string, name: string, data: Record<string, string>) {
  await kube().core.createNamespacedSecret({
    namespace,
    body: { metadata: { name }, stringData: data },
  });
}

/** A complete, valid user Secret made with jose (the way a user's script would). */
async function validUserData(
  change: (claims: Record<string, Record<string, unknown>>) => void = () => undefined,
): Promise<Record<string, string>> {
  const secret = 'user-made-jwt-secret-with-enough-characters-0123456789';
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, Record<string, unknown>> = {
    anon: { role: 'anon', iss: 'supabase', iat: now, exp: now + TEN_YEARS },
    service: { role: 'service_role', iss: 'supabase', iat: now, exp: now + TEN_YEARS },
  };
  change(claims);
  const sign = (c: Record<string, unknown>, key = secret) =>
    new SignJWT(c)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(new TextEncoder().encode(key));
  return {
    [K.jwtSecret]: secret,
    [K.anonKey]: await sign(claims.anon!),
    [K.serviceRoleKey]: await sign(claims.service!),
    [K.pgMetaCryptoKey]: 'user-pg-meta-crypto-key-value',
    [K.realtimeSecretKeyBase]: 'b'.repeat(64),
    [K.realtimeDbEncKey]: 'abcdefghijklmnop',
  };
}

before(async () => {
  await applyCrd(supabaseProjectCrd());
});

describe('a new project', () => {
  test('gets a Secret with every key, owned and labelled, keys with the right claims and lengths', async () => {
    const namespace = await freshNamespace('secrets-new');
    const project = await createProject(namespace);
    const { result, counts } = await run(namespace);
    const reply = assertReply(result);
    assert.equal(reply.subject, `namespaces/${namespace}/supabaseprojects/demo`);
    assert.equal(reply.projectuid, project.metadata.uid);
    assert.equal(reply.source, '/supabase-reconciler/secrets');

    const secret = await readJwtSecret(namespace);
    assert.deepEqual([...secret.data.keys()].sort(), [...REQUIRED_JWT_SECRET_KEYS].sort());
    assert.deepEqual(secret.ownerReferences, [
      {
        apiVersion: 'supabase.reconciler.dev/v1alpha1',
        kind: 'SupabaseProject',
        name: 'demo',
        uid: project.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    assert.equal(secret.labels['app.kubernetes.io/managed-by'], 'supabase-reconciler');
    assert.equal(secret.labels['app.kubernetes.io/part-of'], 'demo');
    assert.equal(secret.type, 'Opaque');

    const jwtSecret = reveal(secret, K.jwtSecret);
    assert.equal(jwtSecret.length, GENERATED_LENGTHS.jwtSecret);
    assert.match(jwtSecret, /^[A-Za-z0-9_-]{64}$/);
    assert.equal(reveal(secret, K.realtimeDbEncKey).length, 16);
    assert.ok(reveal(secret, K.realtimeSecretKeyBase).length >= 64);
    assert.ok(reveal(secret, K.pgMetaCryptoKey).length >= 32);
    // None of them is the JWT secret or a reference operator constant.
    const values = REQUIRED_JWT_SECRET_KEYS.map((k) => reveal(secret, k));
    assert.equal(new Set(values).size, values.length);
    assert.ok(!values.includes('supabaserealtime'));

    const now = Math.floor(Date.now() / 1000);
    for (const [key, role] of [
      [K.anonKey, 'anon'],
      [K.serviceRoleKey, 'service_role'],
    ] as const) {
      const token = reveal(secret, key);
      assert.deepEqual(decodeProtectedHeader(token), { alg: 'HS256', typ: 'JWT' });
      const claims = decodeJwt(token);
      assert.equal(claims.role, role);
      assert.equal(claims.iss, 'supabase');
      assert.ok(Math.abs((claims.iat ?? 0) - now) < 60, 'iat is now');
      assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), TEN_YEARS, 'exp ten years after iat');
    }

    const live = await readProject(namespace);
    const ready = condition(live);
    assert.equal(ready.status, 'True');
    assert.equal(ready.reason, 'KeysReady');
    assert.equal(ready.observedGeneration, 1);
    assert.equal(live.status?.phase, 'DeployingComponents');
    assert.deepEqual(counts, { secretCreates: 2, secretReplaces: 0, statusWrites: 1 });
  });

  test('each component verifies both keys with exactly the bytes its configuration gives it', async () => {
    const namespace = await freshNamespace('secrets-verify');
    await createProject(namespace);
    await run(namespace);
    const secret = await readJwtSecret(namespace);
    for (const verifier of JWT_VERIFIERS) {
      const key = verificationKey(verifier, componentSecretEnv(verifier.component, secret.data));
      for (const [name, role] of [
        [K.anonKey, 'anon'],
        [K.serviceRoleKey, 'service_role'],
      ] as const) {
        const { payload } = await jwtVerify(reveal(secret, name), key, {
          algorithms: ['HS256'],
          issuer: 'supabase',
        });
        assert.equal(payload.role, role, `${verifier.component} ${verifier.env} ${name}`);
      }
    }
  });

  test('a generated dashboard Secret holds username supabase and a random password', async () => {
    const namespace = await freshNamespace('secrets-dash');
    const project = await createProject(namespace);
    await run(namespace);
    const dashboard = await adminSecretStore().get({
      namespace,
      name: generatedDashboardSecretName('demo'),
    });
    assert.ok(dashboard);
    assert.equal(reveal(dashboard, 'username'), 'supabase');
    const password = reveal(dashboard, 'password');
    assert.match(password, /^[A-Za-z0-9_-]{32}$/);
    assert.notEqual(password, 'this_password_is_insecure_and_should_be_updated');
    const owner = dashboard.ownerReferences[0];
    assert.ok(owner);
    assert.equal(owner.uid, project.metadata.uid);
    assert.equal(owner.controller, true);

    // Another project gets another password.
    await createProject(namespace, 'other');
    await run(namespace, testDeps(), 'other');
    const other = await adminSecretStore().get({
      namespace,
      name: generatedDashboardSecretName('other'),
    });
    assert.ok(other);
    assert.notEqual(reveal(other, 'password'), password);
    assert.match(
      condition(await readProject(namespace)).message,
      /dashboard-basic-auth \(generated\)/,
    );
  });

  test('with spec.studio.dashboardBasicAuthSecretRef, no dashboard Secret is made or touched', async () => {
    const namespace = await freshNamespace('secrets-dashref');
    await createProject(namespace, 'demo', {
      studio: { dashboardBasicAuthSecretRef: { name: 'my-dashboard' } },
    });
    const { result } = await run(namespace);
    assertReply(result);
    const generated = await adminSecretStore().get({
      namespace,
      name: generatedDashboardSecretName('demo'),
    });
    assert.equal(generated, undefined);
    assert.equal(await adminSecretStore().get({ namespace, name: 'my-dashboard' }), undefined);
    assert.match(
      condition(await readProject(namespace)).message,
      /spec\.studio\.dashboardBasicAuthSecretRef \(Secret my-dashboard\)/,
    );
  });
});

describe('idempotence', () => {
  test('a second run changes nothing: no Secret write, no status write, same reply', async () => {
    const namespace = await freshNamespace('secrets-twice');
    await createProject(namespace);
    await run(namespace);
    const before = await readJwtSecret(namespace);
    const projectBefore = await readProject(namespace);
    const second = await run(namespace);
    assertReply(second.result);
    assert.deepEqual(second.counts, { secretCreates: 0, secretReplaces: 0, statusWrites: 0 });
    assert.deepEqual(second.generated, [], 'nothing generated');
    const after = await readJwtSecret(namespace);
    assert.equal(after.resourceVersion, before.resourceVersion);
    assert.equal(
      (await readProject(namespace)).metadata.resourceVersion,
      projectBefore.metadata.resourceVersion,
    );
  });
});

describe('a Secret the user made', () => {
  test('a valid one is used untouched (no owner added, no write)', async () => {
    const namespace = await freshNamespace('secrets-user-ok');
    await createProject(namespace);
    await userSecret(namespace, 'demo-jwt', await validUserData());
    const before = await readJwtSecret(namespace);
    const { result, counts } = await run(namespace);
    assertReply(result);
    const after = await readJwtSecret(namespace);
    assert.equal(after.resourceVersion, before.resourceVersion);
    assert.deepEqual(after.ownerReferences, []);
    assert.equal(counts.secretReplaces, 0);
    const ready = condition(await readProject(namespace));
    assert.equal(ready.status, 'True');
    assert.match(ready.message, /demo-jwt \(provided, not managed by the reconciler\) is valid/);
  });

  const now = () => Math.floor(Date.now() / 1000);
  const invalid: [string, () => Promise<Record<string, string>>, RegExp][] = [
    [
      'wrong signature',
      async () => ({
        ...(await validUserData()),
        [K.anonKey]: (await validUserData())[K.anonKey]!.replace(
          /\.[^.]+$/,
          '.c2lnbmF0dXJlLW9mLWFub3RoZXIta2V5LXh4eHh4eHh4eHg',
        ),
      }),
      /anon-key does not verify with jwt-secret \(wrong signature\)/,
    ],
    [
      'signed with the base64-decoded secret (reference operator)',
      async () => {
        const data = await validUserData();
        const secret = Buffer.from('r'.repeat(32)).toString('base64');
        const sign = (role: string) =>
          new SignJWT({ role, iss: 'supabase', exp: now() + TEN_YEARS })
            .setProtectedHeader({ alg: 'HS256' })
            .sign(Buffer.from(secret, 'base64'));
        return {
          ...data,
          [K.jwtSecret]: secret,
          [K.anonKey]: await sign('anon'),
          [K.serviceRoleKey]: await sign('service_role'),
        };
      },
      /anon-key is signed with the base64-decoded jwt-secret .*; service-role-key is signed with the base64-decoded/,
    ],
    [
      'wrong role',
      () =>
        validUserData((c) => {
          c.anon!.role = 'service_role';
        }),
      /anon-key carries role "service_role"; it must carry role "anon"/,
    ],
    [
      'expired',
      () =>
        validUserData((c) => {
          c.service!.exp = now() - 3600;
        }),
      /service-role-key expired on \d{4}-/,
    ],
    [
      'missing key',
      async () => {
        const data = await validUserData();
        return Object.fromEntries(Object.entries(data).filter(([k]) => k !== K.realtimeDbEncKey));
      },
      /realtime-db-enc-key is missing/,
    ],
    [
      'too-short secret',
      async () => ({ ...(await validUserData()), [K.jwtSecret]: 'short-secret' }),
      /jwt-secret is 12 characters long; at least 32 are required/,
    ],
  ];
  for (const [name, data, message] of invalid) {
    test(`an invalid one (${name}) is reported and left as it is`, async () => {
      const namespace = await freshNamespace('secrets-user-bad');
      await createProject(namespace);
      const values = await data();
      await userSecret(namespace, 'demo-jwt', values);
      const before = await readJwtSecret(namespace);
      const { result, counts, lines } = await run(namespace);
      assert.ok(result && isAcknowledgement(result));
      assert.equal(result.outcome, 'failed_permanent');
      const after = await readJwtSecret(namespace);
      assert.equal(after.resourceVersion, before.resourceVersion, 'not overwritten');
      assert.equal(counts.secretCreates + counts.secretReplaces, 0);
      const live = await readProject(namespace);
      const failed = condition(live);
      assert.equal(failed.status, 'False');
      assert.equal(failed.reason, 'InvalidJwtSecret');
      assert.match(failed.message, message);
      assert.match(failed.message, /Secret .*\/demo-jwt was not created by the reconciler/);
      assert.equal(live.status?.phase, 'Failed');
      assert.equal(condition(live, 'Ready').status, 'False');
      const leaks = Object.values(values).filter((v) => v.length >= 12);
      assertNoValues(JSON.stringify(live.status), leaks, 'status');
      assertNoValues(lines.join('\n'), leaks, 'logs');
    });
  }

  test('a user dashboard Secret with the generated name but no password is reported', async () => {
    const namespace = await freshNamespace('secrets-user-dash');
    await createProject(namespace);
    await userSecret(namespace, generatedDashboardSecretName('demo'), { username: 'admin' });
    const { result } = await run(namespace);
    assert.ok(result && isAcknowledgement(result));
    const failed = condition(await readProject(namespace));
    assert.equal(failed.reason, 'InvalidDashboardSecret');
    assert.match(failed.message, /lacks password/);
  });
});

describe('our own Secret', () => {
  test('missing keys are added; the others stay byte for byte', async () => {
    const namespace = await freshNamespace('secrets-repair');
    await createProject(namespace);
    await run(namespace);
    const original = await readJwtSecret(namespace);
    // Someone removed two keys (and kept the rest, owner included).
    const body = await kube().core.readNamespacedSecret({ namespace, name: 'demo-jwt' });
    delete body.data?.[K.realtimeDbEncKey];
    delete body.data?.[K.pgMetaCryptoKey];
    await kube().core.replaceNamespacedSecret({ namespace, name: 'demo-jwt', body });

    const { result, counts } = await run(namespace);
    assertReply(result);
    assert.deepEqual(counts, { secretCreates: 0, secretReplaces: 1, statusWrites: 0 });
    const repaired = await readJwtSecret(namespace);
    for (const key of [K.jwtSecret, K.anonKey, K.serviceRoleKey, K.realtimeSecretKeyBase])
      assert.equal(reveal(repaired, key), reveal(original, key), `${key} kept`);
    assert.equal(reveal(repaired, K.realtimeDbEncKey).length, 16);
    assert.notEqual(reveal(repaired, K.realtimeDbEncKey), reveal(original, K.realtimeDbEncKey));
    assert.ok(reveal(repaired, K.pgMetaCryptoKey).length >= 32);
  });

  test('an API key that no longer verifies is re-signed; the JWT secret and the other key stay', async () => {
    const namespace = await freshNamespace('secrets-resign');
    await createProject(namespace);
    await run(namespace);
    const original = await readJwtSecret(namespace);
    const body = await kube().core.readNamespacedSecret({ namespace, name: 'demo-jwt' });
    const forged = await new SignJWT({ role: 'anon', iss: 'supabase' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('another-secret-of-at-least-32-characters!'));
    body.data = { ...body.data, [K.anonKey]: Buffer.from(forged).toString('base64') };
    await kube().core.replaceNamespacedSecret({ namespace, name: 'demo-jwt', body });

    await run(namespace);
    const repaired = await readJwtSecret(namespace);
    assert.equal(reveal(repaired, K.jwtSecret), reveal(original, K.jwtSecret));
    assert.equal(reveal(repaired, K.serviceRoleKey), reveal(original, K.serviceRoleKey));
    assert.notEqual(reveal(repaired, K.anonKey), forged);
    await jwtVerify(
      reveal(repaired, K.anonKey),
      new TextEncoder().encode(reveal(repaired, K.jwtSecret)),
    );
  });
});

describe('rotation', () => {
  test('a new annotation value rotates once; the same value again does nothing; a newer one rotates again', async () => {
    const namespace = await freshNamespace('secrets-rotate');
    await createProject(namespace);
    await run(namespace);
    const original = await readJwtSecret(namespace);

    await patchProject(namespace, 'demo', {
      metadata: { annotations: { [ROTATE_JWT_SECRET_ANNOTATION]: '2026-06-01T10:00:00Z' } },
    });
    const first = await run(namespace);
    assertReply(first.result);
    assert.deepEqual(first.counts, { secretCreates: 0, secretReplaces: 1, statusWrites: 1 });
    const rotated = await readJwtSecret(namespace);
    for (const key of [K.jwtSecret, K.anonKey, K.serviceRoleKey])
      assert.notEqual(reveal(rotated, key), reveal(original, key), `${key} regenerated`);
    for (const key of [K.pgMetaCryptoKey, K.realtimeSecretKeyBase, K.realtimeDbEncKey])
      assert.equal(reveal(rotated, key), reveal(original, key), `${key} not signed with it: kept`);
    assert.equal(rotated.annotations[ROTATED_FOR_ANNOTATION], '2026-06-01T10:00:00Z');
    await jwtVerify(
      reveal(rotated, K.serviceRoleKey),
      new TextEncoder().encode(reveal(rotated, K.jwtSecret)),
    );
    const live = await readProject(namespace);
    assert.match(
      condition(live).message,
      /JWT secret and API keys regenerated for rotation request "2026-06-01T10:00:00Z"/,
    );
    assert.match(
      live.status?.message ?? '',
      /JWT secret rotated for request "2026-06-01T10:00:00Z"/,
    );

    const again = await run(namespace);
    assertReply(again.result);
    assert.deepEqual(again.counts, { secretCreates: 0, secretReplaces: 0, statusWrites: 0 });
    assert.equal(reveal(await readJwtSecret(namespace), K.jwtSecret), reveal(rotated, K.jwtSecret));

    await patchProject(namespace, 'demo', {
      metadata: { annotations: { [ROTATE_JWT_SECRET_ANNOTATION]: 'second' } },
    });
    await run(namespace);
    const twice = await readJwtSecret(namespace);
    assert.notEqual(reveal(twice, K.jwtSecret), reveal(rotated, K.jwtSecret));
    assert.equal(twice.annotations[ROTATED_FOR_ANNOTATION], 'second');
  });

  test('a project created with the annotation is generated once, not rotated on the next run', async () => {
    const namespace = await freshNamespace('secrets-rotate-new');
    await createProject(namespace, 'demo', {
      annotations: { [ROTATE_JWT_SECRET_ANNOTATION]: 'initial' },
    });
    await run(namespace);
    const created = await readJwtSecret(namespace);
    assert.equal(created.annotations[ROTATED_FOR_ANNOTATION], 'initial');
    const second = await run(namespace);
    assert.deepEqual(second.counts, { secretCreates: 0, secretReplaces: 0, statusWrites: 0 });
  });

  test('a rotation request on a provided Secret is not carried out, and status says so', async () => {
    const namespace = await freshNamespace('secrets-rotate-user');
    await createProject(namespace, 'demo', {
      annotations: { [ROTATE_JWT_SECRET_ANNOTATION]: 'r1' },
    });
    await userSecret(namespace, 'demo-jwt', await validUserData());
    const before = await readJwtSecret(namespace);
    const { result } = await run(namespace);
    assertReply(result);
    assert.equal((await readJwtSecret(namespace)).resourceVersion, before.resourceVersion);
    assert.match(condition(await readProject(namespace)).message, /rotation request "r1" ignored/);
  });
});

describe('concurrency', () => {
  test('five concurrent runs on a new project end with one Secret, made by one of them', async () => {
    const namespace = await freshNamespace('secrets-race');
    await createProject(namespace);
    // Every run reads "not found" before any creates: a real race, not a lucky order.
    const size = 5;
    let waiting = 0;
    let release: () => void = () => undefined;
    const allRead = new Promise<void>((resolve) => (release = resolve));
    const runs = Array.from({ length: size }, () => {
      const base = testDeps();
      let first = true;
      const secrets = {
        ...base.deps.secrets,
        get: async (key: Parameters<typeof base.deps.secrets.get>[0]) => {
          const found = await base.deps.secrets.get(key);
          if (first) {
            first = false;
            if (++waiting === size) release();
            await allRead;
          }
          return found;
        },
      };
      return { ...base, deps: { ...base.deps, secrets } };
    });
    const results = await Promise.all(runs.map((deps) => run(namespace, deps)));
    for (const { result } of results) assertReply(result);
    const secret = await readJwtSecret(namespace);
    const jwtSecret = reveal(secret, K.jwtSecret);
    const makers = runs.filter((r) => r.generated.includes(jwtSecret));
    assert.equal(makers.length, 1, 'exactly one run generated the stored secret');
    assert.equal(
      runs.reduce((n, r) => n + r.counts.secretCreates, 0),
      2,
      'one create of each Secret (jwt and dashboard) succeeded',
    );
    assert.ok(
      runs.reduce((n, r) => n + r.conflicts.count, 0) >= size - 1,
      'the losers got 409 and re-read instead of overwriting',
    );
    // Every run's other values were discarded, and the stored keys verify with the secret.
    await jwtVerify(reveal(secret, K.anonKey), new TextEncoder().encode(jwtSecret));
    const list = await kube().core.listNamespacedSecret({ namespace });
    assert.deepEqual(list.items.map((s) => s.metadata?.name).sort(), [
      'demo-dashboard-basic-auth',
      'demo-jwt',
    ]);
  });
});

describe('stale and foreign events', () => {
  test('an event for another uid is dropped: nothing read into a Secret, nothing written', async () => {
    const namespace = await freshNamespace('secrets-foreign');
    const project = await createProject(namespace);
    const deps = testDeps();
    const { logger } = memoryLogger();
    const result = await reconcileSecrets(
      databaseInitialized(project, { uid: '00000000-0000-4000-8000-000000000000' }),
      deps.deps,
      logger,
    );
    assert.ok(result && isAcknowledgement(result));
    assert.equal(result.outcome, 'dropped_stale');
    assert.deepEqual(deps.counts, { secretCreates: 0, secretReplaces: 0, statusWrites: 0 });
  });

  test('an event for an older generation is dropped', async () => {
    const namespace = await freshNamespace('secrets-stale');
    const project = await createProject(namespace);
    await patchProject(namespace, 'demo', { spec: { projectId: 'changed' } });
    assert.equal((await readProject(namespace)).metadata.generation, 2);
    const deps = testDeps();
    const { logger } = memoryLogger();
    const result = await reconcileSecrets(
      databaseInitialized(project, { generation: 1 }),
      deps.deps,
      logger,
    );
    assert.ok(result && isAcknowledgement(result));
    assert.equal(result.outcome, 'dropped_stale');
    assert.deepEqual(deps.counts, { secretCreates: 0, secretReplaces: 0, statusWrites: 0 });
    assert.equal(await adminSecretStore().get({ namespace, name: 'demo-jwt' }), undefined);
  });
});

describe('no secret value leaves a Secret', () => {
  test('not in logs, status or Kubernetes Events, through generation, repair and rotation', async () => {
    const namespace = await freshNamespace('secrets-leak');
    await createProject(namespace);
    const logs: string[] = [];
    const generated: string[] = [];
    const once = async () => {
      const r = await run(namespace);
      logs.push(...r.lines);
      generated.push(...r.generated);
    };
    await once();
    await patchProject(namespace, 'demo', {
      metadata: { annotations: { [ROTATE_JWT_SECRET_ANNOTATION]: 'leak-check' } },
    });
    await once();
    await once();
    const values = [...new Set([...generated, ...(await secretValues(namespace))])];
    assert.ok(
      logs.some((l) => l.includes('Secret replaced')),
      'the rotation was logged',
    );
    assertNoValues(logs.join('\n'), values, 'log lines');
    assertNoValues(await statusAndEvents(namespace), values, 'status or Events');
  });
});
