/**
 * Cold-start benchmark: spawn → first answered CloudEvent, per telemetry setup, for the
 * bundled echo function. Rounds are interleaved (every variant once per round, so drift in
 * machine load hits all alike); round 0 is a warm-up (page cache, compile cache) and is not
 * counted. Reports min / median / max and RSS after the first answer, then verifies once per
 * variant that the expected spans reach an OTLP receiver after SIGTERM.
 *
 * Usage: node bench/coldstart/run.ts [rounds=11]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HTTP, CloudEvent } from 'cloudevents';
import { freePort } from '../../test/env/ports.ts';
import { startOtlpReceiver } from '../../test/env/otlp-receiver.ts';
import { buildBundles } from './build.ts';

const rounds = Number(process.argv[2] ?? 11);
const bundles = await buildBundles();
const receiver = await startOtlpReceiver();
const cacheRoot = mkdtempSync(join(tmpdir(), 'sbr-coldstart-'));

interface Variant {
  readonly name: string;
  readonly bundle: string;
  readonly compileCache: boolean;
}
const variants: Variant[] = Object.entries(bundles).flatMap(([name, bundle]) => [
  { name, bundle, compileCache: false },
  { name: `${name}+cache`, bundle, compileCache: true },
]);

const event = new CloudEvent({
  type: 'dev.reconciler.supabase.bench',
  source: '/bench',
  subject: 'namespaces/bench/supabaseprojects/demo',
  data: { hello: 'world' },
});
const message = HTTP.binary(event);

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

/** Starts the variant, POSTs the event until it is answered; returns ms and RSS. */
async function measure(variant: Variant): Promise<{ ms: number; rss: number }> {
  const port = await freePort();
  const env: Record<string, string | undefined> = {
    ...process.env,
    FUNCTION_NAME: 'echo',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
    OTEL_LOGS_EXPORTER: 'none',
    NODE_COMPILE_CACHE: variant.compileCache ? join(cacheRoot, variant.name) : undefined,
  };
  if (!variant.compileCache) delete env.NODE_COMPILE_CACHE;
  const began = performance.now();
  const child = spawn(process.execPath, [variant.bundle], { env, stdio: 'ignore' });
  const exited = once(child, 'exit');
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: message.headers as Record<string, string>,
        body: message.body as string,
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${variant.name} answered ${res.status}`);
      break;
    } catch (error) {
      if (error instanceof Error && error.message.includes('answered')) throw error;
      if (child.exitCode !== null)
        throw new Error(`${variant.name} exited ${child.exitCode}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
  const ms = performance.now() - began;
  const rss = rssMiB(child.pid!);
  child.kill('SIGTERM');
  await exited;
  return { ms, rss };
}

const results = new Map<string, { ms: number[]; rss: number[] }>(
  variants.map((v) => [v.name, { ms: [], rss: [] }]),
);
for (let round = 0; round <= rounds; round++) {
  for (const variant of variants) {
    const { ms, rss } = await measure(variant);
    if (round === 0) continue;
    results.get(variant.name)!.ms.push(ms);
    results.get(variant.name)!.rss.push(rss);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
console.log(`node ${process.version}, ${rounds} counted rounds (+1 warm-up), interleaved`);
console.log('| variant | min / median / max ms | RSS MiB (median) |');
console.log('| --- | --- | --- |');
const medians: Record<string, number> = {};
for (const [name, r] of results) {
  medians[name] = median(r.ms);
  console.log(
    `| ${name} | ${Math.min(...r.ms).toFixed(0)} / **${median(r.ms).toFixed(0)}** / ${Math.max(...r.ms).toFixed(0)} | ${median(r.rss).toFixed(1)} |`,
  );
}
for (const suffix of ['', '+cache'])
  console.log(
    `nodesdk/lean${suffix}: ${(medians[`nodesdk${suffix}`]! / medians[`lean${suffix}`]!).toFixed(2)}x`,
  );

// Verification: the spans one event produces, flushed by SIGTERM, per variant.
for (const variant of variants.filter((v) => !v.compileCache)) {
  const before = receiver.spans.length;
  await measure(variant);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const spans = receiver.spans.slice(before);
  const scopes = [...new Set(spans.map((s) => s.scope))].sort();
  console.log(`${variant.name}: ${spans.length} spans after SIGTERM from ${scopes.join(', ')}`);
}
await receiver.close();
