/**
 * The function surface against hostile or merely odd input, on the real function processes
 * (each phase's index.ts, as Knative runs it, against the test API server): a malformed event
 * is a 400 (never a 5xx the broker would retry), names are Kubernetes names before they reach
 * a request path, attribute sizes and error bodies are bounded, unknown event types do not
 * become metric series, equivalent Content-Types are accepted, slow clients are cut off, and
 * thousands of property-generated events crash nothing and grow no memory.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { HTTP } from 'cloudevents';
import fc from 'fast-check';
import { chainEvent } from '../../shared/events/chain.ts';
import { API_SERVER_EVENT, CHAIN_EVENT } from '../../shared/events/types.ts';
import { MAX_ATTRIBUTE_LENGTH } from '../../shared/runtime/receive.ts';
import { MAX_ERROR_BODY } from '../../shared/runtime/respond.ts';
import { eventFixture } from '../fixtures/events.ts';
import { startFunctionProcess, type FunctionProcess } from '../fixtures/function-process.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const probe = join(root, 'test/fixtures/memory-probe.ts');

/** Starts a phase function's real entry point, with short HTTP bounds for the slow-client tests. */
function startFunction(name: string): Promise<FunctionProcess> {
  return startFunctionProcess(name, {
    nodeArgs: ['--expose-gc', '--import', probe],
    env: {
      LOG_LEVEL: 'info',
      OTEL_SDK_DISABLED: 'false',
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'none',
      HTTP_HEADERS_TIMEOUT_MS: '600',
      HTTP_REQUEST_TIMEOUT_MS: '1000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '3000',
    },
  });
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

async function post(
  fn: FunctionProcess,
  headers: Record<string, string>,
  body: string,
): Promise<Answer> {
  const res = await fetch(`http://127.0.0.1:${fn.port}/`, { method: 'POST', headers, body });
  return { status: res.status, body: await res.text() };
}

/** A chain event of the function's own input type, in binary mode, with attribute overrides. */
function chainInput(
  fn: FunctionProcess,
  overrides: Record<string, string> = {},
): { headers: Record<string, string>; body: string } {
  const type =
    fn.name === 'secrets' ? CHAIN_EVENT.databaseInitialized : CHAIN_EVENT.dependenciesValidated;
  const { headers, body } = HTTP.binary(
    chainEvent({
      type,
      from: 'test',
      key: { namespace: 'team-a', name: 'demo' },
      uid: 'u',
      generation: 1,
    }),
  );
  return {
    headers: { ...(headers as Record<string, string>), ...overrides },
    body: body as string,
  };
}

/** The function's heap in use after a full garbage collection (test/fixtures/memory-probe.ts). */
async function retainedHeap(fn: FunctionProcess): Promise<number> {
  const seen = fn.stderr().split('memory-probe ').length;
  fn.child.kill('SIGUSR2');
  const deadline = Date.now() + 10_000;
  while (fn.stderr().split('memory-probe ').length === seen) {
    if (Date.now() > deadline) throw new Error(`no memory report: ${fn.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const last = fn.stderr().split('memory-probe ').at(-1)!.split('\n')[0]!;
  return (JSON.parse(last) as { heapUsed: number }).heapUsed;
}

const functions: FunctionProcess[] = [];
const byName = (name: string): FunctionProcess => {
  const fn = functions.find((f) => f.name === name);
  assert.ok(fn);
  return fn;
};

before(async () => {
  const started = await Promise.allSettled(
    [
      'validate-deps',
      'init-db',
      'secrets',
      'deploy-components',
      'health-aggregate',
      'dead-letter',
    ].map((name) => startFunction(name)),
  );
  for (const result of started) if (result.status === 'fulfilled') functions.push(result.value);
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
});

after(async () => {
  await Promise.all(functions.map((fn) => fn.stop()));
});

describe('ApiServerSource delete events are acknowledged by every phase, never retried or dead-lettered', () => {
  // The three shapes the real adapter sends (knative-facts.md, last section).
  for (const fixture of [
    'apiserver-delete',
    'apiserver-delete-finalizer-removed',
    'apiserver-delete-no-finalizer',
  ]) {
    test(fixture, async () => {
      for (const fn of functions) {
        const { headers, body } = eventFixture(fixture);
        const answer = await post(fn, headers, body);
        assert.equal(answer.status, 202, `${fn.name}: ${answer.body}`);
        assert.equal(answer.body, '', `${fn.name} replies nothing`);
      }
    });
  }
});

describe('malformed events are answered 400, never 5xx', () => {
  test('a generation nested 5,000 arrays deep', async () => {
    for (const fn of [byName('init-db'), byName('secrets')]) {
      const deep = '['.repeat(5000) + ']'.repeat(5000);
      const { headers } = chainInput(fn);
      const event = {
        ...Object.fromEntries(
          Object.entries(headers)
            .filter(([h]) => h.startsWith('ce-'))
            .map(([h, v]) => [h.slice(3), v]),
        ),
      };
      delete (event as Record<string, unknown>).generation;
      const body = `{${Object.entries(event)
        .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)
        .join(',')},"generation":${deep},"data":{}}`;
      const answer = await post(fn, { 'content-type': 'application/cloudevents+json' }, body);
      assert.equal(answer.status, 400, answer.body);
      assert.match(answer.body, /generation must be a positive integer, got an array of 1 items/);
    }
  });

  test('names that are not Kubernetes names never reach the API server', async () => {
    const fn = byName('validate-deps');
    const add = eventFixture('apiserver-add');
    const object = JSON.parse(add.body) as { metadata: Record<string, unknown> };
    const cases: [string, string][] = [
      ['..', '..'],
      ['team-a', '.'],
      ['kube-system', '..'],
      ['team-a', 'x'.repeat(10_000)],
      ['Team-A', 'demo'],
      ['team-a', 'a/b'],
    ];
    for (const [namespace, name] of cases) {
      object.metadata.namespace = namespace;
      object.metadata.name = name;
      const answer = await post(fn, add.headers, JSON.stringify(object));
      assert.equal(answer.status, 400, `${namespace}/${name.slice(0, 20)}: ${answer.body}`);
      assert.match(answer.body, /metadata\/(namespace|name)/);
    }
    for (const fn2 of [byName('init-db'), byName('secrets')]) {
      for (const subject of [
        'namespaces/../supabaseprojects/..',
        `namespaces/team-a/supabaseprojects/${'x'.repeat(300)}`,
      ]) {
        const input = chainInput(fn2, { 'ce-subject': subject });
        const answer = await post(fn2, input.headers, input.body);
        assert.equal(answer.status, 400, answer.body);
        assert.match(answer.body, /Kubernetes names/);
      }
    }
  });

  test('an attribute of a megabyte is refused, and no error body repeats its input in full', async () => {
    const fn = byName('init-db');
    // Structured mode: the body may be 3 MiB, headers are bounded by node itself.
    const input = chainInput(fn);
    const attributes = Object.fromEntries(
      Object.entries(input.headers)
        .filter(([h]) => h.startsWith('ce-'))
        .map(([h, v]) => [h.slice(3), v]),
    );
    const huge = 'k'.repeat(1024 * 1024);
    for (const attribute of ['type', 'source', 'id', 'subject', 'kind']) {
      const answer = await post(
        fn,
        { 'content-type': 'application/cloudevents+json' },
        JSON.stringify({ ...attributes, [attribute]: huge, data: {} }),
      );
      assert.equal(answer.status, 400, attribute);
      assert.ok(answer.body.length <= MAX_ERROR_BODY + 40, `${attribute}: ${answer.body.length}`);
      assert.match(
        answer.body,
        new RegExp(`is ${huge.length} characters long; at most ${MAX_ATTRIBUTE_LENGTH}`),
      );
    }
    // A resource event whose object's kind is a megabyte long.
    const add = eventFixture('apiserver-add');
    const object = JSON.parse(add.body) as Record<string, unknown>;
    const answer = await post(
      byName('validate-deps'),
      add.headers,
      JSON.stringify({ ...object, kind: huge }),
    );
    assert.equal(answer.status, 400);
    assert.ok(answer.body.length <= MAX_ERROR_BODY + 40, String(answer.body.length));
  });

  test('unknown event types are one metric series, "other"', async () => {
    const fn = byName('secrets');
    for (let i = 0; i < 50; i++) {
      const input = chainInput(fn, { 'ce-type': `dev.attacker.type${i}.${'y'.repeat(500)}` });
      assert.equal((await post(fn, input.headers, input.body)).status, 400);
    }
    const metrics = await (await fetch(`http://127.0.0.1:${fn.port}/metrics`)).text();
    assert.doesNotMatch(metrics, /dev\.attacker/);
    assert.match(metrics, /supabase_reconciler_events_total\{[^}]*type="other"[^}]*\} (\d+)/);
    const count = /supabase_reconciler_events_total\{[^}]*type="other"[^}]*\} (\d+)/.exec(metrics);
    assert.ok(Number(count?.[1]) >= 50);
  });
});

describe('equivalent Content-Types are accepted', () => {
  for (const contentType of [
    'application/cloudevents+json;charset=utf-8',
    'application/cloudevents+json; charset=UTF-8',
    'application/cloudevents+json;  charset="utf-8"',
    'Application/CloudEvents+JSON',
  ]) {
    test(`structured mode with ${contentType}`, async () => {
      const fn = byName('init-db');
      const event = chainEvent({
        type: CHAIN_EVENT.dependenciesValidated,
        from: 'test',
        key: { namespace: 'no-such-namespace', name: 'absent' },
        uid: 'u',
        generation: 1,
      });
      const { body } = HTTP.structured(event);
      const answer = await post(fn, { 'content-type': contentType }, body as string);
      // Parsed and acknowledged: the project does not exist.
      assert.equal(answer.status, 202, answer.body);
    });
  }

  test('binary mode with APPLICATION/JSON;charset=UTF-8', async () => {
    const add = eventFixture('apiserver-add');
    const object = JSON.parse(add.body) as { metadata: Record<string, unknown> };
    object.metadata.namespace = 'no-such-namespace';
    const answer = await post(
      byName('validate-deps'),
      { ...add.headers, 'content-type': 'APPLICATION/JSON;charset=UTF-8' },
      JSON.stringify(object),
    );
    assert.equal(answer.status, 202, answer.body);
  });
});

describe('slow clients are cut off; keep-alive connections are kept', () => {
  /** Opens a raw connection and resolves when the server closes it, with what it sent. */
  function rawExchange(
    port: number,
    write: (socket: Socket) => void,
  ): Promise<{ elapsedMs: number; received: string }> {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      let received = '';
      const socket = connect(port, '127.0.0.1', () => {
        write(socket);
      });
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (received += chunk));
      socket.on('error', reject);
      socket.on('close', () => {
        resolve({ elapsedMs: performance.now() - started, received });
      });
      setTimeout(() => {
        socket.destroy();
        reject(new Error('the server kept a stalled connection open for 10 s'));
      }, 10_000).unref();
    });
  }

  test('headers that never finish are cut after the headers timeout', async () => {
    const { elapsedMs, received } = await rawExchange(byName('init-db').port, (socket) => {
      socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n');
    });
    assert.ok(elapsedMs < 5000, `closed after ${Math.round(elapsedMs)} ms`);
    assert.match(received, /^HTTP\/1\.1 408/);
  });

  test('a body that stalls is cut after the request timeout', async () => {
    const { elapsedMs, received } = await rawExchange(byName('init-db').port, (socket) => {
      socket.write(
        'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":',
      );
    });
    assert.ok(elapsedMs < 6000, `closed after ${Math.round(elapsedMs)} ms`);
    assert.match(received, /^HTTP\/1\.1 408/);
  });

  test('an idle keep-alive connection outlives the headers timeout and serves again', async () => {
    const fn = byName('init-db');
    const answers = await new Promise<string>((resolve, reject) => {
      let received = '';
      const request = 'GET /health/liveness HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n';
      const socket = connect(fn.port, '127.0.0.1', () => {
        socket.write(request);
        // Idle longer than the headers timeout (600 ms), shorter than keep-alive (3 s).
        setTimeout(() => socket.write(request), 1500);
      });
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        received += chunk;
        if ((received.match(/HTTP\/1\.1 200/g) ?? []).length === 2) {
          socket.destroy();
          resolve(received);
        }
      });
      socket.on('error', reject);
      socket.on('close', () => {
        reject(new Error(`closed early: ${received}`));
      });
    });
    assert.equal((answers.match(/HTTP\/1\.1 200/g) ?? []).length, 2);
  });
});

describe('property: random events never crash a function or get a 5xx', () => {
  const attributeName = fc.constantFrom(
    'ce-specversion',
    'ce-id',
    'ce-source',
    'ce-type',
    'ce-subject',
    'ce-time',
    'ce-projectuid',
    'ce-generation',
    'ce-traceparent',
    'ce-datacontenttype',
  );
  const hostileString = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom('..', '.', '/', '', ' ', '0', '-1', '1e400', 'null', '\u0000', '%2e%2e'),
    fc.constantFrom(...Object.values(API_SERVER_EVENT), ...Object.values(CHAIN_EVENT)),
    fc.string({ minLength: 1000, maxLength: 3000 }),
    fc.constantFrom(
      'namespaces/../supabaseprojects/..',
      'namespaces/team-a/supabaseprojects/.',
      '/apis/supabase.reconciler.dev/v1alpha1/namespaces/team-a/supabaseprojects/demo',
    ),
  );
  // JSON values up to a few levels deep, with the odd very deep array.
  const json = fc.oneof(
    fc.jsonValue({ maxDepth: 4 }),
    fc
      .integer({ min: 1, max: 3000 })
      .map((depth) => JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown),
  );
  const contentType = fc.constantFrom(
    'application/json',
    'application/cloudevents+json',
    'application/cloudevents+json;charset=UTF-8',
    'application/cloudevents-batch+json',
    'text/plain',
    'application/xml',
    '',
  );
  const binary = fc.record({
    mode: fc.constant('binary' as const),
    headers: fc.dictionary(attributeName, hostileString, { maxKeys: 10 }),
    contentType,
    body: fc.oneof(
      json.map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 200 }),
    ),
  });
  const structured = fc.record({
    mode: fc.constant('structured' as const),
    headers: fc.constant({}),
    contentType,
    body: fc
      .record(
        {
          specversion: fc.oneof(fc.constant('1.0'), hostileString),
          id: hostileString,
          source: hostileString,
          type: hostileString,
          subject: hostileString,
          projectuid: hostileString,
          generation: json,
          data: json,
        },
        { requiredKeys: [] },
      )
      .map((event) => JSON.stringify(event)),
  });
  const request = fc.oneof(binary, structured);

  for (const name of ['validate-deps', 'init-db', 'secrets']) {
    test(`${name}: 1,500 random events, no 5xx, bounded answers, no crash, bounded memory`, async () => {
      const fn = byName(name);
      const statuses = new Map<number, number>();
      let checked = 0;
      const run = (runs: number) =>
        fc.assert(
          fc.asyncProperty(request, async (r) => {
            // What an HTTP client can send in a header: visible ASCII (the rest is refused
            // by the client itself, before any server sees it).
            const headers: Record<string, string> = Object.fromEntries(
              Object.entries(r.headers).map(([h, v]) => [h, v.replace(/[^\x20-\x7e]/g, '?')]),
            );
            if (r.contentType) headers['content-type'] = r.contentType;
            const answer = await post(fn, headers, r.body);
            statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
            checked++;
            return answer.status < 500 && answer.body.length <= MAX_ERROR_BODY + 100;
          }),
          { numRuns: runs },
        );
      await run(300); // warm-up: code paths loaded, caches filled
      const before = await retainedHeap(fn);
      await run(1200);
      const retained = (await retainedHeap(fn)) - before;
      assert.equal(fn.child.exitCode, null, `${name} exited: ${fn.stderr()}`);
      assert.equal(checked, 1500);
      // Bounded memory: what the heap keeps after a full collection. Keeping anything per
      // request (a kilobyte each and more) would add megabytes over 1,200 requests.
      assert.ok(
        retained < 4 * 1024 * 1024,
        `${name} retained ${Math.round(retained / 1024)} KiB more after 1,200 events`,
      );
      assert.ok((statuses.get(400) ?? 0) > 0, JSON.stringify([...statuses]));
    });
  }
});
