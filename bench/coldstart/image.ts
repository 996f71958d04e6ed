/**
 * One image or one per function? Cold start of a function started from the command-line
 * bundle (`node cli.mjs function <name>`, what one image serving every function runs) versus
 * its own bundle (`node <name>.mjs`, what an image per function would run), both from
 * `npm run build`'s output (scripts/build.ts) in .tmp/coldstart-image/, and the bytes each
 * reads to start.
 *
 * The clock runs from spawn to the first 200 of GET /health/readiness: what Knative's
 * queue-proxy waits for before it hands the first request over. No cluster is needed for
 * that; the Kubernetes client loads on the first event, the same for both.
 *
 * Variants per function: no compile cache (NODE_DISABLE_COMPILE_CACHE=1); a compile cache
 * warmed by the uncounted round 0 (a full start); and, for the CLI, the image's cache: warmed
 * at build time by `cli.mjs --help` as the Dockerfile does, then read-only, the process run as
 * another user (uid 65534) as in the Pod.
 *
 * Usage: node bench/coldstart/image.ts [rounds=11] [function=validate-deps]
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOtlpReceiver } from '../../test/env/otlp-receiver.ts';
import { buildReconciler, CLI_BUNDLE, startBytes } from '../../scripts/build.ts';
import { interleave, median, table, type Start } from './measure.ts';

const rounds = Number(process.argv[2] ?? 11);
const fn = process.argv[3] ?? 'validate-deps';
const outdir = join(import.meta.dirname, '../../.tmp/coldstart-image');
const built = await buildReconciler(outdir);
const receiver = await startOtlpReceiver();
const cacheRoot = mkdtempSync(join(tmpdir(), 'sbr-coldstart-image-'));
chmodSync(cacheRoot, 0o755);

/** As in the Knative Service: K_SERVICE names the function; telemetry exports. */
const env = {
  PATH: process.env.PATH,
  K_SERVICE: fn,
  LOG_LEVEL: 'warn',
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
  OTEL_LOGS_EXPORTER: 'none',
};

async function ready(port: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port}/health/readiness`);
  await res.arrayBuffer();
  return res.status === 200;
}

// The image's cache: warmed by `cli.mjs --help` as uid 65534 (the cache folder is named per
// uid), then made read-only.
const imageCache = join(cacheRoot, 'image');
mkdirSync(imageCache);
chownSync(imageCache, 65534, 65534);
execFileSync(process.execPath, [built.cli, '--help'], {
  env: { ...env, NODE_COMPILE_CACHE: imageCache },
  uid: 65534,
  gid: 65534,
  stdio: 'ignore',
});
const readOnly = (path: string): void => {
  chownSync(path, 0, 0);
  chmodSync(path, statSync(path).isDirectory() ? 0o555 : 0o444);
  if (statSync(path).isDirectory()) for (const f of readdirSync(path)) readOnly(join(path, f));
};
readOnly(imageCache);

const commands = { cli: [built.cli, 'function', fn], own: [built.functions[fn] ?? ''] };
const starts: Start[] = [];
for (const [name, args] of Object.entries(commands)) {
  starts.push({ name, args, env: { ...env, NODE_DISABLE_COMPILE_CACHE: '1' }, attempt: ready });
  const dir = join(cacheRoot, name);
  starts.push({
    name: `${name}+cache`,
    args,
    env: { ...env, NODE_COMPILE_CACHE: dir },
    attempt: ready,
  });
}
starts.push({
  name: 'cli+image cache (read-only, uid 65534)',
  args: commands.cli,
  env: { ...env, NODE_COMPILE_CACHE: imageCache },
  attempt: ready,
  uid: 65534,
});

const results = await interleave(starts, rounds);
await receiver.close();
console.log(
  `node ${process.version}, function ${fn}, ${rounds} counted rounds (+1 warm-up), interleaved; spawn → readiness 200`,
);
process.stdout.write(table(results));
const m = (name: string) => median(results.get(name)?.ms ?? []);
console.log(
  `cli/own: ${(m('cli') / m('own')).toFixed(2)}x without cache, ${(m('cli+cache') / m('own+cache')).toFixed(2)}x with it`,
);
console.log(
  `image cache/no cache (cli): ${(m('cli+image cache (read-only, uid 65534)') / m('cli')).toFixed(2)}x`,
);

const bytes = startBytes(built);
const total = Object.values(built.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
const js = Object.entries(built.metafile.outputs)
  .filter(([file]) => file.endsWith('.mjs'))
  .reduce((sum, [, o]) => sum + o.bytes, 0);
console.log('bytes read to start (entry + chunks imported statically), KB:');
for (const [file, size] of Object.entries(bytes).sort())
  console.log(`  ${file}: ${(size / 1024).toFixed(0)}`);
console.log(
  `whole build: ${(js / 1e6).toFixed(2)} MB JavaScript, ${(total / 1e6).toFixed(2)} MB with maps (${CLI_BUNDLE} and ${Object.keys(built.functions).length} function bundles share their chunks)`,
);
