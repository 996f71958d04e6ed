/**
 * finalize as Knative runs it, its own process (functions/finalize/index.ts) answering HTTP:
 * it accepts ApiServerSource `delete` events (no other function does), acknowledges the
 * adapter's event shapes that need nothing, and finalizes a deleted project for real.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { HTTP } from 'cloudevents';
import { freshDatabase, freshNamespace } from '../env/index.ts';
import { LOOPBACK_ALLOWED_ENV } from '../fixtures/egress.ts';
import { eventFixture, type HttpFixture } from '../fixtures/events.ts';
import { startFunctionProcess, type FunctionProcess } from '../fixtures/function-process.ts';
import {
  apiServerEvent,
  createSecret,
  installProjectCrd,
  testDatabaseSecret,
} from '../fixtures/project.ts';
import {
  deleteProject,
  liveProject,
  projectEvents,
  projectWithFinalizer,
} from './finalize-support.ts';

let finalize: FunctionProcess;
before(async () => {
  await installProjectCrd();
  finalize = await startFunctionProcess('finalize', { env: LOOPBACK_ALLOWED_ENV });
});
after(() => finalize.stop());

async function post(message: HttpFixture | { headers: object; body: unknown }): Promise<Response> {
  return fetch(`http://127.0.0.1:${finalize.port}/`, {
    method: 'POST',
    headers: message.headers as Record<string, string>,
    body: message.body as string,
  });
}

test("the adapter's delete events are accepted; those that need nothing are acknowledged", async () => {
  for (const name of ['apiserver-delete-no-finalizer', 'apiserver-delete-finalizer-removed']) {
    const answer = await post(eventFixture(name));
    assert.equal(answer.status, 202, `${name}: ${await answer.text()}`);
  }
  const status = await post(eventFixture('apiserver-update-own-status-write'));
  assert.equal(status.status, 202);
});

test('a deleted project is finalized over HTTP: 204, the project is gone, an Event says what was kept', async () => {
  const namespace = await freshNamespace('finalize-proc');
  const { database } = await freshDatabase('finalize_proc');
  await createSecret(namespace, 'demo-db', testDatabaseSecret(database));
  await projectWithFinalizer(namespace);
  const { live } = await deleteProject(namespace);
  const answer = await post(HTTP.binary(apiServerEvent(live, 'update')));
  assert.equal(answer.status, 204, await answer.text());
  assert.equal(await liveProject(namespace), undefined);
  const events = await projectEvents(namespace);
  assert.ok(
    events.some((e) => e.reason === 'DatabaseRetained'),
    JSON.stringify(events),
  );
});
