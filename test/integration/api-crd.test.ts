/**
 * The SupabaseProject CRD against the real kube-apiserver: it installs and becomes
 * Established (so every CEL rule fits the cost budget), the example manifests are accepted,
 * the server applies the schema defaults, every invalid case is refused with 422 and its own
 * message, and the status subresource and printer columns work.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { before, describe, test } from 'node:test';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { parse } from 'yaml';
import {
  API_GROUP,
  API_VERSION,
  CRD_NAME,
  MAX_PROJECT_NAME_LENGTH,
  PLURAL,
  supabaseProjectCrd,
  type SupabaseProject,
  type SupabaseProjectStatus,
} from '../../shared/api/index.ts';
import { applyCrd, freshNamespace, kube } from '../env/index.ts';
import { apiError } from '../fixtures/api-error.ts';

const ref = { group: API_GROUP, version: API_VERSION, plural: PLURAL } as const;

/** A manifest as test code builds it: plain JSON, deliberately loosely typed. */
type Manifest = Record<string, unknown> & { metadata: { name: string }; spec: JsonObject };
type JsonObject = Record<string, unknown>;

function minimal(name = 'demo'): Manifest {
  return {
    apiVersion: `${API_GROUP}/${API_VERSION}`,
    kind: 'SupabaseProject',
    metadata: { name },
    spec: {
      projectId: 'demo',
      database: { secretRef: { name: 'demo-db' } },
      storage: { secretRef: { name: 'demo-s3' } },
    },
  };
}

async function readExample(file: string): Promise<Manifest> {
  const text = await readFile(new URL(`../../deploy/examples/${file}`, import.meta.url), 'utf8');
  return parse(text) as Manifest;
}

async function create(
  namespace: string,
  body: unknown,
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore',
): Promise<SupabaseProject> {
  return (await kube().customObjects.createNamespacedCustomObject({
    ...ref,
    namespace,
    body,
    ...(fieldValidation ? { fieldValidation } : {}),
  })) as SupabaseProject;
}

async function get(namespace: string, name: string): Promise<SupabaseProject> {
  return (await kube().customObjects.getNamespacedCustomObject({
    ...ref,
    namespace,
    name,
  })) as SupabaseProject;
}

/** A copy of the minimal manifest with `change` applied to its spec. */
function withSpec(change: (spec: JsonObject) => void, name = 'demo'): Manifest {
  const manifest = minimal(name);
  change(manifest.spec);
  return manifest;
}

describe('SupabaseProject CRD', () => {
  before(async () => {
    // Throws if the API server refuses the CRD (for example a CEL rule over the cost budget).
    await applyCrd(supabaseProjectCrd());
  });

  test('the installed CRD has the names, short name, category and printer columns', async () => {
    const crd = await kube().apiExtensions.readCustomResourceDefinition({ name: CRD_NAME });
    assert.deepEqual(crd.spec.names.shortNames, ['sbp']);
    assert.deepEqual(crd.spec.names.categories, ['supabase']);
    assert.equal(crd.spec.scope, 'Namespaced');
    const version = crd.spec.versions.find((v) => v.name === API_VERSION);
    assert.ok(version?.served && version.storage);
    assert.ok(version.subresources?.status, 'status subresource');
    const columns = (version.additionalPrinterColumns ?? []).map((c) => [c.name, c.jsonPath]);
    assert.deepEqual(columns, [
      ['Phase', '.status.phase'],
      ['Ready', '.status.conditions[?(@.type=="Ready")].status'],
      ['Components', '.status.componentsReady'],
      ['Age', '.metadata.creationTimestamp'],
      ['Message', '.status.message'],
    ]);
  });

  test('both example manifests are accepted', async () => {
    const namespace = await freshNamespace('api-examples');
    const full = await readExample('supabaseproject.yaml');
    const createdFull = await create(namespace, full, 'Strict');
    assert.equal(createdFull.spec.storage.forcePathStyle, false);
    assert.equal(createdFull.spec.kong?.replicas, 2);
    assert.equal(createdFull.spec.ingress?.host, 'supabase.example.com');
    const minimalExample = await readExample('supabaseproject-minimal.yaml');
    const createdMinimal = await create(namespace, minimalExample, 'Strict');
    assert.equal(createdMinimal.spec.projectId, 'demo');
  });

  test('the server applies the schema defaults', async () => {
    const namespace = await freshNamespace('api-defaults');
    const created = await create(namespace, minimal());
    const { spec } = created;
    assert.equal(spec.database.sslMode, 'require');
    assert.equal(spec.database.maxConnections, 20);
    assert.equal(spec.storage.forcePathStyle, true);
    for (const component of [
      'kong',
      'auth',
      'realtime',
      'postgrest',
      'storageApi',
      'meta',
      'studio',
    ] as const) {
      const config = spec[component];
      assert.ok(config, `${component} is defaulted to {}`);
      assert.equal(config.replicas, 1, `${component} replicas`);
      assert.equal(config.image, undefined, `${component} image is not defaulted`);
    }
    assert.equal(spec.studio?.enabled, true);
    assert.equal(spec.ingress, undefined);
  });

  test('forcePathStyle false is kept, also across later writes', async () => {
    const namespace = await freshNamespace('api-pathstyle');
    const created = await create(
      namespace,
      withSpec((spec) => {
        spec.storage = { secretRef: { name: 'demo-s3' }, forcePathStyle: false };
      }),
    );
    assert.equal(created.spec.storage.forcePathStyle, false);
    await kube().customObjects.patchNamespacedCustomObject(
      { ...ref, namespace, name: 'demo', body: { spec: { projectId: 'demo-2' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const read = await get(namespace, 'demo');
    assert.equal(read.spec.storage.forcePathStyle, false);
    assert.equal(read.spec.projectId, 'demo-2');
  });

  test('replicas 0 is accepted and kept', async () => {
    const namespace = await freshNamespace('api-zero');
    const created = await create(
      namespace,
      withSpec((spec) => {
        spec.realtime = { replicas: 0 };
      }),
    );
    assert.equal(created.spec.realtime?.replicas, 0);
  });

  test(`a name of exactly ${MAX_PROJECT_NAME_LENGTH} characters is accepted`, async () => {
    const namespace = await freshNamespace('api-name');
    const name = `a${'b'.repeat(MAX_PROJECT_NAME_LENGTH - 1)}`;
    const created = await create(namespace, minimal(name));
    assert.equal(created.metadata.name, name);
  });

  const invalid: readonly {
    readonly name: string;
    readonly manifest: () => Manifest;
    readonly message: RegExp;
  }[] = [
    {
      name: 'sslMode outside the enum',
      manifest: () =>
        withSpec((spec) => {
          spec.database = { secretRef: { name: 'db' }, sslMode: 'strict' };
        }),
      message:
        /^SupabaseProject\.supabase\.reconciler\.dev "demo" is invalid: spec\.database\.sslMode: Invalid value: "strict": sslMode must be one of: disable, allow, prefer, require, verify-ca, verify-full$/,
    },
    {
      name: 'projectId not a DNS label',
      manifest: () =>
        withSpec((spec) => {
          spec.projectId = 'My_Project';
        }),
      message: /spec\.projectId: Invalid value: "My_Project": projectId must be a DNS label/,
    },
    {
      name: 'projectId too long',
      manifest: () =>
        withSpec((spec) => {
          spec.projectId = 'p'.repeat(64);
        }),
      message: /spec\.projectId: Too long: may not be (more than|longer than) 63/,
    },
    {
      name: 'metadata.name too long for the derived names',
      manifest: () => minimal(`a${'b'.repeat(MAX_PROJECT_NAME_LENGTH)}`),
      message: new RegExp(
        `^SupabaseProject\\.supabase\\.reconciler\\.dev "ab{${MAX_PROJECT_NAME_LENGTH}}" is invalid: metadata\\.name: Invalid value: "ab{${MAX_PROJECT_NAME_LENGTH}}": metadata\\.name must be at most ${MAX_PROJECT_NAME_LENGTH} characters, so that "<name>-storage-api" fits the 63-character limit of a DNS label$`,
      ),
    },
    {
      name: 'metadata.name with a dot (not a Service name)',
      manifest: () => minimal('demo.v2'),
      message:
        /^SupabaseProject\.supabase\.reconciler\.dev "demo\.v2" is invalid: metadata\.name: Invalid value: "demo\.v2": metadata\.name must start with a lower-case letter and contain only lower-case letters, digits and '-' \(no '\.'\), because it starts the names of the project's Services$/,
    },
    {
      name: 'image without a tag or digest',
      manifest: () =>
        withSpec((spec) => {
          spec.kong = { image: 'kong/kong' };
        }),
      message:
        /spec\.kong\.image: Invalid value: "kong\/kong": the image must be a reference with a tag or a digest/,
    },
    {
      name: 'image with registry port but no tag',
      manifest: () =>
        withSpec((spec) => {
          spec.studio = { image: 'registry.local:5000/supabase/studio' };
        }),
      message:
        /spec\.studio\.image: Invalid value: "registry\.local:5000\/supabase\/studio": the image must be a reference/,
    },
    {
      name: 'cpu limit below request',
      manifest: () =>
        withSpec((spec) => {
          spec.kong = { resources: { limits: { cpu: '100m' }, requests: { cpu: '250m' } } };
        }),
      message:
        /spec\.kong\.resources\.limits: Invalid value: limits\.cpu \(100m\) is less than requests\.cpu \(250m\)/,
    },
    {
      name: 'memory limit below request (integer and suffixed quantities)',
      manifest: () =>
        withSpec((spec) => {
          spec.auth = { resources: { limits: { memory: 1000 }, requests: { memory: '1Ki' } } };
        }),
      message:
        /spec\.auth\.resources\.limits: Invalid value: limits\.memory \(1000\) is less than requests\.memory \(1Ki\)/,
    },
    {
      name: 'ephemeral-storage limit below request',
      manifest: () =>
        withSpec((spec) => {
          spec.storageApi = {
            resources: {
              limits: { cpu: '1', 'ephemeral-storage': '1Gi' },
              requests: { cpu: '500m', 'ephemeral-storage': '2Gi' },
            },
          };
        }),
      message:
        /^SupabaseProject\.supabase\.reconciler\.dev "demo" is invalid: spec\.storageApi\.resources\.limits: Invalid value: limits\.ephemeral-storage \(1Gi\) is less than requests\.ephemeral-storage \(2Gi\); a limit must be greater than or equal to its request$/,
    },
    {
      name: 'extended resource limit below request',
      manifest: () =>
        withSpec((spec) => {
          spec.realtime = {
            resources: { limits: { 'hugepages-2Mi': '2Mi' }, requests: { 'hugepages-2Mi': '4Mi' } },
          };
        }),
      message:
        /^SupabaseProject\.supabase\.reconciler\.dev "demo" is invalid: spec\.realtime\.resources\.limits: Invalid value: limits\.hugepages-2Mi \(2Mi\) is less than requests\.hugepages-2Mi \(4Mi\); a limit must be greater than or equal to its request$/,
    },
    {
      name: 'maxConnections 0',
      manifest: () =>
        withSpec((spec) => {
          spec.database = { secretRef: { name: 'db' }, maxConnections: 0 };
        }),
      message:
        /^SupabaseProject\.supabase\.reconciler\.dev "demo" is invalid: spec\.database\.maxConnections: Invalid value: 0: maxConnections must be an integer from 1 to 100$/,
    },
    {
      name: 'deletionPolicy outside the allowed values',
      manifest: () =>
        withSpec((spec) => {
          spec.database = { secretRef: { name: 'db' }, deletionPolicy: 'Purge' };
        }),
      message:
        /^SupabaseProject\.supabase\.reconciler\.dev "demo" is invalid: spec\.database\.deletionPolicy: Invalid value: "Purge": deletionPolicy must be one of: Retain, Delete$/,
    },
    {
      name: 'Secret reference without a name',
      manifest: () =>
        withSpec((spec) => {
          spec.database = { secretRef: {} };
        }),
      message:
        /^SupabaseProject\.supabase\.reconciler\.dev "demo" is invalid: spec\.database\.secretRef\.name: Required value: name is required: name of the Secret$/,
    },
    {
      name: 'quantity that does not parse',
      manifest: () =>
        withSpec((spec) => {
          spec.meta = { resources: { requests: { cpu: 'lots' } } };
        }),
      message:
        /spec\.meta\.resources\.requests\[cpu\]: Invalid value: "lots": must be a non-negative Kubernetes quantity/,
    },
    {
      name: 'empty Secret name',
      manifest: () =>
        withSpec((spec) => {
          spec.database = { secretRef: { name: '' } };
        }),
      message:
        /spec\.database\.secretRef\.name: Invalid value: "": the Secret name must not be empty/,
    },
    {
      name: 'Secret name that is not a DNS subdomain',
      manifest: () =>
        withSpec((spec) => {
          spec.storage = { secretRef: { name: 'S3_Creds' } };
        }),
      message:
        /spec\.storage\.secretRef\.name: Invalid value: "S3_Creds": the Secret name must be a DNS subdomain/,
    },
    {
      name: 'replicas above 10',
      manifest: () =>
        withSpec((spec) => {
          spec.kong = { replicas: 11 };
        }),
      message:
        /^SupabaseProject\.supabase\.reconciler\.dev "demo" is invalid: spec\.kong\.replicas: Invalid value: 11: replicas must be an integer from 0 to 10$/,
    },
    {
      name: 'negative replicas',
      manifest: () =>
        withSpec((spec) => {
          spec.postgrest = { replicas: -1 };
        }),
      message:
        /^SupabaseProject\.supabase\.reconciler\.dev "demo" is invalid: spec\.postgrest\.replicas: Invalid value: -1: replicas must be an integer from 0 to 10$/,
    },
    {
      name: 'maxConnections above 100',
      manifest: () =>
        withSpec((spec) => {
          spec.database = { secretRef: { name: 'db' }, maxConnections: 101 };
        }),
      message:
        /^SupabaseProject\.supabase\.reconciler\.dev "demo" is invalid: spec\.database\.maxConnections: Invalid value: 101: maxConnections must be an integer from 1 to 100$/,
    },
    {
      name: 'extraEnv overriding variables the reconciler owns',
      manifest: () =>
        withSpec((spec) => {
          spec.auth = {
            extraEnv: [
              { name: 'GOTRUE_DISABLE_SIGNUP', value: 'true' },
              { name: 'DB_PASSWORD', value: 'x' },
              { name: 'GOTRUE_JWT_SECRET', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
            ],
          };
        }),
      message:
        /spec\.auth\.extraEnv\[1\]\.name: Invalid value: "DB_PASSWORD": DB_PASSWORD is set by the reconciler for auth and may not be set in extraEnv; owned variables: API_EXTERNAL_URL, .*spec\.auth\.extraEnv\[2\]\.name: Invalid value: "GOTRUE_JWT_SECRET": GOTRUE_JWT_SECRET is set by the reconciler/,
    },
    {
      name: 'extraEnv with both value and valueFrom',
      manifest: () =>
        withSpec((spec) => {
          spec.realtime = {
            extraEnv: [
              { name: 'FOO', value: 'a', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            ],
          };
        }),
      message:
        /spec\.realtime\.extraEnv\[0\]: Invalid value: an extra variable may set value or valueFrom, not both/,
    },
    {
      name: 'extraEnv valueFrom with two sources',
      manifest: () =>
        withSpec((spec) => {
          spec.meta = {
            extraEnv: [
              {
                name: 'FOO',
                valueFrom: {
                  fieldRef: { fieldPath: 'metadata.name' },
                  configMapKeyRef: { name: 'c', key: 'k' },
                },
              },
            ],
          };
        }),
      message:
        /valueFrom must set exactly one of secretKeyRef, configMapKeyRef, fieldRef or resourceFieldRef/,
    },
    {
      name: 'extraEnv name that is not a variable name',
      manifest: () =>
        withSpec((spec) => {
          spec.kong = { extraEnv: [{ name: '1BAD NAME', value: 'x' }] };
        }),
      message:
        /spec\.kong\.extraEnv\[0\]\.name: Invalid value: "1BAD NAME": the variable name must consist of letters/,
    },
    {
      name: 'extraEnv with a duplicate name',
      manifest: () =>
        withSpec((spec) => {
          spec.kong = {
            extraEnv: [
              { name: 'FOO', value: 'a' },
              { name: 'FOO', value: 'b' },
            ],
          };
        }),
      message: /spec\.kong\.extraEnv\[1\]: Duplicate value: \{"name":"FOO"\}/,
    },
    {
      name: 'Studio publicUrl that is not an absolute http(s) URL',
      manifest: () =>
        withSpec((spec) => {
          spec.studio = { publicUrl: 'supabase.example.com' };
        }),
      message:
        /spec\.studio\.publicUrl: Invalid value: "supabase\.example\.com": publicUrl must be an absolute http or https URL/,
    },
    {
      name: 'Ingress enabled without a host',
      manifest: () =>
        withSpec((spec) => {
          spec.ingress = { enabled: true };
        }),
      message:
        /spec\.ingress: Invalid value: ingress\.host is required when ingress\.enabled is true/,
    },
    {
      name: 'missing spec (a spec-less snippet)',
      manifest: () => {
        const manifest: JsonObject = minimal();
        delete manifest.spec;
        return manifest as Manifest;
      },
      message:
        /^SupabaseProject\.supabase\.reconciler\.dev "demo" is invalid: spec: Required value: spec is required: the desired state of the project$/,
    },
    {
      name: 'missing storage',
      manifest: () =>
        withSpec((spec) => {
          delete spec.storage;
        }),
      message:
        /^SupabaseProject\.supabase\.reconciler\.dev "demo" is invalid: spec\.storage: Required value: storage is required: the external S3 bucket the Storage API keeps objects in$/,
    },
  ];

  describe('invalid manifests are refused with 422 and a message naming the problem', () => {
    let namespace: string;
    before(async () => {
      namespace = await freshNamespace('api-invalid');
    });
    for (const { name, manifest, message } of invalid) {
      test(name, async () => {
        const error = await apiError(create(namespace, manifest()));
        assert.equal(error.code, 422, error.message);
        assert.match(error.message, message);
      });
    }
  });

  test('the invalid cases each have their own expected message', () => {
    const sources = invalid.map((c) => c.message.source);
    assert.equal(new Set(sources).size, sources.length);
  });

  test('several mistakes at once are all reported, without "some validation rules were not checked"', async () => {
    const namespace = await freshNamespace('api-several');
    const manifest = withSpec((spec) => {
      delete spec.storage;
      spec.database = { secretRef: { name: 'db' }, sslMode: 'strict', maxConnections: 500 };
      spec.kong = {
        replicas: 11,
        resources: {
          limits: { 'ephemeral-storage': '1Gi' },
          requests: { 'ephemeral-storage': '2Gi' },
        },
      };
    }, 'demo.v2');
    const error = await apiError(create(namespace, manifest));
    assert.equal(error.code, 422, error.message);
    for (const expected of [
      /metadata\.name: Invalid value: "demo\.v2": metadata\.name must start with a lower-case letter/,
      /spec\.storage: Required value: storage is required/,
      /spec\.database\.sslMode: Invalid value: "strict": sslMode must be one of/,
      /spec\.database\.maxConnections: Invalid value: 500: maxConnections must be an integer from 1 to 100/,
      /spec\.kong\.replicas: Invalid value: 11: replicas must be an integer from 0 to 10/,
      /spec\.kong\.resources\.limits: Invalid value: limits\.ephemeral-storage \(1Gi\) is less than requests\.ephemeral-storage \(2Gi\)/,
    ]) {
      assert.match(error.message, expected);
    }
    assert.doesNotMatch(error.message, /some validation rules were not checked|<nil>/);
  });

  test('a value over its length bound still makes the API server skip the CEL rules (its rule, kept for the cost budget)', async () => {
    // maxLength bounds the cost of the CEL rules on strings, so it stays; the API server treats
    // a "Too long" as blocking and reports the rules it skipped at <nil>.
    const namespace = await freshNamespace('api-blocking');
    const error = await apiError(
      create(
        namespace,
        withSpec((spec) => {
          spec.projectId = 'p'.repeat(64);
          spec.kong = { replicas: 11 };
        }),
      ),
    );
    assert.equal(error.code, 422, error.message);
    assert.match(error.message, /spec\.projectId: Too long/);
    assert.match(
      error.message,
      /<nil>: Invalid value: null: some validation rules were not checked/,
    );
    assert.doesNotMatch(error.message, /replicas must be/);
  });

  test('an unknown field is pruned by default and refused under strict field validation', async () => {
    const namespace = await freshNamespace('api-unknown');
    const body = withSpec((spec) => {
      spec.kong = { replicas: 1, replica: 3 };
      spec.databse = { secretRef: { name: 'typo' } };
    });
    const strict = await apiError(create(namespace, body, 'Strict'));
    assert.equal(strict.code, 400);
    assert.match(strict.message, /unknown field "spec\.databse"/);
    assert.match(strict.message, /unknown field "spec\.kong\.replica"/);

    // Without strict validation (the API default), the server drops what the schema does
    // not declare, so a typo never reaches the reconciler.
    const created = await create(namespace, body);
    assert.equal((created.spec as JsonObject).databse, undefined);
    assert.equal((created.spec.kong as JsonObject).replica, undefined);
  });

  test('status is written through the status subresource without bumping generation', async () => {
    const namespace = await freshNamespace('api-status');
    const { customObjects } = kube();
    const created = await create(namespace, minimal());
    assert.equal(created.metadata.generation, 1);
    const status: SupabaseProjectStatus = {
      phase: 'Running',
      message: 'All components are ready',
      observedGeneration: 1,
      componentsReady: '7/7',
      lastReconcileTime: '2026-01-01T00:00:00Z',
      lastTraceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          observedGeneration: 1,
          lastTransitionTime: '2026-01-01T00:00:00Z',
          reason: 'AllComponentsReady',
          message: 'Every enabled component has its pods ready',
        },
      ],
      components: {
        kong: {
          enabled: true,
          image: 'kong/kong:3.9.1',
          replicas: 1,
          readyReplicas: 1,
          ready: true,
        },
      },
      dependencies: {
        postgresql: { connected: true, latencyMs: 3, lastConnectedTime: '2026-01-01T00:00:00Z' },
        s3: { connected: false, error: 'HeadBucket answered 403' },
      },
      endpoints: { api: 'https://supabase.example.com', studio: 'https://supabase.example.com' },
    };
    await customObjects.patchNamespacedCustomObjectStatus(
      { ...ref, namespace, name: 'demo', body: { status } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const read = await get(namespace, 'demo');
    assert.equal(read.metadata.generation, 1, 'a status write does not bump generation');
    assert.deepEqual(read.status, status);

    // The printer columns read what the status holds (kubectl get sbp asks for a Table).
    const table = (await customObjects.getNamespacedCustomObject(
      { ...ref, namespace, name: 'demo' },
      setHeaderOptions('Accept', 'application/json;as=Table;v=v1;g=meta.k8s.io'),
    )) as { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
    const cells = Object.fromEntries(
      table.columnDefinitions.map((column, i) => [column.name, table.rows[0]?.cells[i]]),
    );
    assert.equal(cells.Phase, 'Running');
    assert.equal(cells.Ready, 'True');
    assert.equal(cells.Components, '7/7');

    const invalidStatus = await apiError(
      customObjects.patchNamespacedCustomObjectStatus(
        { ...ref, namespace, name: 'demo', body: { status: { phase: 'Exploded' } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    assert.equal(invalidStatus.code, 422);
    assert.match(invalidStatus.message, /status\.phase: Unsupported value: "Exploded"/);
  });
});
