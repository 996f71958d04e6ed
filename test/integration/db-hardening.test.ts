/**
 * shared/db under servers that misbehave: a server that echoes the password in its error
 * never gets it into a log line, an error message or a condition (the cause kept is a
 * scrubbed copy, and the logger prints nothing else); a server that accepts the login and
 * then stays silent costs a probe its deadline, not forever (the socket is destroyed).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HTTP } from 'cloudevents';
import request from 'supertest';
import { createValidateDepsHandler } from '../../functions/validate-deps/handler.ts';
import { probeDatabase } from '../../shared/db/connect.ts';
import type { DatabaseTarget } from '../../shared/db/target.ts';
import { TransientError } from '../../shared/runtime/errors.ts';
import { RedactedError } from '../../shared/secrets/redacted-error.ts';
import { Sensitive } from '../../shared/secrets/sensitive.ts';
import { describeError } from '../../shared/telemetry/logger.ts';
import { freshNamespace, postgresConnection } from '../env/index.ts';
import { testEgress } from '../fixtures/egress.ts';
import { createHarness, type Harness } from '../fixtures/function-harness.ts';
import { memoryLogger } from '../fixtures/memory-logger.ts';
import {
  echoingPgServerFake,
  silentAfterLoginProxyFake,
  type PgFake,
} from '../fixtures/pg-fakes.ts';
import { installProjectCrd } from '../fixtures/project.ts';
import {
  apiServerEvent,
  assertNoValues,
  createProject,
  putSecret,
  readProject,
  secretValue,
  storageSecretData,
  testDeps,
} from './validate-deps-support.ts';

const fakes: PgFake[] = [];
after(async () => {
  await Promise.all(fakes.map((fake) => fake.close()));
});

function targetAt(fake: PgFake, password: string, database = 'postgres'): DatabaseTarget {
  return {
    host: fake.host,
    port: fake.port,
    database,
    user: 'app',
    password: new Sensitive(password),
    sslMode: 'disable',
  };
}

describe('a server that echoes the password in its error', () => {
  let echoing: PgFake;
  before(async () => {
    echoing = await echoingPgServerFake();
    fakes.push(echoing);
  });

  test('the error, its cause and the log line never hold it; the cause is a scrubbed copy', async () => {
    const password = secretValue('echoed-pw');
    const error = await probeDatabase(targetAt(echoing, password), {
      egress: testEgress,
      timeoutMs: 3000,
    }).then(
      () => assert.fail('the fake refuses every login'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof TransientError, String(error));
    assert.match(error.message, /SQLSTATE 08006/);
    assert.match(error.message, /the password "\*\*\*" could not be relayed/);
    // What the boundary kept: a scrubbed copy with the server's fields, not the raw error.
    assert.ok(error.cause instanceof RedactedError);
    assert.equal(error.cause.code, '08006');
    assert.equal(error.cause.fields.detail, 'upstream refused ***');
    assert.equal(error.cause.fields.hint, 'try *** again', 'the URL-encoded form is scrubbed too');

    const { logger, lines } = memoryLogger('validate-deps');
    logger.error({ error: describeError(error) }, 'event failed');
    assert.ok(
      lines.some((line) => line.includes('08006')),
      'the cause is logged',
    );
    assertNoValues(
      [error.message, JSON.stringify(error.cause.fields), String(error.cause.stack), ...lines].join(
        '\n',
      ),
      [password, encodeURIComponent(password)],
      'the error or the log',
    );
  });

  test('through validate-deps over HTTP: not in the logs, the response or the condition', async () => {
    await installProjectCrd();
    const password = secretValue('echoed-pw');
    const harness: Harness = createHarness(createValidateDepsHandler(testDeps().deps), {
      name: 'validate-deps',
    });
    try {
      const namespace = await freshNamespace('db-echo');
      await putSecret(namespace, 'demo-db', {
        host: echoing.host,
        port: String(echoing.port),
        database: 'postgres',
        username: 'app',
        password,
      });
      await putSecret(namespace, 'demo-s3', await storageSecretData());
      const created = await createProject(namespace);
      const message = HTTP.binary(apiServerEvent(created));
      const res = await request(harness.app)
        .post('/')
        .set(message.headers as Record<string, string>)
        .send(message.body as string);
      assert.equal(res.status, 503, res.text);

      const status = (await readProject(namespace)).status;
      const condition = status?.conditions?.find((c) => c.type === 'PostgreSQLConnected');
      assert.equal(condition?.status, 'False');
      assert.match(condition.message, /SQLSTATE 08006/);
      const failed = harness.logs.find((line) => line.msg === 'event failed');
      assert.ok(failed, 'the app logged the failure with its cause chain');
      assert.match(JSON.stringify(failed), /RedactedError|08006/);
      assertNoValues(
        [res.text, JSON.stringify(status), JSON.stringify(harness.logs)].join('\n'),
        [password, encodeURIComponent(password)],
        'the response, the status or the logs',
      );
    } finally {
      await harness.telemetry.shutdown();
    }
  });
});

describe('a server that accepts the login and then stays silent', () => {
  test('the probe fails within its deadline, and its socket is destroyed', async () => {
    const pg = postgresConnection();
    const silent = await silentAfterLoginProxyFake(pg);
    fakes.push(silent);
    const timeoutMs = 1500;
    const started = performance.now();
    const guard = new Promise<'still pending'>((resolve) => {
      setTimeout(() => {
        resolve('still pending');
      }, timeoutMs + 5000).unref();
    });
    const outcome = await Promise.race([
      probeDatabase(
        { ...targetAt(silent, pg.password, pg.database), user: pg.user },
        { egress: testEgress, timeoutMs },
      ).then(
        () => 'answered',
        (error: unknown) => error,
      ),
      guard,
    ]);
    const elapsed = performance.now() - started;
    assert.ok(
      outcome instanceof TransientError,
      `expected a TransientError, got ${String(outcome)}`,
    );
    assert.match(outcome.message, new RegExp(`did not answer within ${timeoutMs} ms`));
    assert.ok(elapsed >= timeoutMs - 50 && elapsed < timeoutMs + 1000, `took ${elapsed} ms`);
    assert.equal(silent.connections(), 1, 'the login went through the proxy');
    for (let i = 0; i < 50 && silent.closed() < 1; i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(silent.closed(), 1, 'the client closed its socket');
  });
});
