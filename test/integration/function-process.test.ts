/**
 * A function as a process: a bad configuration exits 1 naming the variable before anything
 * listens; SIGTERM lets an in-flight event finish, flushes telemetry, and exits 0.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { HTTP, type CloudEvent } from 'cloudevents';
import { startOtlpReceiver, type OtlpReceiver } from '../env/index.ts';
import { sampleEvent } from '../fixtures/function-harness.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const entryPoint = join(root, 'test/fixtures/echo-function/index.ts');

interface Running {
  readonly child: ChildProcessWithoutNullStreams;
  readonly stdout: string[];
  readonly stderr: string[];
  readonly exited: Promise<number | null>;
}

function start(env: Record<string, string>): Running {
  // Only what the test sets (plus PATH and HOME): an inherited OTEL_* or K_SERVICE would
  // change what the function does.
  const child = spawn(process.execPath, ['--import', 'tsx', entryPoint], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => stdout.push(chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, stdout, stderr, exited };
}

function logLines(running: Running): Record<string, unknown>[] {
  return running.stdout
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function listeningPort(running: Running, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const line = logLines(running).find((l) => l.msg === 'listening');
    if (line) return line.port as number;
    if (running.child.exitCode !== null)
      throw new Error(`exited early: ${running.stderr.join('')}${running.stdout.join('')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the function did not start listening');
}

function post(port: number, event: CloudEvent<unknown>): Promise<Response> {
  const { headers, body } = HTTP.binary(event);
  return fetch(`http://127.0.0.1:${port}/`, {
    method: 'POST',
    headers: headers as Record<string, string>,
    body: body as string,
  });
}

let receiver: OtlpReceiver;
before(async () => {
  receiver = await startOtlpReceiver();
});
after(() => receiver.close());

test('a bad configuration exits 1 with the variable named, before listening', async () => {
  const running = start({ FUNCTION_NAME: 'echo', PORT: 'eighty', LOG_LEVEL: 'loud' });
  assert.equal(await running.exited, 1);
  const stderr = running.stderr.join('');
  assert.match(stderr, /PORT must be an integer from 0 to 65535, not "eighty"/);
  assert.match(stderr, /LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent/);
  assert.equal(logLines(running).filter((l) => l.msg === 'listening').length, 0);
});

test('a missing function name exits 1 naming FUNCTION_NAME and K_SERVICE', async () => {
  const running = start({ PORT: '0' });
  assert.equal(await running.exited, 1);
  assert.match(running.stderr.join(''), /FUNCTION_NAME or K_SERVICE is required/);
});

test('SIGTERM drains an in-flight event, answers it, flushes telemetry, exits 0', async () => {
  const running = start({
    FUNCTION_NAME: 'echo',
    PORT: '0',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    // Long intervals: whatever reaches the receiver was flushed by the shutdown.
    OTEL_METRIC_EXPORT_INTERVAL: '600000',
    SHUTDOWN_DRAIN_TIMEOUT_MS: '10000',
  });
  const port = await listeningPort(running);
  const ready = await fetch(`http://127.0.0.1:${port}/health/readiness`);
  assert.equal(ready.status, 200);

  const event = sampleEvent({ data: { delayMs: 700 } });
  const answer = post(port, event);
  // Wait until the event is inside the handler, then ask the process to stop.
  await new Promise((resolve) => setTimeout(resolve, 250));
  running.child.kill('SIGTERM');

  const res = await answer;
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('ce-type'), `${event.type}.echoed`);
  assert.deepEqual(await res.json(), { delayMs: 700 });
  assert.equal(await running.exited, 0);

  const spans = await receiver.waitForSpans((all) =>
    all.some((s) => s.attributes['cloudevents.event_id'] === event.id),
  );
  const span = spans.find((s) => s.attributes['cloudevents.event_id'] === event.id);
  assert.equal(span?.resource['service.name'], 'echo');
  assert.match(JSON.stringify(receiver.metricRequests), /supabase_reconciler_events_total/);

  const messages = logLines(running).map((l) => l.msg);
  assert.ok(messages.includes('shutting down'));
  assert.ok(messages.includes('drained'));
  assert.ok(messages.indexOf('event handled') < messages.indexOf('drained'));
});

test('after SIGTERM no new connection is accepted', async () => {
  const running = start({ FUNCTION_NAME: 'echo', PORT: '0', OTEL_SDK_DISABLED: 'true' });
  const port = await listeningPort(running);
  const inFlight = post(port, sampleEvent({ data: { delayMs: 500 } }));
  await new Promise((resolve) => setTimeout(resolve, 150));
  running.child.kill('SIGTERM');
  // Once the process says so (not after a fixed wait: a loaded machine may take longer to
  // deliver the signal), its listener is closed in the same tick.
  for (let waited = 0; !logLines(running).some((l) => l.msg === 'shutting down'); waited += 20) {
    assert.ok(waited < 10_000, 'the process never said it was shutting down');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await assert.rejects(fetch(`http://127.0.0.1:${port}/health/liveness`));
  assert.equal((await inFlight).status, 200);
  assert.equal(await running.exited, 0);
});
