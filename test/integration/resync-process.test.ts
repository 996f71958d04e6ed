/**
 * resync as Knative starts it, its own process running functions/resync/index.ts: without
 * K_SINK it does not start (exit 1, naming the variable and how to set it); with it, a
 * PingSource tick makes it list the projects on the test API server and post a reconcile
 * request for an unconverged one to a real HTTP sink.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { freshNamespace, kubeConnection } from '../env/index.ts';
import { startEventSink, type EventSink } from '../fixtures/event-sink.ts';
import { eventFixture } from '../fixtures/events.ts';
import { startFunctionProcess } from '../fixtures/function-process.ts';
import { createProject, installProjectCrd } from '../fixtures/project.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

let sink: EventSink;
before(async () => {
  await installProjectCrd();
  sink = await startEventSink();
});
after(() => sink.close());

test('without K_SINK the function exits 1 before listening, saying how to set it', async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'functions/resync/index.ts')],
    {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        FUNCTION_NAME: 'resync',
        PORT: '0',
        KUBECONFIG: kubeConnection().kubeconfigPath,
        K_CE_OVERRIDES: '',
      },
    },
  );
  const stderr: string[] = [];
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 1);
  assert.match(stderr.join(''), /K_SINK is required: .*SinkBinding/);
});

test('a tick to the real process posts a reconcile request for a project whose add event was lost', async () => {
  const namespace = await freshNamespace('resync-process');
  const project = await createProject(namespace);
  const resync = await startFunctionProcess('resync', {
    env: { K_SINK: sink.url, K_CE_OVERRIDES: '{"extensions":{"cluster":"proc"}}' },
  });
  try {
    const ping = eventFixture('pingsource-tick');
    const answer = await fetch(`http://127.0.0.1:${resync.port}/`, {
      method: 'POST',
      headers: ping.headers,
      body: ping.body,
    });
    assert.equal(answer.status, 204, await answer.text());
  } finally {
    await resync.stop();
  }
  const mine = sink.received.filter(
    (r) => r.event.subject === `namespaces/${namespace}/supabaseprojects/demo`,
  );
  assert.equal(mine.length, 1);
  const [{ event }] = mine as [(typeof mine)[number]];
  assert.equal(event.type, CHAIN_EVENT.reconcileRequested);
  assert.equal(event.projectuid, project.metadata.uid);
  assert.equal(event.generation, '1');
  assert.equal(event.cluster, 'proc');
});
