/**
 * The component builders' output, table-driven: for each component the expected names,
 * labels, selector, ports, image, replicas, resources, probes, environment and Secret
 * references, then the rules every component follows (owner reference, extraEnv merged by
 * name, JWT references exactly as shared/secrets/conventions.ts records them, no secret
 * value and no localhost in any object, purity).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { COMPONENTS, type ComponentName } from '../api/components.ts';
import { DEFAULT_IMAGES } from '../api/default-images.ts';
import { DEFAULTED_ENV, OWNED_ENV } from '../api/owned-env.ts';
import type { SslMode, SupabaseProjectSpec } from '../api/types.ts';
import { SERVICE_LOGIN_ROLES } from '../db/role-passwords.ts';
import { JWT_SECRET_ENV, JWT_SECRET_SETTINGS } from '../secrets/conventions.ts';
import { DEFAULT_RESOURCES, PROBE_TIMING } from './component.ts';
import { ADDITIONAL_OWNED_ENV, knownEnv } from './env.ts';
import { COMPONENT_APPLY_ORDER, COMPONENT_BUILDERS } from './index.ts';
import type {
  ConfigMapManifest,
  DeploymentManifest,
  EnvVar,
  Probe,
  ServiceManifest,
} from './manifests.ts';
import { realtimeDbSsl } from './realtime.ts';
import type { BuildableProject, BuildInputs, ComponentBuild } from './types.ts';

const PROJECT = 'demo';
const NAMESPACE = 'tenant-a';
const UID = '6f1c2a9e-0000-4000-8000-000000000001';

function project(spec: Partial<SupabaseProjectSpec> = {}): BuildableProject {
  return {
    apiVersion: 'supabase.reconciler.dev/v1alpha1',
    kind: 'SupabaseProject',
    metadata: { name: PROJECT, namespace: NAMESPACE, uid: UID },
    spec: {
      projectId: 'demo',
      database: { secretRef: { name: 'demo-db' }, sslMode: 'require' },
      storage: { secretRef: { name: 'demo-s3' }, forcePathStyle: true },
      ...spec,
    },
  };
}

const INPUTS: BuildInputs = {
  database: {
    host: 'db.example.net',
    port: 5432,
    name: 'postgres',
    user: 'admin',
    sslMode: 'require',
  },
  storage: {
    endpoint: 'https://s3.example.net',
    region: 'eu-west-1',
    bucket: 'demo-files',
    forcePathStyle: true,
  },
  secrets: {
    database: 'demo-db',
    storage: 'demo-s3',
    jwt: 'demo-jwt',
    dashboard: 'demo-dashboard-basic-auth',
    connectionUrls: 'demo-db-urls',
  },
  urls: { apiExternal: 'https://api.demo.example.com', site: 'https://app.demo.example.com' },
};

function build(
  component: ComponentName,
  spec: Partial<SupabaseProjectSpec> = {},
  inputs: BuildInputs = INPUTS,
): ComponentBuild {
  return COMPONENT_BUILDERS[component](project(spec), inputs);
}

const deployment = (b: ComponentBuild) => b.deployment as DeploymentManifest;
const service = (b: ComponentBuild) => b.service as ServiceManifest;
const container = (b: ComponentBuild) => deployment(b).spec.template.spec.containers[0];
const env = (b: ComponentBuild) => container(b).env;
const envMap = (b: ComponentBuild) => new Map(env(b).map((e) => [e.name, e]));

interface ProbeExpectation {
  readonly startup: string;
  readonly readiness: string;
  readonly liveness: string;
  /** `exec` or the HTTP port. */
  readonly via: 'exec' | number;
}

interface Expected {
  readonly name: string;
  readonly nameLabel: string;
  readonly role: string;
  readonly containerName: string;
  readonly containerPorts: readonly [string, number][];
  readonly servicePorts: readonly [string, number][];
  readonly probes: ProbeExpectation;
  /** Literal values the environment must hold. */
  readonly literals: Readonly<Record<string, string>>;
  /** Variables read from Secrets other than `<project>-jwt`: [Secret, key]. */
  readonly secretRefs: Readonly<Record<string, readonly [string, string]>>;
  /** Connection URLs declared: key, role, scheme. */
  readonly connectionUrls: readonly [string, string, string][];
  /** A DEFAULTED variable the test replaces through extraEnv (undefined: none to replace). */
  readonly defaulted?: string;
}

const S = INPUTS.secrets;

const EXPECTED: Record<ComponentName, Expected> = {
  kong: {
    name: 'demo-kong',
    nameLabel: 'kong',
    role: 'api-gateway',
    containerName: 'kong',
    containerPorts: [
      ['proxy', 8000],
      ['proxy-ssl', 8443],
    ],
    servicePorts: [
      ['proxy', 8000],
      ['proxy-ssl', 8443],
    ],
    probes: {
      startup: 'kong health',
      readiness: 'kong health',
      liveness: 'kong health',
      via: 'exec',
    },
    literals: {
      KONG_DATABASE: 'off',
      KONG_DECLARATIVE_CONFIG: '/usr/local/kong/kong.yml',
      KONG_ROUTER_FLAVOR: 'expressions',
      KONG_ADMIN_LISTEN: '127.0.0.1:8001',
      KONG_DNS_ORDER: 'LAST,A,CNAME',
      KONG_PLUGINS:
        'request-transformer,cors,key-auth,acl,basic-auth,request-termination,ip-restriction,post-function',
    },
    secretRefs: {
      DASHBOARD_USERNAME: [S.dashboard, 'username'],
      DASHBOARD_PASSWORD: [S.dashboard, 'password'],
    },
    connectionUrls: [],
    defaulted: 'KONG_NGINX_PROXY_PROXY_BUFFER_SIZE',
  },
  auth: {
    name: 'demo-auth',
    nameLabel: 'auth',
    role: 'authentication',
    containerName: 'auth',
    containerPorts: [['http', 9999]],
    servicePorts: [['http', 9999]],
    probes: { startup: '/health', readiness: '/health', liveness: '/health', via: 9999 },
    literals: {
      API_EXTERNAL_URL: 'https://api.demo.example.com',
      GOTRUE_SITE_URL: 'https://app.demo.example.com',
      GOTRUE_API_HOST: '0.0.0.0',
      GOTRUE_API_PORT: '9999',
      GOTRUE_DB_DRIVER: 'postgres',
      GOTRUE_JWT_EXP: '3600',
      GOTRUE_JWT_ADMIN_ROLES: 'service_role',
      GOTRUE_JWT_AUD: 'authenticated',
    },
    secretRefs: { GOTRUE_DB_DATABASE_URL: [S.connectionUrls, 'auth'] },
    connectionUrls: [['auth', 'supabase_auth_admin', 'postgres']],
    defaulted: 'GOTRUE_DISABLE_SIGNUP',
  },
  postgrest: {
    name: 'demo-postgrest',
    nameLabel: 'postgrest',
    role: 'rest-api',
    containerName: 'postgrest',
    containerPorts: [
      ['http', 3000],
      ['admin', 3001],
    ],
    servicePorts: [['http', 3000]],
    probes: { startup: '/ready', readiness: '/ready', liveness: '/live', via: 3001 },
    literals: {
      PGRST_DB_SCHEMAS: 'public,storage,graphql_public',
      PGRST_DB_EXTRA_SEARCH_PATH: 'public',
      PGRST_DB_ANON_ROLE: 'anon',
      PGRST_ADMIN_SERVER_PORT: '3001',
      PGRST_JWT_SECRET_IS_BASE64: 'false',
    },
    secretRefs: { PGRST_DB_URI: [S.connectionUrls, 'postgrest'] },
    connectionUrls: [['postgrest', 'authenticator', 'postgres']],
    defaulted: 'PGRST_DB_SCHEMAS',
  },
  realtime: {
    name: 'demo-realtime',
    nameLabel: 'realtime',
    role: 'realtime',
    containerName: 'realtime',
    containerPorts: [['http', 4000]],
    servicePorts: [['http', 4000]],
    probes: {
      startup: '/healthcheck',
      readiness: '/healthcheck',
      liveness: '/healthcheck',
      via: 4000,
    },
    literals: {
      PORT: '4000',
      DB_HOST: 'db.example.net',
      DB_PORT: '5432',
      DB_NAME: 'postgres',
      DB_USER: 'admin',
      DB_SSL: 'true',
      DB_AFTER_CONNECT_QUERY: 'SET search_path TO _realtime',
      SELF_HOST_TENANT_NAME: 'demo-realtime',
      SEED_SELF_HOST: 'true',
      APP_NAME: 'realtime',
    },
    secretRefs: { DB_PASSWORD: [S.database, 'password'] },
    connectionUrls: [],
    defaulted: 'RLIMIT_NOFILE',
  },
  storageApi: {
    name: 'demo-storage-api',
    nameLabel: 'storage',
    role: 'storage-api',
    containerName: 'storage',
    containerPorts: [['http', 5000]],
    servicePorts: [['http', 5000]],
    probes: { startup: '/status', readiness: '/status', liveness: '/status', via: 5000 },
    literals: {
      STORAGE_BACKEND: 's3',
      GLOBAL_S3_BUCKET: 'demo-files',
      GLOBAL_S3_ENDPOINT: 'https://s3.example.net',
      GLOBAL_S3_FORCE_PATH_STYLE: 'true',
      AWS_DEFAULT_REGION: 'eu-west-1',
      REGION: 'eu-west-1',
      FILE_SIZE_LIMIT: '52428800',
      POSTGREST_URL: 'http://demo-postgrest:3000',
    },
    secretRefs: {
      DATABASE_URL: [S.connectionUrls, 'storage-api'],
      AWS_ACCESS_KEY_ID: [S.storage, 'accessKeyId'],
      AWS_SECRET_ACCESS_KEY: [S.storage, 'secretAccessKey'],
    },
    connectionUrls: [['storage-api', 'supabase_storage_admin', 'postgres']],
    defaulted: 'FILE_SIZE_LIMIT',
  },
  meta: {
    name: 'demo-meta',
    nameLabel: 'meta',
    role: 'metadata',
    containerName: 'meta',
    containerPorts: [['http', 8080]],
    servicePorts: [['http', 8080]],
    probes: { startup: '/health', readiness: '/health', liveness: '/health', via: 8080 },
    literals: { PG_META_PORT: '8080' },
    secretRefs: { PG_META_DB_URL: [S.connectionUrls, 'meta'] },
    connectionUrls: [['meta', 'database-user', 'postgresql']],
  },
  studio: {
    name: 'demo-studio',
    nameLabel: 'studio',
    role: 'studio',
    containerName: 'studio',
    containerPorts: [['http', 3000]],
    servicePorts: [['http', 3000]],
    probes: {
      startup: '/api/platform/profile',
      readiness: '/api/platform/profile',
      liveness: '/api/platform/profile',
      via: 3000,
    },
    literals: {
      PORT: '3000',
      SUPABASE_URL: 'http://demo-kong:8000',
      SUPABASE_PUBLIC_URL: 'https://api.demo.example.com',
      NEXT_PUBLIC_SUPABASE_URL: 'https://api.demo.example.com',
      NEXT_PUBLIC_GOTRUE_URL: 'https://api.demo.example.com/auth/v1',
      STUDIO_PG_META_URL: 'http://demo-meta:8080',
      POSTGRES_USER_READ_WRITE: 'admin',
      POSTGRES_HOST: 'db.example.net',
      POSTGRES_PORT: '5432',
      POSTGRES_DB: 'postgres',
    },
    secretRefs: { POSTGRES_PASSWORD: [S.database, 'password'] },
    connectionUrls: [],
    defaulted: 'NEXT_PUBLIC_ENABLE_LOGS',
  },
};

function probeSummary(probe: Probe, via: ProbeExpectation['via']): string {
  if (via === 'exec') {
    assert.ok(probe.exec, 'an exec probe');
    return probe.exec.command.join(' ');
  }
  assert.ok(probe.httpGet, 'an HTTP probe');
  assert.equal(probe.httpGet.port, via);
  return probe.httpGet.path;
}

describe('component builders', () => {
  test('COMPONENT_BUILDERS covers every component; the apply order is Kong, Auth, PostgREST, Realtime, Storage API, Meta, Studio', () => {
    assert.deepEqual(Object.keys(COMPONENT_BUILDERS).sort(), [...COMPONENTS].sort());
    assert.deepEqual(COMPONENT_APPLY_ORDER, [
      'kong',
      'auth',
      'postgrest',
      'realtime',
      'storageApi',
      'meta',
      'studio',
    ]);
  });

  for (const component of COMPONENTS) {
    const expected = EXPECTED[component];
    describe(component, () => {
      test('names, labels, selector and owner reference', () => {
        const b = build(component);
        assert.equal(b.component, component);
        const labels = {
          'app.kubernetes.io/name': expected.nameLabel,
          'app.kubernetes.io/instance': PROJECT,
          'app.kubernetes.io/component': expected.role,
          'app.kubernetes.io/part-of': 'supabase',
          'app.kubernetes.io/managed-by': 'supabase-reconciler',
        };
        const selector = {
          'app.kubernetes.io/name': expected.nameLabel,
          'app.kubernetes.io/instance': PROJECT,
        };
        const owner = {
          apiVersion: 'supabase.reconciler.dev/v1alpha1',
          kind: 'SupabaseProject',
          name: PROJECT,
          uid: UID,
          controller: true,
          blockOwnerDeletion: true,
        };
        const d = deployment(b);
        const s = service(b);
        for (const object of [d, s, ...(b.configMaps as ConfigMapManifest[])]) {
          assert.equal(object.metadata.namespace, NAMESPACE);
          assert.deepEqual(object.metadata.labels, labels, `${object.kind} labels`);
          assert.deepEqual(object.metadata.ownerReferences, [owner], `${object.kind} owner`);
        }
        assert.equal(d.apiVersion, 'apps/v1');
        assert.equal(d.kind, 'Deployment');
        assert.equal(d.metadata.name, expected.name);
        assert.equal(s.apiVersion, 'v1');
        assert.equal(s.kind, 'Service');
        assert.equal(s.metadata.name, expected.name);
        assert.deepEqual(d.spec.selector, { matchLabels: selector });
        assert.deepEqual(d.spec.template.metadata.labels, labels);
        assert.deepEqual(s.spec.selector, selector);
        assert.equal(s.spec.type, 'ClusterIP');
        assert.equal(d.spec.template.spec.enableServiceLinks, false);
        assert.equal(d.spec.template.spec.containers.length, 1);
        assert.equal(container(b).name, expected.containerName);
      });

      test('ports of the container and of the Service', () => {
        const b = build(component);
        assert.deepEqual(
          container(b).ports.map((p) => [p.name, p.containerPort, p.protocol]),
          expected.containerPorts.map(([n, p]) => [n, p, 'TCP']),
        );
        assert.deepEqual(
          service(b).spec.ports.map((p) => [p.name, p.port, p.targetPort, p.protocol]),
          expected.servicePorts.map(([n, p]) => [n, p, p, 'TCP']),
        );
      });

      test('image: the default, or spec.<component>.image', () => {
        assert.equal(container(build(component)).image, DEFAULT_IMAGES[component]);
        const image = `registry.example.com/mirror/${component.toLowerCase()}:pinned`;
        assert.equal(container(build(component, { [component]: { image } })).image, image);
      });

      test('replicas: 1 by default, the given number, and 0 stays 0', () => {
        assert.equal(deployment(build(component)).spec.replicas, 1);
        assert.equal(
          deployment(build(component, { [component]: { replicas: 3 } })).spec.replicas,
          3,
        );
        assert.equal(
          deployment(build(component, { [component]: { replicas: 0 } })).spec.replicas,
          0,
        );
      });

      test('resources: the defaults of facts §2.1, replaced whole by spec.<component>.resources', () => {
        assert.deepEqual(container(build(component)).resources, DEFAULT_RESOURCES[component]);
        const resources = { requests: { cpu: '1' } };
        assert.deepEqual(container(build(component, { [component]: { resources } })).resources, {
          requests: { cpu: '1' },
        });
      });

      test('startup, readiness and liveness probes on the health path', () => {
        const c = container(build(component));
        const { via } = expected.probes;
        assert.equal(probeSummary(c.startupProbe, via), expected.probes.startup);
        assert.equal(probeSummary(c.readinessProbe, via), expected.probes.readiness);
        assert.equal(probeSummary(c.livenessProbe, via), expected.probes.liveness);
        assert.equal(c.startupProbe.failureThreshold, PROBE_TIMING.startup.failureThreshold);
        assert.equal(c.readinessProbe.periodSeconds, PROBE_TIMING.readiness.periodSeconds);
        assert.equal(c.livenessProbe.periodSeconds, PROBE_TIMING.liveness.periodSeconds);
        // An HTTP probe's port must be one of the container's ports.
        if (via !== 'exec') {
          assert.ok(c.ports.some((p) => p.containerPort === via));
        }
      });

      test('environment: literals, Secret references, no duplicate names, only known variables', () => {
        const b = build(component);
        const byName = envMap(b);
        assert.equal(byName.size, env(b).length, 'no variable twice');
        for (const [name, value] of Object.entries(expected.literals)) {
          assert.deepEqual(byName.get(name), { name, value }, name);
        }
        for (const [name, [secret, key]] of Object.entries(expected.secretRefs)) {
          assert.deepEqual(
            byName.get(name),
            { name, valueFrom: { secretKeyRef: { name: secret, key } } },
            name,
          );
        }
        const known = knownEnv(component);
        for (const e of env(b))
          assert.ok(
            known.has(e.name),
            `${e.name} is listed in owned-env.ts or ADDITIONAL_OWNED_ENV`,
          );
      });

      test('JWT secret and keys: exactly the secretKeyRefs conventions.ts records, and its settings', () => {
        const b = build(component);
        const refs = env(b)
          .filter((e) => e.valueFrom?.secretKeyRef?.name === S.jwt)
          .map((e) => ({ env: e.name, key: e.valueFrom?.secretKeyRef?.key }));
        assert.deepEqual(
          refs,
          JWT_SECRET_ENV[component].map(({ env: name, key }) => ({ env: name, key })),
        );
        const settings: Readonly<Record<string, string>> =
          (JWT_SECRET_SETTINGS as Partial<Record<ComponentName, Record<string, string>>>)[
            component
          ] ?? {};
        for (const [name, value] of Object.entries(settings)) {
          assert.deepEqual(envMap(b).get(name), { name, value });
        }
      });

      test('connection URLs: declared, read from <project>-db-urls, with sslmode, as a login role or the Secret user', () => {
        const b = build(component);
        assert.deepEqual(
          b.connectionUrls.map((u) => [u.key, u.role, u.scheme]),
          expected.connectionUrls,
        );
        const readKeys = env(b)
          .filter((e) => e.valueFrom?.secretKeyRef?.name === S.connectionUrls)
          .map((e) => e.valueFrom?.secretKeyRef?.key);
        assert.deepEqual(readKeys.sort(), b.connectionUrls.map((u) => u.key).sort());
        const roles: readonly string[] = [...SERVICE_LOGIN_ROLES, 'database-user'];
        for (const url of b.connectionUrls) {
          assert.equal(url.sslmode, true, `${url.key} carries the project's sslmode`);
          assert.ok(roles.includes(url.role), url.role);
        }
      });

      test('Secret references point only at the Secrets named in the inputs', () => {
        const allowed = new Set(Object.values(S));
        for (const e of env(build(component))) {
          const ref = e.valueFrom?.secretKeyRef;
          if (ref) assert.ok(allowed.has(ref.name), `${e.name} reads ${ref.name}`);
        }
      });

      test('extraEnv: a defaulted variable is replaced in place, a new one appended, an owned one never set', () => {
        const base = env(build(component));
        const owned = [...OWNED_ENV[component], ...ADDITIONAL_OWNED_ENV[component]];
        const extraEnv: EnvVar[] = [
          { name: 'EXTRA_SETTING', value: 'on' },
          ...(owned[0] ? [{ name: owned[0], value: 'hijacked' }] : []),
          { name: 'EXTRA_FROM_SECRET', valueFrom: { secretKeyRef: { name: 'mine', key: 'k' } } },
        ];
        if (expected.defaulted) {
          assert.ok((DEFAULTED_ENV[component] as readonly string[]).includes(expected.defaulted));
          extraEnv.push({ name: expected.defaulted, value: 'tuned' });
        }
        const merged = env(build(component, { [component]: { extraEnv } }));
        const names = merged.map((e) => e.name);
        assert.equal(new Set(names).size, names.length, 'no duplicate');
        // The builder's variables keep their order; the new ones follow in the given order.
        assert.deepEqual(names, [...base.map((e) => e.name), 'EXTRA_SETTING', 'EXTRA_FROM_SECRET']);
        if (expected.defaulted) {
          assert.deepEqual(
            merged.find((e) => e.name === expected.defaulted),
            {
              name: expected.defaulted,
              value: 'tuned',
            },
          );
        }
        for (const name of owned) {
          assert.notDeepEqual(merged.find((e) => e.name === name)?.value, 'hijacked');
        }
      });

      test('pure: the same input gives the same output and the input is not changed', () => {
        const spec = { [component]: { extraEnv: [{ name: 'X', value: '1' }], replicas: 2 } };
        const p = project(spec);
        const before = structuredClone(p);
        const inputsBefore = structuredClone(INPUTS);
        const first = COMPONENT_BUILDERS[component](p, INPUTS);
        assert.deepEqual(COMPONENT_BUILDERS[component](p, INPUTS), first);
        assert.deepEqual(p, before);
        assert.deepEqual(INPUTS, inputsBefore);
      });

      test('no localhost anywhere, and no public URL other than the inputs', () => {
        const text = JSON.stringify(build(component));
        assert.doesNotMatch(text, /localhost|127\.0\.0\.1:(?!8001)/);
      });
    });
  }
});

describe('component specifics', () => {
  test('Realtime: DB_SSL follows the sslmode (encryption required or not)', () => {
    const cases: [SslMode, boolean][] = [
      ['disable', false],
      ['allow', false],
      ['prefer', false],
      ['require', true],
      ['verify-ca', true],
      ['verify-full', true],
    ];
    for (const [sslMode, ssl] of cases) {
      assert.equal(realtimeDbSsl(sslMode), ssl, sslMode);
      const b = build('realtime', {}, { ...INPUTS, database: { ...INPUTS.database, sslMode } });
      assert.equal(envMap(b).get('DB_SSL')?.value, String(ssl));
    }
  });

  test("Realtime: the tenant is the Service name, so Kong's Host header selects it", () => {
    const b = build('realtime');
    assert.equal(envMap(b).get('SELF_HOST_TENANT_NAME')?.value, service(b).metadata.name);
  });

  test('Storage API: forcePathStyle false is kept', () => {
    const b = build(
      'storageApi',
      {},
      { ...INPUTS, storage: { ...INPUTS.storage, forcePathStyle: false } },
    );
    assert.equal(envMap(b).get('GLOBAL_S3_FORCE_PATH_STYLE')?.value, 'false');
  });

  test('Studio: a public URL with a trailing slash gives one slash before /auth/v1', () => {
    const urls = { ...INPUTS.urls, apiExternal: 'https://api.demo.example.com/' };
    const b = build('studio', {}, { ...INPUTS, urls });
    assert.equal(
      envMap(b).get('NEXT_PUBLIC_GOTRUE_URL')?.value,
      'https://api.demo.example.com/auth/v1',
    );
  });

  test('Kong: mounts its ConfigMap and starts through the entry-point; without Studio no dashboard credentials', () => {
    const b = build('kong');
    const d = deployment(b);
    const [configMap] = b.configMaps as ConfigMapManifest[];
    assert.ok(configMap);
    assert.equal(configMap.metadata.name, 'demo-kong-config');
    assert.deepEqual(d.spec.template.spec.volumes, [
      { name: 'kong-config', configMap: { name: 'demo-kong-config' } },
    ]);
    assert.deepEqual(container(b).volumeMounts, [
      { name: 'kong-config', mountPath: '/etc/supabase/kong', readOnly: true },
    ]);
    assert.deepEqual(container(b).command, ['/bin/sh', '/etc/supabase/kong/kong-entrypoint.sh']);
    const without = envMap(build('kong', { studio: { enabled: false } }));
    assert.equal(without.has('DASHBOARD_USERNAME'), false);
    assert.equal(without.has('DASHBOARD_PASSWORD'), false);
  });

  test('only Kong has ConfigMaps', () => {
    for (const component of COMPONENTS) {
      assert.equal(build(component).configMaps.length, component === 'kong' ? 1 : 0, component);
    }
  });

  test('ADDITIONAL_OWNED_ENV overlaps neither OWNED_ENV nor DEFAULTED_ENV (move them there when shared/api takes them)', () => {
    for (const component of COMPONENTS) {
      const listed = new Set<string>([...OWNED_ENV[component], ...DEFAULTED_ENV[component]]);
      for (const name of ADDITIONAL_OWNED_ENV[component]) {
        assert.equal(listed.has(name), false, `${component} ${name}`);
      }
    }
  });

  test('Auth with spec.auth.smtpSecretRef: every SMTP setting from that Secret by reference, autoconfirm off, mail links through Kong', () => {
    const inputs: BuildInputs = { ...INPUTS, secrets: { ...INPUTS.secrets, smtp: 'demo-smtp' } };
    const spec = { auth: { smtpSecretRef: { name: 'demo-smtp' } } };
    const b = build('auth', spec, inputs);
    const byName = envMap(b);
    const fromSmtp = (key: string) => ({ secretKeyRef: { name: 'demo-smtp', key } });
    for (const [name, key] of [
      ['GOTRUE_SMTP_HOST', 'host'],
      ['GOTRUE_SMTP_PORT', 'port'],
      ['GOTRUE_SMTP_USER', 'username'],
      ['GOTRUE_SMTP_PASS', 'password'],
      ['GOTRUE_SMTP_ADMIN_EMAIL', 'from'],
    ] as const) {
      assert.deepEqual(byName.get(name), { name, valueFrom: fromSmtp(key) }, name);
    }
    assert.deepEqual(byName.get('GOTRUE_MAILER_AUTOCONFIRM'), {
      name: 'GOTRUE_MAILER_AUTOCONFIRM',
      value: 'false',
    });
    for (const kind of ['INVITE', 'CONFIRMATION', 'RECOVERY', 'EMAIL_CHANGE']) {
      assert.equal(byName.get(`GOTRUE_MAILER_URLPATHS_${kind}`)?.value, '/auth/v1/verify');
    }
    const known = knownEnv('auth');
    for (const e of env(b)) assert.ok(known.has(e.name), e.name);
    // A user who configured SMTP through extraEnv before the field was read keeps control.
    const tuned = envMap(
      build(
        'auth',
        {
          auth: {
            smtpSecretRef: { name: 'demo-smtp' },
            extraEnv: [{ name: 'GOTRUE_SMTP_PORT', value: '2525' }],
          },
        },
        inputs,
      ),
    );
    assert.deepEqual(tuned.get('GOTRUE_SMTP_PORT'), { name: 'GOTRUE_SMTP_PORT', value: '2525' });
  });

  test('Auth without SMTP confirms sign-ups itself and has no SMTP setting', () => {
    const byName = envMap(build('auth'));
    assert.equal(byName.get('GOTRUE_MAILER_AUTOCONFIRM')?.value, 'true');
    assert.deepEqual(
      [...byName.keys()].filter((n) => n.startsWith('GOTRUE_SMTP_') || n.includes('URLPATHS')),
      [],
    );
  });
});
