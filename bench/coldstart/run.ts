/**
 * Cold-start benchmark: spawn → first answered CloudEvent, per telemetry setup, for the
 * bundled echo function. Rounds are interleaved (every variant once per round, so drift in
 * machine load hits all alike); round 0 is a warm-up (page cache, compile cache) and is not
 * counted. Reports min / median / max and RSS after the first answer, then verifies once per
 * variant that the expected spans reach an OTLP receiver after SIGTERM.
 *
 * Usage: node bench/coldstart/run.ts [rounds=11]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HTTP, CloudEvent } from 'cloudevents';
import { startOtlpReceiver } from '../../test/env/otlp-receiver.ts';
import { buildBundles } from './build.ts';
import { interleave, median, table, timeToAnswer, type Start } from './measure.ts';

const rounds = Number(process.argv[2] ?? 11);
const bundles = await buildBundles();
const receiver = await startOtlpReceiver();
const cacheRoot = mkdtempSync(join(tmpdir(), 'sbr-coldstart-'));

const event = new CloudEvent({
  type: 'dev.reconciler.supabase.bench',
  source: '/bench',
  subject: 'namespaces/bench/supabaseprojects/demo',
  data: { hello: 'world' },
});
const message = HTTP.binary(event);

/** POSTs the event; answered when the reply is a 200. */
async function postEvent(name: string, port: number): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port}/`, {
    method: 'POST',
    headers: message.headers as Record<string, string>,
    body: message.body as string,
  });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${name} answered ${res.status}`);
  return true;
}

const variants: Start[] = Object.entries(bundles).flatMap(([name, bundle]) =>
  [false, true].map((compileCache) => {
    const label = compileCache ? `${name}+cache` : name;
    return {
      name: label,
      args: [bundle],
      env: {
        ...process.env,
        FUNCTION_NAME: 'echo',
        LOG_LEVEL: 'warn',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_LOGS_EXPORTER: 'none',
        NODE_COMPILE_CACHE: compileCache ? join(cacheRoot, label) : undefined,
      },
      attempt: (port: number) => postEvent(label, port),
    };
  }),
);

const results = await interleave(variants, rounds);
console.log(`node ${process.version}, ${rounds} counted rounds (+1 warm-up), interleaved`);
process.stdout.write(table(results));
const medians = Object.fromEntries([...results].map(([name, r]) => [name, median(r.ms)]));
for (const suffix of ['', '+cache'])
  console.log(
    `nodesdk/lean${suffix}: ${((medians[`nodesdk${suffix}`] ?? 0) / (medians[`lean${suffix}`] ?? 1)).toFixed(2)}x`,
  );

// Verification: the spans one event produces, flushed by SIGTERM, per variant.
for (const variant of variants.filter((v) => !v.name.endsWith('+cache'))) {
  const before = receiver.spans.length;
  await timeToAnswer(variant);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const spans = receiver.spans.slice(before);
  const scopes = [...new Set(spans.map((s) => s.scope))].sort();
  console.log(`${variant.name}: ${spans.length} spans after SIGTERM from ${scopes.join(', ')}`);
}
await receiver.close();
