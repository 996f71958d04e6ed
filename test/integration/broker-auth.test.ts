/**
 * Events only from the Broker: with AUTH_OIDC_AUDIENCE set, a real function process accepts a
 * delivery only with a service-account token the test API server issued (TokenRequest, as
 * Knative Eventing's OIDC feature requests one for the Broker) for its audience, from an
 * allowed service account; everything else is 401 before the body is read. The keys and the
 * issuer come from the API server's own OIDC discovery.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { HTTP } from 'cloudevents';
import { generateKeyPair, SignJWT, decodeJwt } from 'jose';
import { chainEvent } from '../../shared/events/chain.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { freshNamespace, kube } from '../env/index.ts';
import { startFunctionProcess, type FunctionProcess } from '../fixtures/function-process.ts';

const AUDIENCE = 'supabase-reconciler/init-db';

let namespace: string;
let fn: FunctionProcess | undefined;
const port = (): number => {
  assert.ok(fn, 'the function process started');
  return fn.port;
};

/** A token for `serviceAccount`, issued by the API server for `audience`. */
async function tokenFor(serviceAccount: string, audience: string): Promise<string> {
  const answer = await kube().core.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    body: { spec: { audiences: [audience], expirationSeconds: 600 } },
  });
  const token = answer.status?.token;
  assert.ok(token);
  return token;
}

/** An event for a project that does not exist: acknowledged (202) once it is let in. */
function delivery(authorization?: string): { headers: Record<string, string>; body: string } {
  const { headers, body } = HTTP.binary(
    chainEvent({
      type: CHAIN_EVENT.dependenciesValidated,
      from: 'test',
      key: { namespace: 'no-such-namespace', name: 'absent' },
      uid: 'u',
      generation: 1,
    }),
  );
  return {
    headers: {
      ...(headers as Record<string, string>),
      ...(authorization ? { authorization } : {}),
    },
    body: body as string,
  };
}

async function send(authorization?: string): Promise<{ status: number; body: string }> {
  const { headers, body } = delivery(authorization);
  const res = await fetch(`http://127.0.0.1:${port()}/`, { method: 'POST', headers, body });
  return { status: res.status, body: await res.text() };
}

before(async () => {
  namespace = await freshNamespace('broker-auth');
  for (const name of ['broker', 'intruder']) {
    await kube().core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  }
  fn = await startFunctionProcess('init-db', {
    env: {
      AUTH_OIDC_AUDIENCE: AUDIENCE,
      AUTH_OIDC_SUBJECTS: `system:serviceaccount:${namespace}:broker`,
    },
  });
});

after(async () => {
  await fn?.stop();
});

test("the Broker's token for this function's audience is let in", async () => {
  const token = await tokenFor('broker', AUDIENCE);
  const answer = await send(`Bearer ${token}`);
  assert.equal(answer.status, 202, answer.body);
});

test('no token, or not a bearer token, is 401 and says nothing more', async () => {
  for (const authorization of [undefined, 'Basic dXNlcjpwdw==', 'Bearer', 'Bearer not.a.jwt']) {
    const answer = await send(authorization);
    assert.equal(answer.status, 401, String(authorization));
    assert.equal(answer.body, 'Unauthorized');
  }
});

test('a token for another audience, or of a service account not listed, is 401', async () => {
  assert.equal((await send(`Bearer ${await tokenFor('broker', 'someone-else')}`)).status, 401);
  assert.equal((await send(`Bearer ${await tokenFor('intruder', AUDIENCE)}`)).status, 401);
});

test('a token with the right claims but not signed by the API server is 401', async () => {
  const real = decodeJwt(await tokenFor('broker', AUDIENCE));
  const { privateKey } = await generateKeyPair('RS256');
  const forged = await new SignJWT({ ...real })
    .setProtectedHeader({ alg: 'RS256', kid: 'forged' })
    .sign(privateKey);
  assert.equal((await send(`Bearer ${forged}`)).status, 401);
  // Nor does an unsigned one pass.
  const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${Buffer.from(JSON.stringify(real)).toString('base64url')}.`;
  assert.equal((await send(`Bearer ${unsigned}`)).status, 401);
});

test('health paths need no token; refusals are counted as unauthenticated', async () => {
  assert.equal((await fetch(`http://127.0.0.1:${port()}/health/readiness`)).status, 200);
  const metrics = await (await fetch(`http://127.0.0.1:${port()}/metrics`)).text();
  assert.match(metrics, /supabase_reconciler_events_total\{[^}]*outcome="unauthenticated"/);
  assert.ok(fn?.stdout().includes('"msg":"delivery refused"'));
});
