/**
 * The production form: `npm run build` into a temporary folder, then the functions run FROM
 * THAT OUTPUT (plain node on the bundles; no tsx, no sources, no node_modules beside them)
 * against the test API server, PostgreSQL and S3. Also: the Dockerfile copies only what the
 * build produces, and skaffold.yaml names files that exist.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { HTTP, type CloudEvent } from 'cloudevents';
import pg from 'pg';
import { parse } from 'yaml';
import { LEDGER_TABLE } from '../../shared/db/migrations.ts';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import { freshDatabase, freshNamespace, kubeConnection, postgresConnection } from '../env/index.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../env/otlp-receiver.ts';
import { LOOPBACK_ALLOWED_ENV } from '../fixtures/egress.ts';
import {
  apiServerEvent,
  chainEventFor,
  createProject,
  createSecret,
  testDatabaseSecret,
  installProjectCrd,
  readProject,
} from '../fixtures/project.ts';
import { workingProject } from '../integration/validate-deps-support.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);
let out: string;

before(async () => {
  out = await mkdtemp(join(tmpdir(), 'sbr-build-'));
  // The npm script itself, into a folder of its own (dist/ is left alone).
  await run('npm', ['run', 'build'], {
    cwd: root,
    env: { ...process.env, BUILD_OUTDIR: out },
  });
  await installProjectCrd();
});

after(async () => {
  await rm(out, { recursive: true, force: true });
});

/** A process started from the build's output, outside the repository. */
interface Started {
  readonly port: number;
  /** What it wrote (its JSON log lines, then any error). */
  readonly output: () => string;
  stop(): Promise<number | null>;
}

/** Runs `node <out>/<args>` in an empty folder and waits until it listens. */
async function startFromBuild(
  args: readonly string[],
  env: Record<string, string>,
): Promise<Started> {
  const cwd = await mkdtemp(join(tmpdir(), 'sbr-build-run-'));
  const child = spawn(process.execPath, [join(out, args[0] ?? ''), ...args.slice(1)], {
    cwd,
    env: {
      PATH: process.env.PATH,
      HOME: cwd,
      PORT: '0',
      KUBECONFIG: kubeConnection().kubeconfigPath,
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      ...LOOPBACK_ALLOWED_ENV,
      ...env,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const stop = async (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const code = await exited;
    await rm(cwd, { recursive: true, force: true });
    return code;
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    const line = stdout.split('\n').find((l) => l.includes('"msg":"listening"'));
    if (line) {
      const { port } = JSON.parse(line) as { port: number };
      return { port, output: () => stdout + stderr, stop };
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`${args.join(' ')} did not start listening: ${stderr}${stdout}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function post(port: number, event: CloudEvent<unknown>): Promise<Response> {
  const message = HTTP.binary(event);
  return fetch(`http://127.0.0.1:${port}/`, {
    method: 'POST',
    headers: message.headers as Record<string, string>,
    body: message.body as string,
  });
}

describe('functions run from the build', () => {
  let receiver: OtlpReceiver;
  before(async () => {
    receiver = await startOtlpReceiver();
  });
  after(async () => {
    await receiver.close();
  });

  test('`cli.mjs function validate-deps` is ready, validates a real project, and its http and express spans are exported', async (t) => {
    const fn = await startFromBuild(['cli.mjs', 'function', 'validate-deps'], {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    });
    t.after(() => fn.stop());
    const readiness = await fetch(`http://127.0.0.1:${fn.port}/health/readiness`);
    assert.equal(readiness.status, 200, await readiness.text());

    const namespace = await freshNamespace('build-vd');
    const project = await workingProject(namespace);
    const res = await post(fn.port, apiServerEvent(project));
    if (res.status !== 200) await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.equal(res.status, 200, `${await res.clone().text()}\n${fn.output()}`);
    assert.equal(res.headers.get('ce-type'), CHAIN_EVENT.dependenciesValidated);
    assert.equal((await readProject(namespace)).status?.phase, 'InitializingDatabase');

    // The instrumentations patch the bundled express (shared/telemetry/instrumentations.ts),
    // not only node's http: the bundle keeps them alive. (No pg span: nothing hands pg to
    // instrumentModule yet, bundled or not.)
    assert.equal(await fn.stop(), 0, fn.output());
    const spans = await receiver.waitForSpans((received) =>
      received.some((s) => s.scope === '@opentelemetry/instrumentation-express'),
    );
    const scopes = [...new Set(spans.map((s) => s.scope))].sort();
    t.diagnostic(`span scopes: ${scopes.join(', ')}`);
    assert.ok(scopes.includes('@opentelemetry/instrumentation-http'), scopes.join(', '));
    assert.ok(scopes.includes('@opentelemetry/instrumentation-express'), scopes.join(', '));
    assert.ok(scopes.includes('supabase-reconciler'), scopes.join(', '));
  });

  test('`init-db.mjs` (a function bundle alone) applies every migration the build copied', async (t) => {
    const fn = await startFromBuild(['init-db.mjs'], {
      K_SERVICE: 'init-db',
      OTEL_SDK_DISABLED: 'true',
    });
    t.after(() => fn.stop());
    const namespace = await freshNamespace('build-initdb');
    const { database } = await freshDatabase('build_initdb');
    await createSecret(namespace, 'demo-db', testDatabaseSecret(database));
    const project = await createProject(namespace);
    const res = await post(fn.port, chainEventFor(CHAIN_EVENT.dependenciesValidated, project));
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('ce-type'), CHAIN_EVENT.databaseInitialized);

    const shipped = (await readdir(join(out, 'shared/db/migrations')))
      .filter((f) => f.endsWith('.sql'))
      .sort();
    const sources = (await readdir(join(root, 'shared/db/migrations')))
      .filter((f) => f.endsWith('.sql'))
      .sort();
    assert.deepEqual(shipped, sources);
    const client = new pg.Client({ ...postgresConnection(), database });
    await client.connect();
    try {
      const ledger = await client.query<{ name: string }>(
        `SELECT name FROM ${LEDGER_TABLE} ORDER BY name`,
      );
      assert.deepEqual(
        ledger.rows.map((r) => r.name),
        shipped,
      );
    } finally {
      await client.end();
    }
  });
});

describe('the command line from the build', () => {
  async function cli(
    args: readonly string[],
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    const home = await mkdtemp(join(tmpdir(), 'sbr-build-home-'));
    try {
      const { stdout, stderr } = await run(process.execPath, [join(out, 'cli.mjs'), ...args], {
        cwd: home,
        env: { PATH: process.env.PATH, HOME: home, XDG_STATE_HOME: home },
        timeout: 30_000,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  }

  test('an unknown function exits 2 naming every function', async () => {
    const result = await cli(['function', 'validate-dep']);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /unknown function "validate-dep": one of validate-deps, init-db, secrets, deploy-components, health-aggregate, finalize, resync, dead-letter/,
    );
  });

  test('`run` with no cluster exits 1 saying the embedded environment is not in the build', async () => {
    const result = await cli(['run']);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stderr, /embedded environment is not part of the production build/);
    assert.match(result.stderr, /--kubeconfig or KUBECONFIG/);
  });
});

/** The source paths of `COPY --from=<stage>` lines, by stage. */
function copiesFrom(dockerfile: string, stage: string): string[] {
  return dockerfile
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('COPY ') && line.includes(`--from=${stage} `))
    .flatMap((line) => {
      const words = line.split(/\s+/).filter((w) => !w.startsWith('--'));
      return words.slice(1, -1);
    });
}

describe('Dockerfile', () => {
  test('every path its COPY lines take from the build stage exists after npm run build', async () => {
    const dockerfile = await readFile(join(root, 'Dockerfile'), 'utf8');
    const workdir = /^FROM \S+ AS build\n(?:.*\n)*?WORKDIR (\S+)/m.exec(dockerfile)?.[1];
    assert.equal(workdir, '/src');
    const paths = copiesFrom(dockerfile, 'build');
    const fromDist = paths.filter((p) => p.startsWith('/src/dist'));
    assert.ok(fromDist.length > 0, 'the runtime copies the build output');
    for (const path of fromDist) {
      const local = join(out, relative('/src/dist', path));
      assert.ok(existsSync(local), `${path} (${local}) exists after the build`);
    }
    // The entry point is the command-line bundle, which the build produced.
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
    const [, bundle] = JSON.parse(entrypoint ?? '[]') as string[];
    assert.equal(bundle, '/app/cli.mjs');
    assert.ok(existsSync(join(out, 'cli.mjs')));
    // Read-only root filesystem, non-root: nothing written at run time but under /tmp.
    assert.match(dockerfile, /^USER 65532:65532$/m);
    assert.match(dockerfile, /NODE_ENV=production/);
    assert.match(dockerfile, /SUPABASE_RECONCILER_STATE_DIR=\/tmp\//);
  });

  test('the build holds no node_modules and no TypeScript: the bundles stand alone', async () => {
    const files = await readdir(out, { recursive: true });
    assert.ok(!files.some((f) => f.split('/').includes('node_modules')));
    assert.ok(!files.some((f) => f.endsWith('.ts')));
  });
});

describe('skaffold.yaml', () => {
  test('names the Dockerfile and kustomize folders that exist, and builds the image the manifests use', async () => {
    interface Manifests {
      kustomize?: { paths?: string[] };
    }
    const config = parse(await readFile(join(root, 'skaffold.yaml'), 'utf8')) as {
      apiVersion: string;
      build: { artifacts: { image: string; context?: string; docker?: { dockerfile?: string } }[] };
      manifests: Manifests;
      profiles: { name: string; manifests?: Manifests }[];
    };
    assert.match(config.apiVersion, /^skaffold\/v4beta\d+$/);
    for (const artifact of config.build.artifacts) {
      const dockerfile = join(
        root,
        artifact.context ?? '.',
        artifact.docker?.dockerfile ?? 'Dockerfile',
      );
      assert.ok(existsSync(dockerfile), `${dockerfile} exists`);
    }
    assert.deepEqual(
      config.build.artifacts.map((a) => a.image),
      ['supabase-reconciler'],
    );
    const paths = [config.manifests, ...config.profiles.map((p) => p.manifests ?? {})].flatMap(
      (m) => m.kustomize?.paths ?? [],
    );
    assert.ok(
      paths.includes('deploy/overlays/knative') && paths.includes('deploy/overlays/standalone'),
    );
    for (const path of paths) {
      assert.ok(
        existsSync(join(root, path, 'kustomization.yaml')),
        `${path}/kustomization.yaml exists`,
      );
    }
    assert.deepEqual(
      config.profiles.map((p) => p.name),
      ['knative', 'standalone'],
    );
  });
});
