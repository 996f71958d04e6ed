/**
 * Kong's declarative configuration (routes, consumers, key-auth, ACLs, basic auth for
 * Studio) and the entry-point that renders it at container start.
 *
 * The routes, plugins and consumers are upstream Supabase's `docker/volumes/api/kong.yml` as
 * the reference operator ships it (facts §2.2), without edge functions and analytics, which
 * no project runs.
 *
 * No secret and nothing user-controlled is written into the YAML text (gap 22: the reference
 * operator single-quoted `$DASHBOARD_PASSWORD` in the template, so a `'` in the password
 * broke kong.yml). The configuration is built as data and serialised by the `yaml` package;
 * the four secret values (the two API keys and the dashboard credentials) appear in it only
 * as placeholders `${NAME}`, each a whole plain scalar. Kong's pod gets the values through
 * `secretKeyRef`s, and at start the entry-point's awk program replaces each placeholder by
 * the variable's value written as a double-quoted scalar with every `"`, `\` and control
 * character escaped (JSON string syntax, which YAML reads the same way), so no value can
 * change the document's structure. A missing or empty variable stops the container instead
 * of leaving the placeholder as a usable credential.
 */
import { stringify } from 'yaml';
import { isComponentEnabled } from '../api/enabled-components.ts';
import { componentResourceName } from '../api/resource-names.ts';
import {
  AUTH_PORT,
  META_PORT,
  POSTGREST_PORT,
  REALTIME_PORT,
  STORAGE_API_PORT,
  STUDIO_PORT,
} from './ports.ts';
import type { BuildableProject } from './types.ts';

/** Where the ConfigMap `<project>-kong-config` is mounted in Kong's container. */
export const KONG_CONFIG_MOUNT = '/etc/supabase/kong';

/**
 * Where the entry-point writes the rendered configuration (KONG_DECLARATIVE_CONFIG): Kong's
 * prefix directory, writable by the kong user (uid 1001) of the kong/kong image.
 */
export const KONG_RENDERED_CONFIG = '/usr/local/kong/kong.yml';

/** Keys of the ConfigMap `<project>-kong-config`. */
export const KONG_CONFIG_KEYS = {
  template: 'kong.yml',
  entrypoint: 'kong-entrypoint.sh',
  renderer: 'render-kong-config.awk',
} as const;

/** The variables the entry-point substitutes into the configuration. */
export const KONG_CONFIG_VARIABLES = {
  anonKey: 'SUPABASE_ANON_KEY',
  serviceKey: 'SUPABASE_SERVICE_KEY',
  dashboardUsername: 'DASHBOARD_USERNAME',
  dashboardPassword: 'DASHBOARD_PASSWORD',
} as const;

/**
 * The placeholder the entry-point replaces by a variable's value.
 * @param name - the environment variable
 */
export function placeholder(name: string): string {
  return `\${${name}}`;
}

/**
 * The Authorization header Kong forwards (upstream's LUA_AUTH_EXPR, legacy-key branch): the
 * client's Authorization unless it is absent or an opaque `Bearer sb_…` key, else the
 * `apikey` header. A Kong template (`$(...)`, evaluated per request by
 * request-transformer), written literally: it holds no secret, so it needs no variable.
 */
export const KONG_AUTH_EXPRESSION =
  "$((headers.authorization ~= nil and headers.authorization:sub(1, 10) ~= 'Bearer sb_' and headers.authorization) or headers.apikey)";

/** Realtime's API key from the WebSocket URL's query (upstream's LUA_RT_WS_EXPR). */
export const KONG_REALTIME_KEY_EXPRESSION = '$(query_params.apikey)';

/** ACL groups of the two API-key consumers. */
export const KONG_ACL_GROUPS = { anon: 'anon', serviceRole: 'admin' } as const;

type Plugin = Readonly<Record<string, unknown>> & { readonly name: string };

interface KongRoute {
  readonly name: string;
  readonly strip_path: true;
  readonly paths?: readonly string[];
  readonly expression?: string;
}

/** One Kong service with its routes and plugins. */
export interface KongService {
  readonly name: string;
  readonly url: string;
  readonly protocol?: 'http' | 'ws';
  readonly routes: readonly KongRoute[];
  readonly plugins?: readonly Plugin[];
}

/** The declarative configuration as data. */
export interface KongDeclarativeConfig {
  readonly _format_version: '2.1';
  readonly _transform: true;
  readonly consumers: readonly Readonly<Record<string, unknown>>[];
  readonly acls: readonly { readonly consumer: string; readonly group: string }[];
  readonly basicauth_credentials?: readonly Readonly<Record<string, string>>[];
  readonly services: readonly KongService[];
}

const cors: Plugin = { name: 'cors' };
const keyAuth: Plugin = { name: 'key-auth', config: { hide_credentials: false } };
const forbidden: Plugin = {
  name: 'request-termination',
  config: { status_code: 403, message: 'Access is forbidden.' },
};

function acl(...allow: string[]): Plugin {
  return { name: 'acl', config: { hide_groups_header: true, allow } };
}

function forwardAuthorization(...extraHeaders: string[]): Plugin {
  const header = `Authorization: ${KONG_AUTH_EXPRESSION}`;
  return {
    name: 'request-transformer',
    config: { add: { headers: [...extraHeaders, header] }, replace: { headers: [header] } },
  };
}

function route(name: string, path: string): KongRoute {
  return { name, strip_path: true, paths: [path] };
}

/**
 * Upstream's storage route drops an empty or blank Authorization header, which Storage
 * would otherwise reject as a malformed token (requests to public buckets carry none).
 */
const DROP_BLANK_AUTHORIZATION = [
  'local auth = kong.request.get_header("authorization")',
  'if auth == nil or auth == "" or auth:find("^%s*$") then',
  '  kong.service.request.clear_header("authorization")',
  'end',
  '',
].join('\n');

/**
 * The declarative configuration of a project's Kong. Studio's routes and the dashboard
 * consumer exist only when Studio is enabled: a disabled Studio leaves no route to a
 * Service that does not exist and no credential nobody uses.
 * @param project - the project
 */
export function kongDeclarativeConfig(project: BuildableProject): KongDeclarativeConfig {
  const host = (component: Parameters<typeof componentResourceName>[1], port: number) =>
    `http://${componentResourceName(project.metadata.name, component)}:${port}`;
  const auth = host('auth', AUTH_PORT);
  const rest = host('postgrest', POSTGREST_PORT);
  const realtime = host('realtime', REALTIME_PORT);
  const storage = host('storageApi', STORAGE_API_PORT);
  const meta = host('meta', META_PORT);
  const studio = host('studio', STUDIO_PORT);
  const studioEnabled = isComponentEnabled(project.spec, 'studio');
  const { anon, serviceRole } = KONG_ACL_GROUPS;

  const openAuth = (name: string, path: string): KongService => ({
    name,
    url: `${auth}${path}`,
    routes: [route(name, `/auth/v1${path}`)],
    plugins: [cors],
  });

  const services: KongService[] = [
    openAuth('auth-v1-open', '/verify'),
    openAuth('auth-v1-open-callback', '/callback'),
    openAuth('auth-v1-open-authorize', '/authorize'),
    openAuth('auth-v1-open-jwks', '/.well-known/jwks.json'),
    openAuth('auth-v1-open-sso-acs', '/sso/saml/acs'),
    openAuth('auth-v1-open-sso-metadata', '/sso/saml/metadata'),
    {
      name: 'auth-v1',
      url: `${auth}/`,
      routes: [route('auth-v1-all', '/auth/v1/')],
      plugins: [cors, keyAuth, forwardAuthorization(), acl(serviceRole, anon)],
    },
    {
      // The OpenAPI description of every exposed table: service role only.
      name: 'rest-v1-openapi',
      url: `${rest}/`,
      routes: [
        { name: 'rest-v1-openapi-root', strip_path: true, expression: 'http.path == "/rest/v1/"' },
      ],
      plugins: [cors, keyAuth, forwardAuthorization(), acl(serviceRole)],
    },
    {
      name: 'rest-v1',
      url: `${rest}/`,
      routes: [route('rest-v1-all', '/rest/v1/')],
      plugins: [cors, keyAuth, forwardAuthorization(), acl(serviceRole, anon)],
    },
    {
      // pg_graphql's resolver is the function graphql_public.graphql, called through
      // PostgREST's RPC with that schema as the profile (PostgREST must expose it).
      name: 'graphql-v1',
      url: `${rest}/rpc/graphql`,
      routes: [route('graphql-v1-all', '/graphql/v1')],
      plugins: [
        cors,
        keyAuth,
        forwardAuthorization('Content-Profile: graphql_public'),
        acl(serviceRole, anon),
      ],
    },
    {
      name: 'realtime-v1-ws',
      url: `${realtime}/socket`,
      protocol: 'ws',
      routes: [route('realtime-v1-ws', '/realtime/v1/')],
      plugins: [
        cors,
        keyAuth,
        {
          name: 'request-transformer',
          config: {
            add: { headers: [`x-api-key:${KONG_REALTIME_KEY_EXPRESSION}`] },
            replace: { querystring: [`apikey:${KONG_REALTIME_KEY_EXPRESSION}`] },
          },
        },
        acl(serviceRole, anon),
      ],
    },
    {
      // Realtime's tenant administration and its description stay inside the cluster.
      name: 'realtime-v1-rest-openapi',
      url: `${realtime}/api/openapi`,
      protocol: 'http',
      routes: [route('realtime-v1-rest-openapi', '/realtime/v1/api/openapi')],
      plugins: [forbidden],
    },
    {
      name: 'realtime-v1-rest-tenants',
      url: `${realtime}/api/tenants`,
      protocol: 'http',
      routes: [route('realtime-v1-rest-tenants', '/realtime/v1/api/tenants')],
      plugins: [forbidden],
    },
    {
      name: 'realtime-v1-rest',
      url: `${realtime}/api`,
      protocol: 'http',
      routes: [route('realtime-v1-rest', '/realtime/v1/api')],
      plugins: [cors, keyAuth, forwardAuthorization(), acl(serviceRole, anon)],
    },
    {
      // No key-auth: public buckets are read without a key; Storage checks the JWT itself.
      name: 'storage-v1',
      url: `${storage}/`,
      routes: [route('storage-v1-all', '/storage/v1/')],
      plugins: [
        cors,
        forwardAuthorization(),
        { name: 'post-function', config: { access: [DROP_BLANK_AUTHORIZATION] } },
      ],
    },
    {
      name: 'well-known-oauth',
      url: `${auth}/.well-known/oauth-authorization-server`,
      routes: [route('well-known-oauth', '/.well-known/oauth-authorization-server')],
      plugins: [cors],
    },
    {
      // postgres-meta can do anything to the database: service role only.
      name: 'meta',
      url: `${meta}/`,
      routes: [route('meta-all', '/pg/')],
      plugins: [keyAuth, acl(serviceRole)],
    },
  ];
  if (studioEnabled) {
    services.push(
      {
        // Studio's MCP endpoint would hand the database to whoever passes basic auth.
        name: 'mcp-blocker',
        url: `${studio}/api/mcp`,
        routes: [route('mcp-blocker-route', '/api/mcp')],
        plugins: [forbidden],
      },
      {
        name: 'dashboard',
        url: `${studio}/`,
        routes: [route('dashboard-all', '/')],
        plugins: [cors, { name: 'basic-auth', config: { hide_credentials: true } }],
      },
    );
  }

  const v = KONG_CONFIG_VARIABLES;
  return {
    _format_version: '2.1',
    _transform: true,
    consumers: [
      ...(studioEnabled ? [{ username: 'DASHBOARD' }] : []),
      { username: 'anon', keyauth_credentials: [{ key: placeholder(v.anonKey) }] },
      { username: 'service_role', keyauth_credentials: [{ key: placeholder(v.serviceKey) }] },
    ],
    acls: [
      { consumer: 'anon', group: anon },
      { consumer: 'service_role', group: serviceRole },
    ],
    ...(studioEnabled
      ? {
          basicauth_credentials: [
            {
              consumer: 'DASHBOARD',
              username: placeholder(v.dashboardUsername),
              password: placeholder(v.dashboardPassword),
            },
          ],
        }
      : {}),
    services,
  };
}

/**
 * The configuration as YAML text (the ConfigMap's `kong.yml`). Lines are never folded, so
 * each placeholder stays whole on its line.
 * @param config - the configuration
 */
export function kongConfigYaml(config: KongDeclarativeConfig): string {
  return stringify(config, { lineWidth: 0, minContentWidth: 0 });
}

/**
 * The awk program that renders the configuration from the environment (ConfigMap key
 * `render-kong-config.awk`). Run with LC_ALL=C so every awk (mawk in the kong image, gawk,
 * busybox) works on bytes: UTF-8 passes through unchanged and only ASCII control characters,
 * `"` and `\` are escaped. Bracket expressions instead of `\{` keep the pattern portable to
 * awks without interval expressions. Error messages name the variable, never a value.
 */
export const KONG_RENDER_AWK = String.raw`# Renders Kong's declarative configuration: each placeholder (a dollar sign and a variable
# name in braces) becomes the value of that environment variable as a YAML double-quoted
# scalar. Written by supabase-reconciler.
BEGIN {
  for (i = 1; i < 32; i++) esc[sprintf("%c", i)] = sprintf("\\u%04x", i)
  esc[sprintf("%c", 127)] = "\\u007f"
  esc["\t"] = "\\t"; esc["\n"] = "\\n"; esc["\r"] = "\\r"
  esc["\\"] = "\\\\"; esc["\""] = "\\\""
}
function quote(value,    out, i, c) {
  out = ""
  for (i = 1; i <= length(value); i++) {
    c = substr(value, i, 1)
    out = out ((c in esc) ? esc[c] : c)
  }
  return "\"" out "\""
}
{
  rest = $0
  out = ""
  while (match(rest, /[$][{][A-Za-z_][A-Za-z0-9_]*[}]/)) {
    name = substr(rest, RSTART + 2, RLENGTH - 3)
    if (!(name in ENVIRON) || ENVIRON[name] == "") {
      print "render-kong-config: environment variable " name " is not set or empty" > "/dev/stderr"
      exit 1
    }
    out = out substr(rest, 1, RSTART - 1) quote(ENVIRON[name])
    rest = substr(rest, RSTART + RLENGTH)
  }
  print out rest
}
`;

/**
 * The container's entry-point (ConfigMap key `kong-entrypoint.sh`): render, then start Kong
 * through the image's own entry-point (`/entrypoint.sh` in kong/kong, `/docker-entrypoint.sh`
 * in the Docker library's kong image, so an image override to either works).
 */
export const KONG_ENTRYPOINT = `#!/bin/sh
# Renders Kong's declarative configuration from the environment, then starts Kong.
# Written by supabase-reconciler.
set -eu
LC_ALL=C awk -f ${KONG_CONFIG_MOUNT}/${KONG_CONFIG_KEYS.renderer} \\
  ${KONG_CONFIG_MOUNT}/${KONG_CONFIG_KEYS.template} > "$KONG_DECLARATIVE_CONFIG"
if [ -x /entrypoint.sh ]; then
  exec /entrypoint.sh kong docker-start
fi
exec /docker-entrypoint.sh kong docker-start
`;
