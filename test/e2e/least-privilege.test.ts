/**
 * Least privilege, proven. The local runtime (every function, as `npm start` runs them) takes
 * projects through their life on the test servers: created (one with deletionPolicy Delete and
 * an Ingress, one with Retain), updated (Studio and the Ingress turned off: deploy-components
 * deletes their objects), a resync tick, a dead letter, deleted (finalize). Each function's
 * requests carry the User-Agent `supabase-reconciler/<function>`; the API server's audit log is
 * the record of what each function called (verb, group, resource, subresource, scope).
 *
 * Then the RBAC of deploy/ (rendered by `kubectl kustomize`, applied as `kubectl apply -k`
 * would) is put into the same API server, deploy/namespace-access applied in one project
 * namespace and not in another, and SubjectAccessReviews of each function's ServiceAccount show:
 * every recorded call is allowed; Secrets (and every namespaced object) outside a namespace
 * with the binding, cluster-wide Secret access, other functions' calls and a list of unrelated
 * powers are denied; and no role grants a permission that no recorded call needs.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { FUNCTIONS } from '../../functions/index.ts';
import { freshBucket, freshDatabase, freshNamespace, kubeConnection } from '../env/index.ts';
import { kubectl } from '../env/deploy-tools.ts';
import { eventFixture } from '../fixtures/events.ts';
import { startTestRuntime, type TestRuntime } from '../fixtures/local-runtime.ts';
import {
  createProject,
  createSecret,
  testDatabaseSecret,
  testStorageSecret,
  installProjectCrd,
  patchProject,
} from '../fixtures/project.ts';
import {
  callKey,
  describeAccess,
  grantsOf,
  mayServiceAccount,
  readRecordedCalls,
  type Access,
  type Call,
  type Manifest,
  type RecordedCalls,
} from './least-privilege-support.ts';
import { isRunningAndReady, readProject, waitFor, waitForProject } from './support.ts';

/** The namespace deploy/base installs into; every ServiceAccount lives there. */
const HOME = 'supabase-reconciler';
const FUNCTION_NAMES = FUNCTIONS.map((fn) => fn.name);
const RBAC_KINDS = new Set([
  'Namespace',
  'ServiceAccount',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
]);

/** The functions that record Events: their index.ts builds a kubeEventRecorder (checked below). */
const EVENT_RECORDERS = [
  'validate-deps',
  'init-db',
  'secrets',
  'deploy-components',
  'health-aggregate',
  'finalize',
  'dead-letter',
];

/**
 * Calls the code makes on paths this scenario does not reach, each with where and why. They
 * count as used when the check for unused permissions runs; each is still proven allowed.
 * Keep this list short: a path that can be driven belongs in the scenario instead.
 */
const NOT_REACHED: readonly (Call & { readonly fns: readonly string[]; readonly why: string })[] = [
  ...(['create', 'get', 'patch'] as const).map((verb) => ({
    verb,
    group: '',
    resource: 'events',
    scope: 'namespace' as const,
    fns: EVENT_RECORDERS,
    why: 'shared/reconcile/transition-events.ts and shared/k8s/events.ts: an Event per condition transition (create); the same transition again within the hour raises its count (get, then merge patch). Transitions to unhealthy are failures, which this scenario has few of',
  })),
  {
    verb: 'update',
    group: '',
    resource: 'secrets',
    scope: 'namespace',
    fns: ['secrets'],
    why: 'functions/secrets: a generated Secret that lost or changed a key is completed or replaced (resourceVersion precondition)',
  },
];

let bound: string;
let unbound: string;
let local: TestRuntime;
let recorded: RecordedCalls;
let manifests: Manifest[];

/** The projects' Secrets, on the test PostgreSQL (a database each) and S3 (a bucket each). */
async function projectSecrets(namespace: string, name: string): Promise<void> {
  await createSecret(
    namespace,
    `${name}-db`,
    testDatabaseSecret((await freshDatabase(`rbac_${name}`)).database),
  );
  await createSecret(namespace, `${name}-s3`, testStorageSecret(await freshBucket(`rbac-${name}`)));
}

async function waitUntilGone(namespace: string, name: string): Promise<void> {
  await waitFor(
    `${namespace}/${name} deleted`,
    async () => (await readProject(namespace, name)) === undefined,
    60_000,
  );
}

/** Drives the chain through every function and reads what each called. */
async function recordCalls(): Promise<RecordedCalls> {
  const auditLogPath = kubeConnection().auditLogPath;
  assert.ok(auditLogPath, 'the test API server was started without an audit log (global setup)');
  await installProjectCrd();
  bound = await freshNamespace('rbac-bound');
  const since = new Date(Date.now() - 1000);
  local = await startTestRuntime([bound]);

  await projectSecrets(bound, 'demo');
  await projectSecrets(bound, 'keep');
  await createProject(bound, {
    name: 'demo',
    spec: {
      database: { secretRef: { name: 'demo-db' }, sslMode: 'disable', deletionPolicy: 'Delete' },
      ingress: { enabled: true, host: 'demo.rbac.test' },
    },
  });
  await createProject(bound, {
    name: 'keep',
    spec: {
      database: { secretRef: { name: 'keep-db' }, sslMode: 'disable', deletionPolicy: 'Retain' },
    },
  });
  await waitForProject(bound, 'demo', isRunningAndReady, 120_000);
  await waitForProject(bound, 'keep', isRunningAndReady, 120_000);

  // An update that turns components off: deploy-components deletes what they had.
  await patchProject(bound, 'demo', {
    spec: { studio: { enabled: false }, ingress: { enabled: false } },
  });
  const updated = await waitForProject(
    bound,
    'demo',
    (p) => (p.metadata.generation ?? 1) === 2 && isRunningAndReady(p),
    120_000,
  );

  // A dead letter about it, as the Broker posts it to the sink.
  const letter = eventFixture('dead-letter-chain');
  const answer = await fetch(`${local.runtime.url}/dead-letter/`, {
    method: 'POST',
    headers: {
      ...letter.headers,
      'ce-subject': `namespaces/${bound}/supabaseprojects/demo`,
      'ce-projectuid': updated.metadata.uid,
      'ce-generation': String(updated.metadata.generation ?? 1),
    },
    body: letter.body,
  });
  assert.ok(answer.ok, `dead-letter answered ${answer.status}: ${await answer.text()}`);

  // A resync tick, as the PingSource posts it to the Broker.
  const tick = eventFixture('pingsource-tick');
  const posted = await fetch(local.runtime.brokerUrl, {
    method: 'POST',
    headers: { ...tick.headers, 'ce-id': randomUUID() },
    body: tick.body,
  });
  assert.ok(posted.ok, `the broker answered the tick ${posted.status}`);
  await waitFor(
    'the resync tick handled',
    () => Promise.resolve(local.lines.some((l) => l.includes(' resync '))),
    30_000,
  );

  await kubeDelete(bound, 'demo');
  await kubeDelete(bound, 'keep');
  await waitUntilGone(bound, 'demo');
  await waitUntilGone(bound, 'keep');
  await local.stop();
  return readRecordedCalls(auditLogPath, FUNCTION_NAMES, since, [bound]);
}

async function kubeDelete(namespace: string, name: string): Promise<void> {
  await kubectl(['delete', 'supabaseproject', name, '-n', namespace, '--wait=false']);
}

/** The RBAC objects of both overlays, applied; namespace-access applied in `bound` only. */
async function applyRbac(): Promise<Manifest[]> {
  const objects: Manifest[] = [];
  for (const overlay of ['deploy/overlays/knative', 'deploy/overlays/standalone']) {
    const { stdout } = await kubectl(['kustomize', overlay]);
    for (const document of parseAllDocuments(stdout)) {
      const object = document.toJS() as Manifest | null;
      if (object?.kind && RBAC_KINDS.has(object.kind)) objects.push(object);
      // The Knative Services run as their function's ServiceAccount.
      if (object?.kind === 'Service' && object.apiVersion === 'serving.knative.dev/v1') {
        const spec = object.spec as { template?: { spec?: { serviceAccountName?: string } } };
        assert.equal(spec.template?.spec?.serviceAccountName, object.metadata?.name);
      }
    }
  }
  const yaml = objects.map((o) => JSON.stringify(o)).join('\n---\n');
  await kubectl(
    ['apply', '--server-side', '--field-manager=least-privilege-test', '-f', '-'],
    yaml,
  );
  // The per-namespace step exactly as the README says.
  await kubectl(['apply', '-k', 'deploy/namespace-access', '-n', bound]);
  const { stdout } = await kubectl(['kustomize', 'deploy/namespace-access']);
  for (const document of parseAllDocuments(stdout)) {
    const object = document.toJS() as Manifest | null;
    if (object) objects.push({ ...object, metadata: { ...object.metadata, namespace: bound } });
  }
  return objects;
}

/** The scenario runs on a loaded 2-core machine with the other end-to-end files. */
const SCENARIO_TIMEOUT_MS = 480_000;

before(
  async () => {
    recorded = await recordCalls();
    unbound = await freshNamespace('rbac-unbound');
    manifests = await applyRbac();
  },
  { timeout: SCENARIO_TIMEOUT_MS },
);

after(async () => {
  await local.stop();
});

/** Every recorded call of every function, by key. */
function allRecorded(): Map<string, Call> {
  const all = new Map<string, Call>();
  for (const calls of recorded.calls.values()) for (const [k, c] of calls) all.set(k, c);
  return all;
}

/** A recorded call as the access to review: namespaced calls in `namespace`. */
function accessOf(call: Call, namespace: string): Access {
  return { ...call, namespace: call.scope === 'namespace' ? namespace : undefined };
}

/** Powers no function uses, denied to every ServiceAccount of the reconciler. */
function unrelated(namespace: string): Access[] {
  return [
    { verb: 'list', group: '', resource: 'secrets' },
    { verb: 'get', group: '', resource: 'secrets', namespace: unbound },
    { verb: 'list', group: '', resource: 'secrets', namespace },
    { verb: 'watch', group: '', resource: 'secrets', namespace },
    { verb: 'delete', group: '', resource: 'secrets', namespace },
    { verb: 'get', group: '', resource: 'secrets', namespace: 'kube-system' },
    { verb: 'delete', group: 'supabase.reconciler.dev', resource: 'supabaseprojects', namespace },
    { verb: 'create', group: 'supabase.reconciler.dev', resource: 'supabaseprojects', namespace },
    { verb: 'update', group: 'supabase.reconciler.dev', resource: 'supabaseprojects', namespace },
    { verb: 'create', group: '', resource: 'pods/exec', namespace },
    { verb: 'create', group: '', resource: 'pods', namespace },
    { verb: 'get', group: '', resource: 'nodes' },
    { verb: 'create', group: '', resource: 'serviceaccounts/token', namespace: HOME },
    { verb: 'create', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
    { verb: 'get', group: 'example.com', resource: 'widgets', namespace },
    { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'rolebindings', namespace },
    { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' },
    { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
    { verb: 'impersonate', group: '', resource: 'serviceaccounts' },
  ];
}

/** The accesses of `accesses` that `account` is refused / allowed contrary to `expected`. */
async function wrong(
  account: { namespace: string; name: string },
  accesses: readonly Access[],
  expected: boolean,
): Promise<string[]> {
  const answers = await Promise.all(
    accesses.map(async (a) => ((await mayServiceAccount(account, a)) === expected ? [] : [a])),
  );
  return answers.flat().map(describeAccess);
}

test('each function is recorded: its calls, by User-Agent, in the audit log', (t) => {
  const table = FUNCTION_NAMES.map((fn) => {
    const calls = [...(recorded.calls.get(fn)?.keys() ?? [])].sort();
    return `${fn}:\n  ${calls.join('\n  ')}`;
  });
  t.diagnostic(`recorded calls:\n${table.join('\n')}`);
  for (const fn of FUNCTION_NAMES) {
    assert.ok((recorded.calls.get(fn)?.size ?? 0) > 0, `no request of ${fn} in the audit log`);
  }
  // The Event allowance (NOT_REACHED) holds for exactly the functions that record Events.
  for (const fn of FUNCTION_NAMES) {
    const wiring = readFileSync(new URL(`../../functions/${fn}/index.ts`, import.meta.url), 'utf8');
    assert.equal(wiring.includes('kubeEventRecorder('), EVENT_RECORDERS.includes(fn), fn);
  }
  // The scenario reached the paths it was built for.
  const has = (fn: string, key: string) => {
    assert.ok(recorded.calls.get(fn)?.has(key), `${fn}: ${key} not recorded`);
  };
  has('resync', 'list supabase.reconciler.dev/supabaseprojects (cluster)');
  has('validate-deps', 'patch supabase.reconciler.dev/supabaseprojects (namespace)');
  has('finalize', 'patch supabase.reconciler.dev/supabaseprojects (namespace)');
  has('deploy-components', 'delete networking.k8s.io/ingresses (namespace)');
  has('deploy-components', 'create apps/deployments (namespace)');
  has('dead-letter', 'update supabase.reconciler.dev/supabaseprojects/status (namespace)');
  has('health-aggregate', 'list apps/deployments (namespace)');
});

describe('each function, as its ServiceAccount', () => {
  for (const fn of FUNCTION_NAMES) {
    describe(fn, () => {
      const account = { namespace: HOME, name: fn };
      const own = () => [...(recorded.calls.get(fn)?.values() ?? [])];

      test('every recorded call is allowed in a namespace with deploy/namespace-access', async () => {
        const refused = await wrong(
          account,
          own().map((c) => accessOf(c, bound)),
          true,
        );
        assert.deepEqual(refused, [], `${fn} may not make calls it makes`);
        // Discovery documents (the object client's) are every account's by default bindings.
        const paths = [...(recorded.nonResource.get(fn) ?? [])].map((line) => {
          const [verb = '', path = ''] = line.split(' ');
          return { verb, path };
        });
        assert.deepEqual(await wrong(account, paths, true), []);
      });

      test('the same calls are denied in a namespace without it (SupabaseProjects aside)', async () => {
        const namespaced = own().filter(
          (c) => c.scope === 'namespace' && c.group !== 'supabase.reconciler.dev',
        );
        const allowed = await wrong(
          account,
          namespaced.map((c) => accessOf(c, unbound)),
          false,
        );
        assert.deepEqual(allowed, [], `${fn} may act in a namespace without the binding`);
      });

      test("other functions' calls and unrelated powers are denied", async () => {
        const mine = new Set(own().map(callKey));
        for (const entry of NOT_REACHED) if (entry.fns.includes(fn)) mine.add(callKey(entry));
        const others = [...allRecorded().values()].filter((c) => !mine.has(callKey(c)));
        const allowed = await wrong(
          account,
          [...others.map((c) => accessOf(c, bound)), ...unrelated(bound)],
          false,
        );
        assert.deepEqual(allowed, [], `${fn} may do what it never does`);
      });

      test('its roles grant nothing that no recorded call needs', async () => {
        const used = new Set(own().map(callKey));
        const notReached = NOT_REACHED.filter((e) => e.fns.includes(fn));
        for (const entry of notReached) {
          assert.ok(
            await mayServiceAccount(account, accessOf(entry, bound)),
            `${fn}: ${callKey(entry)} (${entry.why})`,
          );
        }
        const excess: string[] = [];
        for (const grant of grantsOf(manifests, account)) {
          if (grant.unusual) excess.push(`${grant.via} grants ${grant.unusual}`);
          // A cluster-wide grant serves namespaced calls too; a namespaced one only those.
          const scopes = grant.scope === 'cluster' ? ['cluster', 'namespace'] : ['namespace'];
          const needed = scopes.some((scope) => {
            const key = callKey({ ...grant, scope: scope as Call['scope'] });
            return used.has(key) || notReached.some((e) => callKey(e) === key);
          });
          if (!needed)
            excess.push(
              `${grant.via} grants ${grant.verb} ${grant.group || 'core'}/${grant.resource}, which no recorded call of ${fn} needs`,
            );
          // Nothing but SupabaseProjects is granted across namespaces (Secrets above all).
          if (grant.scope === 'cluster' && grant.group !== 'supabase.reconciler.dev')
            excess.push(`${grant.via} grants ${grant.verb} ${grant.resource} in every namespace`);
        }
        assert.deepEqual(excess, []);
      });
    });
  }
});

describe('the shared identities', () => {
  test('apiserversource may get, list and watch what the ApiServerSources watch, nothing else', async () => {
    const account = { namespace: HOME, name: 'apiserversource' };
    const watched = [
      { group: 'supabase.reconciler.dev', resource: 'supabaseprojects' },
      { group: 'apps', resource: 'deployments' },
    ];
    const reads = watched.flatMap((w) => ['get', 'list', 'watch'].map((verb) => ({ ...w, verb })));
    assert.deepEqual(await wrong(account, reads, true), []);
    const writes = [
      ...watched.flatMap((w) =>
        ['create', 'update', 'patch', 'delete'].map((verb) => ({ ...w, verb, namespace: bound })),
      ),
      { verb: 'update', group: 'supabase.reconciler.dev', resource: 'supabaseprojects/status' },
    ];
    assert.deepEqual(await wrong(account, [...writes, ...unrelated(bound)], false), []);
    const granted = grantsOf(manifests, account).map((g) => `${g.verb} ${g.group}/${g.resource}`);
    assert.deepEqual(granted.sort(), reads.map((r) => `${r.verb} ${r.group}/${r.resource}`).sort());
  });

  test("standalone's supabase-reconciler may make every function's and the sources' calls, no more", async () => {
    const account = { namespace: HOME, name: 'supabase-reconciler' };
    const every = [...allRecorded().values()].map((c) => accessOf(c, bound));
    const sources = ['get', 'list', 'watch'].flatMap((verb) => [
      { verb, group: 'supabase.reconciler.dev', resource: 'supabaseprojects' },
      { verb, group: 'apps', resource: 'deployments' },
    ]);
    assert.deepEqual(await wrong(account, [...every, ...sources], true), []);
    // Deployments are the sources' to read in every namespace.
    const namespaced = every.filter(
      (c) =>
        'resource' in c &&
        c.namespace &&
        c.group !== 'supabase.reconciler.dev' &&
        !(c.resource === 'deployments' && ['get', 'list', 'watch'].includes(c.verb)),
    );
    const elsewhere = namespaced.map((c) => ({ ...c, namespace: unbound }));
    assert.deepEqual(await wrong(account, [...elsewhere, ...unrelated(bound)], false), []);
  });
});
