/**
 * End to end, what an operator sees in Jaeger: the local runtime (`npm start`'s) exports its
 * spans over OTLP/HTTP to a real Jaeger (built from its Go module, on loopback) while it
 * reconciles a project to Running; Jaeger's query API then finds, by the trace id in
 * status.lastTraceId, one trace holding every phase's span, each phase a descendant of the one
 * before, every parent present, under the configured service name.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CHAIN_EVENT } from '../../shared/events/types.ts';
import type { RecordedSpan } from '../../shared/telemetry/span-store.ts';
import { freshNamespace } from '../env/index.ts';
import { startJaeger, type JaegerEnvironment, type JaegerTrace } from '../env/jaeger.ts';
import { projectOnTestServers } from '../fixtures/chain.ts';
import { startTestRuntime, type TestRuntime } from '../fixtures/local-runtime.ts';
import { installProjectCrd } from '../fixtures/project.ts';
import { waitForProject } from './support.ts';

/** The service name the runtime is told to report (the default is `supabase-reconciler`). */
const SERVICE_NAME = 'sbr-jaeger-e2e';

/** The event each phase of a creation handles, in chain order: one `process <type>` span each. */
const PHASE_EVENTS = [
  'dev.knative.apiserver.resource.add',
  CHAIN_EVENT.dependenciesValidated,
  CHAIN_EVENT.databaseInitialized,
  CHAIN_EVENT.secretsReady,
  CHAIN_EVENT.componentsDeployed,
];

let jaeger: JaegerEnvironment | undefined;
let local: TestRuntime | undefined;
let namespace: string;

before(async () => {
  await installProjectCrd();
  jaeger = await startJaeger();
  namespace = await freshNamespace('e2e-jaeger');
  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: SERVICE_NAME,
    // Jaeger receives traces only; the metrics stay on /metrics.
    OTEL_METRICS_EXPORTER: 'none',
  };
  // The OTLP exporters read their endpoint from the process environment, as in a pod.
  Object.assign(process.env, env);
  local = await startTestRuntime([namespace], env);
});

after(async () => {
  await local?.stop();
  await jaeger?.stop();
});

/** Polls `probe` until it returns a value, or throws `describe()` after `timeoutMs`. */
async function eventually<T>(
  probe: () => Promise<T | undefined>,
  describe: () => string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${describe()} (waited ${timeoutMs} ms)`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

test('one reconciliation is one trace in Jaeger, found by status.lastTraceId', async () => {
  assert.ok(jaeger && local);
  await projectOnTestServers(namespace, 'e2e_jaeger');
  const running = await waitForProject(namespace, 'demo', (p) => p.status?.phase === 'Running');
  const traceId = running.status?.lastTraceId;
  assert.ok(traceId, 'status.lastTraceId is set');

  // health-aggregate wrote Running inside its handler; its span ends once it has answered.
  const recorded = await eventually<RecordedSpan[]>(
    async () => {
      const spans = await local!.spans(traceId);
      return spans.some((s) => s.name === `process ${CHAIN_EVENT.componentsDeployed}`)
        ? spans
        : undefined;
    },
    () => `health-aggregate's span of trace ${traceId} was not recorded`,
  );
  await local.runtime.telemetry.flush();

  // Jaeger stores what it received after its batch processor's timeout: poll until it holds
  // every span the runtime recorded for the trace (the two see the same finished spans).
  const lastSeen: { trace?: JaegerTrace } = {};
  const inJaeger = await eventually(
    async () => {
      const found = await jaeger!.trace(traceId);
      if (found) lastSeen.trace = found;
      const ids = new Set(found?.spans.map((s) => s.spanID));
      return found && recorded.every((s) => ids.has(s.spanId)) ? found : undefined;
    },
    () =>
      `Jaeger did not return the ${recorded.length} recorded spans of trace ${traceId}; it has: ` +
      (lastSeen.trace?.spans.map((s) => s.operationName).join(', ') ?? 'no such trace (404)'),
  );

  // One trace: the one status names, and nothing else in it.
  assert.equal(inJaeger.traceID, traceId);
  assert.ok(inJaeger.spans.every((s) => s.traceID === traceId));

  // Every phase's span is in it.
  const names = inJaeger.spans.map((s) => s.operationName);
  const phaseSpans = PHASE_EVENTS.map((type) => {
    const matching = inJaeger.spans.filter((s) => s.operationName === `process ${type}`);
    assert.equal(matching.length, 1, `one span 'process ${type}' in ${names.join(', ')}`);
    return matching[0]!;
  });

  // Parent and child consistent: each span's parent is in the trace, and one span is the root.
  const byId = new Map(inJaeger.spans.map((s) => [s.spanID, s]));
  const parentOf = (spanId: string): string | undefined =>
    byId.get(spanId)?.references.find((r) => r.refType === 'CHILD_OF')?.spanID;
  const roots = inJaeger.spans.filter((s) => parentOf(s.spanID) === undefined);
  assert.equal(roots.length, 1, `one root, not ${roots.map((s) => s.operationName).join(', ')}`);
  for (const span of inJaeger.spans) {
    const parent = parentOf(span.spanID);
    if (parent !== undefined) {
      assert.ok(
        byId.has(parent),
        `the parent ${parent} of '${span.operationName}' is in the trace`,
      );
    }
  }
  // ...and the chain is a chain: each phase descends from the phase that replied to it.
  const ancestors = (spanId: string): Set<string> => {
    const seen = new Set<string>();
    for (let id = parentOf(spanId); id !== undefined && !seen.has(id); id = parentOf(id)) {
      seen.add(id);
    }
    return seen;
  };
  for (let i = 1; i < phaseSpans.length; i++) {
    assert.ok(
      ancestors(phaseSpans[i]!.spanID).has(phaseSpans[i - 1]!.spanID),
      `'${phaseSpans[i]!.operationName}' descends from '${phaseSpans[i - 1]!.operationName}'`,
    );
  }

  // Reported under the service name configured by OTEL_SERVICE_NAME.
  const services = new Set(Object.values(inJaeger.processes).map((p) => p.serviceName));
  assert.deepEqual([...services], [SERVICE_NAME]);
});
