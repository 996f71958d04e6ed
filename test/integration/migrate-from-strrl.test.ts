/**
 * `supabase-reconciler migrate-from-strrl` against the real kube-apiserver with the reference
 * operator's CRD installed (test/fixtures/strrl-crd.ts, from the reference facts §1) and
 * reference projects as its webhook stores them (every component object present with its
 * default image): a clear refusal while that CRD is absent; the dry run prints manifests
 * (valid YAML) with what carries over, changes, is dropped and blocks, checks them with the
 * API server and creates nothing; --apply creates them with the adoption annotation and the
 * carried fields, a second --apply changes nothing, --namespace filters, a blocked project is
 * reported and not applied, and a project of ours made by someone else is left alone.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import {
  ADOPT_FROM_REFERENCE_OPERATOR,
  ADOPT_JWT_SECRET_ANNOTATION,
} from '../../shared/api/reference-operator.ts';
import {
  API_GROUP,
  API_VERSION,
  PLURAL,
  supabaseProjectCrd,
  type SupabaseProject,
} from '../../shared/api/index.ts';
import { runCli } from '../../shared/local/cli.ts';
import { MIGRATE_FIELD_MANAGER } from '../../shared/migrate/command.ts';
import { applyCrd, freshNamespace, kube, kubeConnection } from '../env/index.ts';
import { acquireClusterLock } from '../env/cluster-lock.ts';
import { STRRL_CRD_LOCK, strrlCrd } from '../fixtures/strrl-crd.ts';

const ours = { group: API_GROUP, version: API_VERSION, plural: PLURAL } as const;
const reference = { group: 'supabase.strrl.dev', version: 'v1alpha1', plural: 'supabaseprojects' };

/** Every component object, as the reference operator's webhook writes it (facts §7). */
const WEBHOOK_COMPONENTS = {
  kong: { image: 'kong/kong:3.9.1' },
  auth: { image: 'supabase/gotrue:v2.189.0' },
  realtime: { image: 'supabase/realtime:v2.102.3' },
  postgrest: { image: 'postgrest/postgrest:v14.12' },
  storageApi: { image: 'supabase/storage-api:v1.60.4' },
  meta: { image: 'supabase/postgres-meta:v0.96.6' },
  studio: { image: 'supabase/studio:2026.07.07-sha-a6a04f2' },
};

function strrlProject(name: string, spec: Record<string, unknown>) {
  return {
    apiVersion: 'supabase.strrl.dev/v1alpha1',
    kind: 'SupabaseProject',
    metadata: { name, labels: { team: 'web' } },
    spec: {
      projectId: name,
      database: { secretRef: { name: `${name}-db` } },
      storage: { secretRef: { name: `${name}-s3` } },
      ...WEBHOOK_COMPONENTS,
      ...spec,
    },
  };
}

async function createStrrl(namespace: string, body: ReturnType<typeof strrlProject>) {
  return (await kube().customObjects.createNamespacedCustomObject({
    ...reference,
    namespace,
    body,
  })) as { metadata: { uid: string; name: string } };
}

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(
    [],
    ['migrate-from-strrl', '--kubeconfig', kubeConnection().kubeconfigPath, ...args],
    {
      env: {},
      out: (text) => (out += text),
      err: (text) => (err += text),
      stopRequested: new Promise(() => undefined),
    },
  );
  return { code, out, err };
}

/** The manifests of the output, by `<namespace>/<name>`. */
function manifests(out: string): Map<string, SupabaseProject> {
  const found = new Map<string, SupabaseProject>();
  for (const document of parseAllDocuments(out)) {
    assert.equal(document.errors.length, 0, 'the output is valid YAML');
    const value = document.toJS() as SupabaseProject | null;
    if (value) found.set(`${value.metadata.namespace ?? ''}/${value.metadata.name}`, value);
  }
  return found;
}

async function listOurs(namespace: string): Promise<SupabaseProject[]> {
  const list = (await kube().customObjects.listNamespacedCustomObject({
    ...ours,
    namespace,
  })) as { items: SupabaseProject[] };
  return list.items;
}

async function waitForCrdGone(name: string): Promise<void> {
  const { apiExtensions } = kube();
  try {
    await apiExtensions.deleteCustomResourceDefinition({ name });
  } catch {
    return; // not installed
  }
  for (;;) {
    try {
      await apiExtensions.readCustomResourceDefinition({ name });
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('supabase-reconciler migrate-from-strrl', () => {
  let a: string;
  let b: string;
  let blocked: string;

  test('refuses clearly when the reference CRD is not installed', async () => {
    // Without the CRD, every reference project of the cluster goes, and with them what they
    // own: secrets-adoption's test holds the CRD installed while it runs.
    const release = await acquireClusterLock(STRRL_CRD_LOCK);
    let answer;
    try {
      await waitForCrdGone(strrlCrd.metadata.name);
      answer = await cli();
    } finally {
      await applyCrd(strrlCrd);
      await release();
    }
    const { code, out, err } = answer;
    assert.equal(code, 1);
    assert.equal(out, '');
    assert.equal(
      err,
      "supabase-reconciler: the CRD supabaseprojects.supabase.strrl.dev is not installed on this cluster, so there are no STRRL/supabase-operator projects to migrate (check the kubeconfig's cluster)\n",
    );
  });

  describe('with the reference CRD and projects', () => {
    before(async () => {
      await applyCrd(supabaseProjectCrd());
      await applyCrd(strrlCrd);
      a = await freshNamespace('strrl-a');
      b = await freshNamespace('strrl-b');
      blocked = await freshNamespace('strrl-blocked');
      const demo = await createStrrl(a, strrlProject('demo', {}));
      await createStrrl(
        a,
        strrlProject('custom', {
          storage: { secretRef: { name: 'custom-s3', namespace: 'shared' } },
          kong: {
            image: 'kong/kong:3.9.0',
            resources: {
              limits: { cpu: '1', memory: '2Gi' },
              requests: { cpu: '500m', memory: '1Gi' },
              claims: [{ name: 'gpu' }],
            },
          },
          realtime: { image: 'supabase/realtime:v2.102.3', replicas: 0 },
          auth: {
            image: 'supabase/gotrue:v2.189.0',
            smtpSecretRef: { name: 'custom-smtp' },
            extraEnv: [
              { name: 'GOTRUE_JWT_SECRET', value: 'x' },
              { name: 'GOTRUE_EXTERNAL_GITHUB_ENABLED', value: 'false' },
              { name: 'GOTRUE_EXTERNAL_GITHUB_ENABLED', value: 'true' },
            ],
          },
          studio: {
            image: 'supabase/studio:2026.07.07-sha-a6a04f2',
            publicUrl: 'https://supabase.example.com',
            dashboardBasicAuthSecretRef: { name: 'custom-dashboard', namespace: a },
          },
          ingress: { enabled: false, host: 'supabase.example.com' },
        }),
      );
      await createStrrl(b, strrlProject('other', {}));
      await createStrrl(blocked, strrlProject('x'.repeat(64).replace(/^x/, 'p'), {}));
      // The reference operator's Kong Deployment of demo, owned by its project.
      await kube().apps.createNamespacedDeployment({
        namespace: a,
        body: {
          metadata: {
            name: 'demo-kong',
            labels: { 'app.kubernetes.io/managed-by': 'supabase-operator' },
            ownerReferences: [
              {
                apiVersion: 'supabase.strrl.dev/v1alpha1',
                kind: 'SupabaseProject',
                name: 'demo',
                uid: demo.metadata.uid,
                controller: true,
              },
            ],
          },
          spec: {
            selector: { matchLabels: { app: 'kong' } },
            template: {
              metadata: { labels: { app: 'kong' } },
              spec: { containers: [{ name: 'kong', image: 'kong/kong:3.9.1' }] },
            },
          },
        },
      });
    });

    test('the dry run prints the manifests and what happens to each field, and creates nothing', async () => {
      const { code, out, err } = await cli('--namespace', a);
      assert.equal(err, '');
      assert.equal(code, 0, out);
      assert.match(
        out,
        /^# supabase-reconciler migrate-from-strrl \(dry run: nothing is changed; --apply applies\): 2 supabase\.strrl\.dev\/v1alpha1 SupabaseProjects in namespace strrl-a-/,
      );
      const found = manifests(out);
      assert.deepEqual([...found.keys()].sort(), [`${a}/custom`, `${a}/demo`]);
      assert.deepEqual(found.get(`${a}/demo`), {
        apiVersion: 'supabase.reconciler.dev/v1alpha1',
        kind: 'SupabaseProject',
        metadata: {
          name: 'demo',
          namespace: a,
          labels: { team: 'web' },
          annotations: { [ADOPT_JWT_SECRET_ANNOTATION]: ADOPT_FROM_REFERENCE_OPERATOR },
        },
        spec: {
          projectId: 'demo',
          database: { secretRef: { name: 'demo-db' }, sslMode: 'require', maxConnections: 20 },
          storage: { secretRef: { name: 'demo-s3' }, forcePathStyle: true },
          kong: { replicas: 1 },
          auth: { replicas: 1 },
          realtime: { replicas: 1 },
          postgrest: { replicas: 1 },
          storageApi: { replicas: 1 },
          meta: { replicas: 1 },
          studio: { replicas: 1 },
        },
      });
      const custom = found.get(`${a}/custom`);
      assert.ok(custom);
      assert.deepEqual(custom.spec.storage, {
        secretRef: { name: 'custom-s3' },
        forcePathStyle: true,
      });
      assert.deepEqual(custom.spec.kong, {
        image: 'kong/kong:3.9.0',
        replicas: 1,
        resources: {
          limits: { cpu: '1', memory: '2Gi' },
          requests: { cpu: '500m', memory: '1Gi' },
        },
      });
      assert.equal(custom.spec.realtime?.replicas, 1);
      assert.deepEqual(custom.spec.auth?.extraEnv, [
        { name: 'GOTRUE_EXTERNAL_GITHUB_ENABLED', value: 'true' },
      ]);
      assert.deepEqual(custom.spec.auth.smtpSecretRef, { name: 'custom-smtp' });
      assert.deepEqual(custom.spec.studio?.dashboardBasicAuthSecretRef, {
        name: 'custom-dashboard',
        namespace: a,
      });
      assert.deepEqual(custom.spec.ingress, { enabled: false, host: 'supabase.example.com' });

      for (const line of [
        '#   carried: spec.projectId, spec.database.secretRef, spec.database.sslMode, spec.storage.secretRef, spec.storage.forcePathStyle, spec.kong.replicas,',
        '#   dropped: spec.kong.image: "kong/kong:3.9.1" is the reference operator\'s default, which its webhook writes into every object; left unset, kong runs this reconciler\'s default (kong/kong:3.9.1) and follows its upgrades',
        `#   dropped: spec.storage.secretRef.namespace: "shared" is not the project's namespace: Secrets are read only from "${a}"`,
        '#   dropped: spec.kong.resources.claims: resource claims (dynamic resource allocation) are not part of this API',
        '#   changed: spec.realtime.replicas: 0 becomes 1: the reference operator runs 1 pod for 0',
        '#   dropped: spec.auth.extraEnv[0] (GOTRUE_JWT_SECRET): the reconciler sets GOTRUE_JWT_SECRET for auth itself',
        '#   dropped: spec.auth.extraEnv (GOTRUE_EXTERNAL_GITHUB_ENABLED): set more than once; the last entry is kept',
        '#   changed: spec.auth.smtpSecretRef: the reference operator ignored it',
        '#   changed: spec.database.maxConnections: carried; the reference operator ignored it',
        '#   changed: spec.studio.dashboardBasicAuthSecretRef: unset: the reference operator protected the dashboard with its fixed, published default credentials; here they are generated into the Secret demo-dashboard-basic-auth',
        `#   changed: metadata.annotations["${ADOPT_JWT_SECRET_ANNOTATION}"]: set to "strrl": the reconciler adopts the Secret demo-jwt the reference operator made`,
        '#   check: the API server accepts it (server-side dry run); --apply creates it',
        `#   in the way: the reference operator's deployment/demo-kong have the names of this reconciler's objects`,
        `#     kubectl -n ${a} delete deployment/demo-kong`,
        '# ready to apply: 2 of 2',
      ]) {
        assert.ok(out.includes(line), `the output has:\n${line}\n---\n${out}`);
      }
      assert.deepEqual(await listOurs(a), [], 'a dry run creates nothing');
    });

    test('--apply creates the projects with the adoption annotation; a second --apply changes nothing', async () => {
      const first = await cli('--namespace', a, '--apply');
      assert.equal(first.err, '');
      assert.equal(first.code, 0, first.out);
      assert.match(first.out, /# {3}result: created\n/);
      const created = await listOurs(a);
      assert.deepEqual(created.map((p) => p.metadata.name).sort(), ['custom', 'demo']);
      for (const project of created) {
        assert.equal(
          project.metadata.annotations?.[ADOPT_JWT_SECRET_ANNOTATION],
          ADOPT_FROM_REFERENCE_OPERATOR,
        );
        assert.equal(project.metadata.labels?.team, 'web');
        assert.ok(
          (project.metadata as { managedFields?: { manager?: string }[] }).managedFields?.some(
            (f) => f.manager === MIGRATE_FIELD_MANAGER,
          ),
          'applied with the named field manager',
        );
      }
      const custom = created.find((p) => p.metadata.name === 'custom');
      assert.ok(custom);
      assert.equal(custom.spec.kong?.image, 'kong/kong:3.9.0');
      assert.equal(custom.spec.kong.resources?.limits?.memory, '2Gi');
      assert.equal(custom.spec.realtime?.replicas, 1);
      assert.equal(custom.spec.studio?.publicUrl, 'https://supabase.example.com');
      assert.equal(custom.spec.storage.secretRef.namespace, undefined);
      const demo = created.find((p) => p.metadata.name === 'demo');
      assert.ok(demo);
      assert.equal(demo.spec.kong?.image, undefined, 'the frozen default image is not pinned');
      assert.equal(demo.spec.database.secretRef.name, 'demo-db');

      const versions = new Map(created.map((p) => [p.metadata.name, p.metadata.resourceVersion]));
      const second = await cli('--namespace', a, '--apply');
      assert.equal(second.code, 0, second.out);
      assert.equal(second.out.match(/# {3}result: unchanged\n/g)?.length, 2, second.out);
      for (const project of await listOurs(a)) {
        assert.equal(project.metadata.resourceVersion, versions.get(project.metadata.name));
      }
    });

    test('--namespace filters; without it every namespace is listed', async () => {
      const onlyB = await cli('--namespace', b);
      assert.equal(onlyB.code, 0, onlyB.out);
      assert.deepEqual([...manifests(onlyB.out).keys()], [`${b}/other`]);
      const all = await cli();
      const keys = [...manifests(all.out).keys()];
      for (const key of [`${a}/custom`, `${a}/demo`, `${b}/other`]) assert.ok(keys.includes(key));
      assert.ok(keys.some((k) => k.startsWith(`${blocked}/`)));
    });

    test('a project this API cannot hold is reported and not applied', async () => {
      const { code, out } = await cli('--namespace', blocked, '--apply');
      assert.equal(code, 1);
      assert.match(
        out,
        /# {3}BLOCKER: metadata\.name: "px{63}" is 64 characters long; at most 51 are allowed/,
      );
      assert.match(
        out,
        /# {3}result: not applied: fix the BLOCKER lines in the reference object first\n/,
      );
      assert.match(out, /# 1 of 1 cannot move as they are/);
      assert.deepEqual(await listOurs(blocked), []);
    });

    test('a project of ours that the command did not make is left alone', async () => {
      const namespace = await freshNamespace('strrl-taken');
      await createStrrl(namespace, strrlProject('demo', {}));
      await kube().customObjects.createNamespacedCustomObject({
        ...ours,
        namespace,
        body: {
          apiVersion: `${API_GROUP}/${API_VERSION}`,
          kind: 'SupabaseProject',
          metadata: { name: 'demo' },
          spec: {
            projectId: 'mine',
            database: { secretRef: { name: 'mine-db' } },
            storage: { secretRef: { name: 'mine-s3' } },
          },
        },
      });
      const { code, out } = await cli('--namespace', namespace, '--apply');
      assert.equal(code, 1);
      assert.match(
        out,
        /# {3}result: left alone: supabaseprojects\.supabase\.reconciler\.dev strrl-taken-[0-9a-f]+\/demo exists already and was not made by this command\n/,
      );
      const [project] = await listOurs(namespace);
      assert.ok(project);
      assert.equal(project.spec.projectId, 'mine');
      assert.equal(project.metadata.annotations?.[ADOPT_JWT_SECRET_ANNOTATION], undefined);
    });
  });
});
