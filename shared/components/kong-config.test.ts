/**
 * Kong's declarative configuration: it parses as YAML with the expected routes, consumers,
 * key-auth credentials and ACLs; a disabled Studio leaves no route, consumer or credential;
 * every upstream is a Service the builders make, on its port; and the entry-point's renderer,
 * run for real with this machine's awk, turns secret values with quotes, `@`, `:`, `/`, `%`,
 * `$`, spaces, newlines and control characters into exactly those values in the rendered
 * configuration, while the ConfigMap's text holds only placeholders.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse } from 'yaml';
import type { SupabaseProjectSpec } from '../api/types.ts';
import { COMPONENT_BUILDERS } from './index.ts';
import {
  KONG_AUTH_EXPRESSION,
  KONG_CONFIG_KEYS,
  KONG_CONFIG_VARIABLES,
  KONG_ENTRYPOINT,
  KONG_RENDER_AWK,
  type KongDeclarativeConfig,
} from './kong-config.ts';
import { KONG_PLUGINS } from './kong.ts';
import type { ConfigMapManifest, DeploymentManifest, ServiceManifest } from './manifests.ts';
import type { BuildableProject, BuildInputs } from './types.ts';

const INPUTS: BuildInputs = {
  database: { host: 'db', port: 5432, name: 'postgres', user: 'admin', sslMode: 'require' },
  storage: { endpoint: 'https://s3', region: 'r', bucket: 'b', forcePathStyle: true },
  secrets: {
    database: 'demo-db',
    storage: 'demo-s3',
    jwt: 'demo-jwt',
    dashboard: 'demo-dashboard-basic-auth',
    connectionUrls: 'demo-db-urls',
  },
  urls: { apiExternal: 'https://api.example.com', site: 'https://app.example.com' },
};

function project(spec: Partial<SupabaseProjectSpec> = {}): BuildableProject {
  return {
    apiVersion: 'supabase.reconciler.dev/v1alpha1',
    kind: 'SupabaseProject',
    metadata: { name: 'demo', namespace: 'ns', uid: 'u-1' },
    spec: {
      projectId: 'demo',
      database: { secretRef: { name: 'demo-db' } },
      storage: { secretRef: { name: 'demo-s3' } },
      ...spec,
    },
  };
}

function kongConfigMap(spec: Partial<SupabaseProjectSpec> = {}): ConfigMapManifest {
  const [configMap] = COMPONENT_BUILDERS.kong(project(spec), INPUTS)
    .configMaps as ConfigMapManifest[];
  assert.ok(configMap);
  return configMap;
}

function template(spec: Partial<SupabaseProjectSpec> = {}): string {
  const text = kongConfigMap(spec).data[KONG_CONFIG_KEYS.template];
  assert.ok(text);
  return text;
}

function parsed(spec: Partial<SupabaseProjectSpec> = {}): KongDeclarativeConfig {
  return parse(template(spec)) as KongDeclarativeConfig;
}

/** route name -> [service name, upstream URL, route paths or expression, plugin names]. */
const EXPECTED_ROUTES: Record<string, [string, string, string, string[]]> = {
  'auth-v1-open': ['auth-v1-open', 'http://demo-auth:9999/verify', '/auth/v1/verify', ['cors']],
  'auth-v1-open-callback': [
    'auth-v1-open-callback',
    'http://demo-auth:9999/callback',
    '/auth/v1/callback',
    ['cors'],
  ],
  'auth-v1-open-authorize': [
    'auth-v1-open-authorize',
    'http://demo-auth:9999/authorize',
    '/auth/v1/authorize',
    ['cors'],
  ],
  'auth-v1-open-jwks': [
    'auth-v1-open-jwks',
    'http://demo-auth:9999/.well-known/jwks.json',
    '/auth/v1/.well-known/jwks.json',
    ['cors'],
  ],
  'auth-v1-open-sso-acs': [
    'auth-v1-open-sso-acs',
    'http://demo-auth:9999/sso/saml/acs',
    '/auth/v1/sso/saml/acs',
    ['cors'],
  ],
  'auth-v1-open-sso-metadata': [
    'auth-v1-open-sso-metadata',
    'http://demo-auth:9999/sso/saml/metadata',
    '/auth/v1/sso/saml/metadata',
    ['cors'],
  ],
  'auth-v1-all': [
    'auth-v1',
    'http://demo-auth:9999/',
    '/auth/v1/',
    ['cors', 'key-auth', 'request-transformer', 'acl'],
  ],
  'rest-v1-openapi-root': [
    'rest-v1-openapi',
    'http://demo-postgrest:3000/',
    'http.path == "/rest/v1/"',
    ['cors', 'key-auth', 'request-transformer', 'acl'],
  ],
  'rest-v1-all': [
    'rest-v1',
    'http://demo-postgrest:3000/',
    '/rest/v1/',
    ['cors', 'key-auth', 'request-transformer', 'acl'],
  ],
  'graphql-v1-all': [
    'graphql-v1',
    'http://demo-postgrest:3000/rpc/graphql',
    '/graphql/v1',
    ['cors', 'key-auth', 'request-transformer', 'acl'],
  ],
  'realtime-v1-ws': [
    'realtime-v1-ws',
    'http://demo-realtime:4000/socket',
    '/realtime/v1/',
    ['cors', 'key-auth', 'request-transformer', 'acl'],
  ],
  'realtime-v1-rest-openapi': [
    'realtime-v1-rest-openapi',
    'http://demo-realtime:4000/api/openapi',
    '/realtime/v1/api/openapi',
    ['request-termination'],
  ],
  'realtime-v1-rest-tenants': [
    'realtime-v1-rest-tenants',
    'http://demo-realtime:4000/api/tenants',
    '/realtime/v1/api/tenants',
    ['request-termination'],
  ],
  'realtime-v1-rest': [
    'realtime-v1-rest',
    'http://demo-realtime:4000/api',
    '/realtime/v1/api',
    ['cors', 'key-auth', 'request-transformer', 'acl'],
  ],
  'storage-v1-all': [
    'storage-v1',
    'http://demo-storage-api:5000/',
    '/storage/v1/',
    ['cors', 'request-transformer', 'post-function'],
  ],
  'well-known-oauth': [
    'well-known-oauth',
    'http://demo-auth:9999/.well-known/oauth-authorization-server',
    '/.well-known/oauth-authorization-server',
    ['cors'],
  ],
  'meta-all': ['meta', 'http://demo-meta:8080/', '/pg/', ['key-auth', 'acl']],
  'mcp-blocker-route': [
    'mcp-blocker',
    'http://demo-studio:3000/api/mcp',
    '/api/mcp',
    ['request-termination'],
  ],
  'dashboard-all': ['dashboard', 'http://demo-studio:3000/', '/', ['cors', 'basic-auth']],
};

const STUDIO_ROUTES = ['mcp-blocker-route', 'dashboard-all'];

function routesOf(config: KongDeclarativeConfig) {
  return Object.fromEntries(
    config.services.flatMap((s) =>
      s.routes.map((r) => [
        r.name,
        [
          s.name,
          s.url,
          r.expression ?? (r.paths ?? []).join(','),
          (s.plugins ?? []).map((p) => p.name),
        ],
      ]),
    ),
  );
}

function pluginConfig(config: KongDeclarativeConfig, service: string, plugin: string) {
  const found = config.services
    .find((s) => s.name === service)
    ?.plugins?.find((p) => p.name === plugin);
  assert.ok(found, `${service} has ${plugin}`);
  return found.config as Record<string, unknown>;
}

describe('Kong declarative configuration', () => {
  test('parses as YAML, format 2.1 with _transform, every route of facts §2.2', () => {
    const config = parsed();
    assert.equal(config._format_version, '2.1');
    assert.equal(config._transform, true);
    assert.deepEqual(routesOf(config), EXPECTED_ROUTES);
    for (const r of config.services.flatMap((s) => s.routes)) assert.equal(r.strip_path, true);
    assert.equal(config.services.find((s) => s.name === 'realtime-v1-ws')?.protocol, 'ws');
  });

  test('consumers, key-auth credentials, ACL groups and the dashboard basic-auth credential', () => {
    const config = parsed();
    assert.deepEqual(config.consumers, [
      { username: 'DASHBOARD' },
      { username: 'anon', keyauth_credentials: [{ key: '${SUPABASE_ANON_KEY}' }] },
      { username: 'service_role', keyauth_credentials: [{ key: '${SUPABASE_SERVICE_KEY}' }] },
    ]);
    assert.deepEqual(config.acls, [
      { consumer: 'anon', group: 'anon' },
      { consumer: 'service_role', group: 'admin' },
    ]);
    assert.deepEqual(config.basicauth_credentials, [
      {
        consumer: 'DASHBOARD',
        username: '${DASHBOARD_USERNAME}',
        password: '${DASHBOARD_PASSWORD}',
      },
    ]);
  });

  test('ACLs: service role only on the OpenAPI root and postgres-meta; anon and service role elsewhere', () => {
    const config = parsed();
    const allow = (service: string) => pluginConfig(config, service, 'acl').allow;
    assert.deepEqual(allow('rest-v1-openapi'), ['admin']);
    assert.deepEqual(allow('meta'), ['admin']);
    for (const service of [
      'auth-v1',
      'rest-v1',
      'graphql-v1',
      'realtime-v1-ws',
      'realtime-v1-rest',
    ]) {
      assert.deepEqual(allow(service), ['admin', 'anon'], service);
      assert.equal(pluginConfig(config, service, 'acl').hide_groups_header, true);
      assert.deepEqual(pluginConfig(config, service, 'key-auth'), { hide_credentials: false });
    }
    assert.deepEqual(pluginConfig(config, 'dashboard', 'basic-auth'), { hide_credentials: true });
  });

  test('request transformers: Authorization from the legacy-key expression; GraphQL gets its Content-Profile', () => {
    const config = parsed();
    const header = `Authorization: ${KONG_AUTH_EXPRESSION}`;
    assert.deepEqual(pluginConfig(config, 'graphql-v1', 'request-transformer'), {
      add: { headers: ['Content-Profile: graphql_public', header] },
      replace: { headers: [header] },
    });
    assert.deepEqual(pluginConfig(config, 'realtime-v1-ws', 'request-transformer'), {
      add: { headers: ['x-api-key:$(query_params.apikey)'] },
      replace: { querystring: ['apikey:$(query_params.apikey)'] },
    });
  });

  test('a disabled Studio has no route, no dashboard consumer and no basic-auth credential', () => {
    const config = parsed({ studio: { enabled: false } });
    const expected = Object.fromEntries(
      Object.entries(EXPECTED_ROUTES).filter(([name]) => !STUDIO_ROUTES.includes(name)),
    );
    assert.deepEqual(routesOf(config), expected);
    assert.deepEqual(
      config.consumers.map((c) => c.username),
      ['anon', 'service_role'],
    );
    assert.equal(config.basicauth_credentials, undefined);
    assert.doesNotMatch(template({ studio: { enabled: false } }), /DASHBOARD|demo-studio/);
  });

  test('every upstream is a built Service on one of its ports; every plugin is enabled in KONG_PLUGINS', () => {
    const ports = new Map<string, number[]>();
    for (const builder of Object.values(COMPONENT_BUILDERS)) {
      const s = builder(project(), INPUTS).service as ServiceManifest;
      ports.set(
        s.metadata.name,
        s.spec.ports.map((p) => p.port),
      );
    }
    const enabled = KONG_PLUGINS.split(',');
    const config = parsed();
    for (const s of config.services) {
      const url = new URL(s.url);
      assert.ok(ports.get(url.hostname)?.includes(Number(url.port)), s.url);
      for (const p of s.plugins ?? []) assert.ok(enabled.includes(p.name), p.name);
    }
    const names = config.services.map((s) => s.name);
    assert.equal(new Set(names).size, names.length, 'service names are unique');
  });

  test('the text holds placeholders only as whole plain scalars, and no other ${ }', () => {
    const text = template();
    const lines = text.split('\n').filter((l) => l.includes('${'));
    assert.equal(lines.length, 4);
    for (const line of lines) {
      assert.match(line, /^\s*(- )?[a-z_]+: \$\{[A-Z_]+\}$/, line);
    }
  });

  test('the Kong pod reads every placeholder variable from a Secret', () => {
    const d = COMPONENT_BUILDERS.kong(project(), INPUTS).deployment as DeploymentManifest;
    const env = new Map(d.spec.template.spec.containers[0].env.map((e) => [e.name, e]));
    for (const name of Object.values(KONG_CONFIG_VARIABLES)) {
      assert.ok(env.get(name)?.valueFrom?.secretKeyRef, `${name} from a Secret`);
      assert.equal(env.get(name)?.value, undefined);
    }
  });
});

describe('the entry-point renders the configuration from the environment', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kong-render-'));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const awkFile = join(dir, 'render.awk');
  writeFileSync(awkFile, KONG_RENDER_AWK);

  /**
   * The awks to run the renderer with: the machine's `awk` always, and mawk (Debian's and
   * Ubuntu's default, as in the kong/kong image), gawk and busybox's awk where installed
   * (.ci/run installs all three).
   */
  const AWKS: (readonly string[])[] = [['awk']];
  for (const candidate of [['mawk'], ['gawk'], ['busybox', 'awk']]) {
    const probe = spawnSync(candidate[0] ?? '', [...candidate.slice(1), 'BEGIN { exit 0 }']);
    if (probe.status === 0) AWKS.push(candidate);
  }

  function render(
    templateText: string,
    env: Record<string, string>,
    awk: readonly string[] = ['awk'],
  ) {
    const input = join(dir, 'kong.yml');
    writeFileSync(input, templateText);
    return spawnSync(awk[0] ?? 'awk', [...awk.slice(1), '-f', awkFile, input], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', ...env },
      encoding: 'utf8',
    });
  }

  const HOSTILE_PASSWORD = `it's "quoted" @host:5432/db %41%zz $HOME \${DASHBOARD_USERNAME} back\\slash\ttab\nnew line # not a comment: {x: [y]} é ✓\r\x01\x7f end `;
  const HOSTILE_USERNAME = `o'brien: "admin" - &anchor *alias | > !tag`;
  const HOSTILE_ANON_KEY = `eyJ.${'x'.repeat(300)}.sig$/%@:'"`;
  const SERVICE_KEY = 'eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2ln';

  for (const awk of AWKS) {
    test(`${awk.join(' ')}: a dashboard password with quotes, @ : / % $ spaces, a newline and control characters arrives intact`, () => {
      const text = template();
      // The ConfigMap's text never holds the values: the builder never sees them.
      assert.equal(text.includes(HOSTILE_PASSWORD), false);
      const result = render(
        text,
        {
          [KONG_CONFIG_VARIABLES.anonKey]: HOSTILE_ANON_KEY,
          [KONG_CONFIG_VARIABLES.serviceKey]: SERVICE_KEY,
          [KONG_CONFIG_VARIABLES.dashboardUsername]: HOSTILE_USERNAME,
          [KONG_CONFIG_VARIABLES.dashboardPassword]: HOSTILE_PASSWORD,
        },
        awk,
      );
      assert.equal(result.status, 0, result.stderr);
      const rendered = parse(result.stdout) as KongDeclarativeConfig;
      assert.deepEqual(rendered.basicauth_credentials, [
        { consumer: 'DASHBOARD', username: HOSTILE_USERNAME, password: HOSTILE_PASSWORD },
      ]);
      assert.deepEqual(rendered.consumers, [
        { username: 'DASHBOARD' },
        { username: 'anon', keyauth_credentials: [{ key: HOSTILE_ANON_KEY }] },
        { username: 'service_role', keyauth_credentials: [{ key: SERVICE_KEY }] },
      ]);
      // Everything else is exactly the template's configuration.
      const expected = parse(text) as KongDeclarativeConfig;
      assert.deepEqual(rendered.services, expected.services);
      assert.deepEqual(rendered.acls, expected.acls);
    });
  }

  test('a missing or empty variable stops the start, naming the variable and no value', () => {
    const env = {
      [KONG_CONFIG_VARIABLES.anonKey]: 'anon-secret-value',
      [KONG_CONFIG_VARIABLES.serviceKey]: 'service-secret-value',
      [KONG_CONFIG_VARIABLES.dashboardUsername]: 'user-secret-value',
    };
    for (const extra of [{}, { [KONG_CONFIG_VARIABLES.dashboardPassword]: '' }]) {
      const result = render(template(), { ...env, ...extra });
      assert.notEqual(result.status, 0);
      assert.match(result.stderr, /DASHBOARD_PASSWORD is not set or empty/);
      assert.doesNotMatch(result.stderr, /secret-value/);
    }
  });

  test('the entry-point script is valid sh and runs the renderer on the mounted files', () => {
    const script = join(dir, 'entrypoint.sh');
    writeFileSync(script, KONG_ENTRYPOINT);
    const result = spawnSync('sh', ['-n', script], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(
      KONG_ENTRYPOINT,
      /LC_ALL=C awk -f \/etc\/supabase\/kong\/render-kong-config\.awk \\\n {2}\/etc\/supabase\/kong\/kong\.yml > "\$KONG_DECLARATIVE_CONFIG"/,
    );
    assert.deepEqual(Object.keys(kongConfigMap().data).sort(), [
      'kong-entrypoint.sh',
      'kong.yml',
      'render-kong-config.awk',
    ]);
  });
});
