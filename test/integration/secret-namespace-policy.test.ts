/**
 * The admission policy of deploy/admission/ against the real kube-apiserver: every Secret
 * reference of the spec naming another namespace is refused with 422 and the message
 * validate-deps also gives; the project's own namespace (or none) is accepted; an object that
 * already named another namespace before the policy applied can still be updated (so its
 * finalizer can be removed), but not pointed at yet another namespace.
 *
 * The policy is the generated one; its binding is limited to namespaces with a test label, so
 * that the other test files on the shared API server (validate-deps' own refusal, for one)
 * still meet no policy.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { before, describe, test } from 'node:test';
import { KubernetesObjectApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { API_GROUP, API_VERSION, PLURAL, supabaseProjectCrd } from '../../shared/api/index.ts';
import {
  SECRET_NAMESPACE_POLICY_NAME,
  SECRET_NAMESPACE_POLICY_YAML_PATH,
  secretNamespaceMessage,
  secretNamespacePolicy,
  secretNamespacePolicyBinding,
  secretReferencePaths,
} from '../../shared/api/secret-namespace-policy.ts';
import { applyCrd, freshNamespace, kube } from '../env/index.ts';
import { apiError } from '../fixtures/api-error.ts';

const ref = { group: API_GROUP, version: API_VERSION, plural: PLURAL } as const;
const LABEL = 'supabase-reconciler.dev/secret-namespace-policy';

type JsonObject = Record<string, unknown>;

function project(name: string, spec: JsonObject = {}): JsonObject {
  return {
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    kind: 'SupabaseProject',
    metadata: { name },
    spec: {
      projectId: 'demo',
      database: { secretRef: { name: 'demo-db' } },
      storage: { secretRef: { name: 'demo-s3' } },
      ...spec,
    },
  };
}

/** The spec fragment that sets the reference at `path` to `{name, namespace}`. */
function withReference(path: readonly string[], namespace: string): JsonObject {
  const [first, ...rest] = path;
  assert.ok(first);
  let inner: JsonObject = { name: 'some-secret', namespace };
  for (const key of [...rest].reverse()) inner = { [key]: inner };
  const spec = project('x').spec as JsonObject;
  const existing = (spec[first] ?? {}) as JsonObject;
  return { [first]: { ...existing, ...inner } };
}

async function create(namespace: string, body: JsonObject): Promise<void> {
  await kube().customObjects.createNamespacedCustomObject({ ...ref, namespace, body });
}

async function label(namespace: string, value: string | null): Promise<void> {
  await kube().core.patchNamespace(
    { name: namespace, body: { metadata: { labels: { [LABEL]: value } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** Waits until the policy refuses a bad object in `namespace` (policies take effect lazily). */
async function waitUntilEnforced(namespace: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (let i = 0; ; i += 1) {
    const body = project(`probe-${String(i)}`, withReference(['database', 'secretRef'], 'x'));
    try {
      await create(namespace, body);
    } catch {
      return;
    }
    if (Date.now() > deadline) assert.fail('the policy was not enforced within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('the Secret-namespace admission policy', () => {
  let namespace: string;

  before(async () => {
    await applyCrd(supabaseProjectCrd());
    const objects = KubernetesObjectApi.makeApiClient(kube().kubeConfig);
    const binding = secretNamespacePolicyBinding(
      { matchLabels: { [LABEL]: 'enforced' } },
      `${SECRET_NAMESPACE_POLICY_NAME}-test`,
    );
    for (const manifest of [secretNamespacePolicy(), binding]) {
      await objects.patch(
        manifest as never,
        undefined,
        undefined,
        'test-env',
        true,
        PatchStrategy.ServerSideApply,
      );
    }
    namespace = await freshNamespace('policy');
    await label(namespace, 'enforced');
    await waitUntilEnforced(namespace);
  });

  test('the checked-in YAML is the generated policy and an unrestricted binding', async () => {
    const text = await readFile(
      new URL(`../../${SECRET_NAMESPACE_POLICY_YAML_PATH}`, import.meta.url),
      'utf8',
    );
    const documents = parseAllDocuments(text).map((d) => d.toJS() as JsonObject);
    assert.deepEqual(documents, [secretNamespacePolicy(), secretNamespacePolicyBinding()]);
    assert.equal((documents[1]?.spec as JsonObject).matchResources, undefined);
  });

  test('every Secret reference of the spec is covered', () => {
    assert.deepEqual(
      secretReferencePaths().map((path) => path.join('.')),
      [
        'database.secretRef',
        'storage.secretRef',
        'auth.smtpSecretRef',
        'auth.oauthSecretRef',
        'studio.dashboardBasicAuthSecretRef',
      ],
    );
  });

  for (const path of secretReferencePaths()) {
    const field = `spec.${path.join('.')}`;
    test(`${field}.namespace naming another namespace is refused`, async () => {
      const name = path.join('-').toLowerCase();
      const error = await apiError(create(namespace, project(name, withReference(path, 'other'))));
      assert.equal(error.code, 422, error.message);
      assert.equal(
        error.message,
        `supabaseprojects.${API_GROUP} "${name}" is forbidden: ValidatingAdmissionPolicy '${SECRET_NAMESPACE_POLICY_NAME}' with binding '${SECRET_NAMESPACE_POLICY_NAME}-test' denied request: ${secretNamespaceMessage(field, 'other', namespace)}`,
      );
      assert.match(
        error.message,
        new RegExp(
          `${field.replace(/\./g, '\\.')}\\.namespace is "other", but Secrets are read only from the project's namespace "${namespace}": create the Secret in "${namespace}" and remove ${field.replace(/\./g, '\\.')}\\.namespace$`,
        ),
      );
    });

    test(`${field}.namespace naming the project's namespace is accepted`, async () => {
      const name = `same-${path.join('-').toLowerCase()}`;
      await create(namespace, project(name, withReference(path, namespace)));
    });
  }

  test('an object that named another namespace before the policy applied can still be updated, not moved elsewhere', async () => {
    const old = await freshNamespace('policy-old');
    await create(old, project('demo', withReference(['storage', 'secretRef'], 'elsewhere')));
    await label(old, 'enforced');
    await waitUntilEnforced(old);
    const { customObjects } = kube();
    // A metadata change (as removing the finalizer is) and a change elsewhere in the spec.
    await customObjects.patchNamespacedCustomObject(
      {
        ...ref,
        namespace: old,
        name: 'demo',
        body: { metadata: { labels: { touched: 'yes' } }, spec: { projectId: 'demo-2' } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const moved = await apiError(
      customObjects.patchNamespacedCustomObject(
        {
          ...ref,
          namespace: old,
          name: 'demo',
          body: { spec: { storage: { secretRef: { namespace: 'yet-another' } } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    assert.equal(moved.code, 422, moved.message);
    assert.match(
      moved.message,
      /spec\.storage\.secretRef\.namespace is "yet-another", but Secrets are read only from the project's namespace/,
    );
  });
});
