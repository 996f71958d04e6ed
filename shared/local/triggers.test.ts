import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CloudEvent } from 'cloudevents';
import { matchesFilter, type TriggerFilter } from './filter.ts';
import { ManifestError, parseManifests, readTopology, routes } from './triggers.ts';

const event = (attributes: Record<string, unknown>): CloudEvent<unknown> =>
  new CloudEvent<unknown>({ type: 'dev.example.thing', source: '/s', ...attributes }, false);

function problemsOf(text: string): readonly string[] {
  try {
    parseManifests([{ text, origin: 'test.yaml' }]);
  } catch (error) {
    assert.ok(error instanceof ManifestError, String(error));
    return error.problems;
  }
  assert.fail('expected a ManifestError');
}

const trigger = (spec: string, name = 't'): string => `
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: ${name} }
spec:
  broker: default
${spec}`;

const SUBSCRIBER = `  subscriber: { ref: { apiVersion: serving.knative.dev/v1, kind: Service, name: fn } }`;

describe('filter.attributes', () => {
  const filter: TriggerFilter = {
    attributes: { type: 'dev.knative.apiserver.resource.add', kind: 'SupabaseProject' },
  };

  test('every listed attribute must be present and exactly equal', () => {
    assert.ok(
      matchesFilter(
        filter,
        event({ type: 'dev.knative.apiserver.resource.add', kind: 'SupabaseProject' }),
      ),
    );
    assert.ok(
      !matchesFilter(
        filter,
        event({ type: 'dev.knative.apiserver.resource.add', kind: 'Deployment' }),
      ),
    );
    assert.ok(
      !matchesFilter(filter, event({ type: 'dev.knative.apiserver.resource.add' })),
      'kind absent',
    );
    assert.ok(
      !matchesFilter(
        filter,
        event({ type: 'dev.knative.apiserver.resource.update', kind: 'SupabaseProject' }),
      ),
    );
    assert.ok(
      !matchesFilter(
        filter,
        event({ type: 'dev.knative.apiserver.resource.add', kind: 'supabaseproject' }),
      ),
      'case-sensitive',
    );
    assert.ok(
      !matchesFilter(
        filter,
        event({ type: 'dev.knative.apiserver.resource.add.x', kind: 'SupabaseProject' }),
      ),
      'no prefix match',
    );
  });

  test('"" means present and non-empty; no attributes match everything', () => {
    const present: TriggerFilter = { attributes: { namespace: '' } };
    assert.ok(matchesFilter(present, event({ namespace: 'team-a' })));
    assert.ok(!matchesFilter(present, event({ namespace: '' })));
    assert.ok(!matchesFilter(present, event({})));
    assert.ok(matchesFilter({ attributes: {} }, event({})));
  });

  test('non-text values compare by their text (structured mode may carry numbers)', () => {
    assert.ok(matchesFilter({ attributes: { generation: '3' } }, event({ generation: 3 })));
    assert.ok(matchesFilter({ attributes: { generation: '3' } }, event({ generation: '3' })));
  });
});

describe('filters (Subscriptions API)', () => {
  const e = event({
    type: 'dev.knative.apiserver.resource.add',
    subject: '/apis/apps/v1/namespaces/a/deployments/x',
    kind: 'Deployment',
  });

  test('exact, prefix, suffix, all, any and not; the list is ANDed', () => {
    const yes = (filters: TriggerFilter): void => {
      assert.ok(matchesFilter(filters, e), JSON.stringify(filters));
    };
    const no = (filters: TriggerFilter): void => {
      assert.ok(!matchesFilter(filters, e), JSON.stringify(filters));
    };
    yes({ filters: [] });
    yes({ filters: [{ exact: { kind: 'Deployment' } }, { prefix: { subject: '/apis/apps/' } }] });
    no({ filters: [{ exact: { kind: 'Deployment' } }, { prefix: { subject: '/apis/batch/' } }] });
    yes({ filters: [{ suffix: { type: '.add' } }] });
    no({ filters: [{ suffix: { missing: 'x' } }] });
    yes({ filters: [{ any: [{ exact: { type: 'nope' } }, { exact: { kind: 'Deployment' } }] }] });
    no({ filters: [{ all: [{ exact: { type: 'nope' } }, { exact: { kind: 'Deployment' } }] }] });
    yes({ filters: [{ not: { exact: { kind: 'SupabaseProject' } } }] });
    no({ filters: [{ not: { prefix: { type: 'dev.knative.' } } }] });
  });

  test('parsed from a manifest, and `filters` wins over `filter`', () => {
    const { triggers } = parseManifests([
      {
        origin: 'x.yaml',
        text: trigger(`  filter: { attributes: { type: nothing } }
  filters:
    - any:
        - exact: { type: dev.knative.apiserver.resource.add }
        - exact: { type: dev.knative.apiserver.resource.update }
    - not: { exact: { kind: SupabaseProject } }
${SUBSCRIBER}`),
      },
    ]);
    assert.equal(routes(triggers, e).length, 1);
    assert.equal(
      routes(
        triggers,
        event({ type: 'dev.knative.apiserver.resource.add', kind: 'SupabaseProject' }),
      ).length,
      0,
    );
  });
});

describe('the manifests of deploy/overlays/knative', () => {
  test('one Broker `default` with the delivery the file documents, and a dead-letter sink', async () => {
    const { brokers } = await readTopology();
    assert.equal(brokers.length, 1);
    const [broker] = brokers;
    assert.equal(broker?.name, 'default');
    assert.deepEqual(broker.delivery, {
      retry: 5,
      backoffPolicy: 'exponential',
      backoffDelayMs: 1000,
      timeoutMs: 60_000,
      deadLetterSink: {
        ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'dead-letter' },
      },
    });
  });

  test('every Trigger: on Broker default, a Knative Service subscriber, no delivery of its own', async () => {
    const { triggers } = await readTopology();
    assert.ok(triggers.length >= 10);
    for (const t of triggers) {
      assert.equal(t.broker, 'default', t.name);
      assert.equal(t.subscriber.ref?.apiVersion, 'serving.knative.dev/v1', t.name);
      assert.equal(t.subscriber.ref.kind, 'Service', t.name);
      assert.equal(t.delivery, undefined, `${t.name} would replace the Broker's retries and sink`);
      assert.ok('attributes' in t.filter && typeof t.filter.attributes.type === 'string', t.name);
    }
  });
});

describe('malformed manifests are refused, saying where and what', () => {
  test('the cesql dialect is not supported by the local broker', () => {
    const [problem] = problemsOf(trigger(`  filters: [{ cesql: "type = 'x'" }]\n${SUBSCRIBER}`));
    assert.match(
      problem ?? '',
      /test\.yaml \(document 1\): Trigger "t" spec\.filters\[0\]\.cesql is not supported by the local broker/,
    );
  });

  test('a filter element with two dialects, or an unknown one', () => {
    assert.match(
      problemsOf(
        trigger(`  filters: [{ exact: { type: a }, prefix: { type: b } }]\n${SUBSCRIBER}`),
      )[0] ?? '',
      /must use exactly one dialect/,
    );
    assert.match(
      problemsOf(trigger(`  filters: [{ regex: { type: a } }]\n${SUBSCRIBER}`))[0] ?? '',
      /unknown dialect "regex"/,
    );
  });

  test('attribute names and values as Knative validates them', () => {
    assert.match(
      problemsOf(trigger(`  filter: { attributes: { Type: x } }\n${SUBSCRIBER}`))[0] ?? '',
      /spec\.filter\.attributes\.Type is not a CloudEvents attribute name/,
    );
    assert.match(
      problemsOf(trigger(`  filter: { attributes: { generation: 3 } }\n${SUBSCRIBER}`))[0] ?? '',
      /spec\.filter\.attributes\.generation must be a string \(quote it in YAML\)/,
    );
  });

  test('a Trigger needs a broker and a subscriber; brokerRef is not supported', () => {
    const problems = problemsOf(`
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: lost }
spec:
  brokerRef: { name: default }
`);
    assert.ok(
      problems.some((p) => p.includes('Trigger "lost" spec.brokerRef is not supported')),
      problems.join('\n'),
    );
    assert.ok(problems.some((p) => p.includes('Trigger "lost" spec.broker is required')));
    assert.ok(problems.some((p) => p.includes('Trigger "lost" spec.subscriber is required')));
  });

  test('delivery fields: retry, policy, durations, unknown fields', () => {
    const problems = problemsOf(`
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default }
spec:
  delivery: { retry: -1 }
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: b2 }
spec:
  delivery: { retry: 2, backoffPolicy: fibonacci }
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: b3 }
spec:
  delivery: { retry: 2, backoffDelay: 500ms, timeout: P1M, retries: 3 }
`);
    const all = problems.join('\n');
    assert.match(
      all,
      /document 1\): Broker "default" spec\.delivery\.retry must be an integer from 0 to 100/,
    );
    assert.match(
      all,
      /document 2\): Broker "b2" spec\.delivery\.backoffPolicy must be exponential or linear/,
    );
    assert.match(
      all,
      /Broker "b3" spec\.delivery\.backoffDelay must be an ISO-8601 duration such as PT0\.5S/,
    );
    assert.match(all, /Broker "b3" spec\.delivery\.timeout must be an ISO-8601 duration/);
    assert.match(all, /Broker "b3" spec\.delivery\.retries is not a delivery field/);
  });

  test('another eventing version, duplicated names, YAML errors', () => {
    assert.match(
      problemsOf(
        'apiVersion: eventing.knative.dev/v1beta1\nkind: Trigger\nmetadata: { name: x }\n',
      )[0] ?? '',
      /apiVersion is eventing\.knative\.dev\/v1beta1; write Trigger as eventing\.knative\.dev\/v1/,
    );
    assert.match(
      problemsOf(`${trigger(SUBSCRIBER, 'same')}\n---\n${trigger(SUBSCRIBER, 'same')}`)[0] ?? '',
      /Trigger "same" is declared twice/,
    );
    assert.match(
      problemsOf('kind: [unclosed')[0] ?? '',
      /test\.yaml \(document 1\) is not valid YAML/,
    );
  });

  test('other objects and comment-only documents are skipped', () => {
    const topology = parseManifests([
      {
        origin: 'mixed.yaml',
        text: `# only a comment
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: { name: fn }
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: tick }
${trigger(SUBSCRIBER).replace(/^\n/, '---\n')}`,
      },
    ]);
    assert.equal(topology.brokers.length, 0);
    assert.equal(topology.triggers.length, 1);
    assert.deepEqual(topology.triggers[0]?.filter, { attributes: {} });
  });
});
