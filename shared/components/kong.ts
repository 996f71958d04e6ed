/**
 * Kong: the API gateway, the project's one entry point (proxy 8000, TLS proxy 8443), running
 * DB-less from the declarative configuration in the ConfigMap `<project>-kong-config`
 * (kong-config.ts).
 *
 * Differences from the reference operator (facts §2.2, §12): no secret or user value in the
 * YAML text (gap 22, see kong-config.ts); the dashboard credentials always come from a Secret
 * (the generated one when the spec names none), never the literal insecure default; the
 * admin API listens on loopback only (the reference bound it to 0.0.0.0, so anything that
 * could reach the pod could replace the DB-less configuration through POST /config); startup
 * probe beside readiness and liveness; no Studio route, consumer or credentials when Studio
 * is disabled.
 */
import { auxiliaryResourceName } from '../api/resource-names.ts';
import { isComponentEnabled } from '../api/enabled-components.ts';
import { DASHBOARD_SECRET_KEYS } from '../secrets/names.ts';
import { assembleComponent, componentMetadata, execProbes } from './component.ts';
import { jwtEnv } from './env.ts';
import {
  KONG_CONFIG_KEYS,
  KONG_CONFIG_MOUNT,
  KONG_CONFIG_VARIABLES,
  KONG_ENTRYPOINT,
  KONG_RENDER_AWK,
  KONG_RENDERED_CONFIG,
  kongConfigYaml,
  kongDeclarativeConfig,
} from './kong-config.ts';
import { fromSecret, literal, type ConfigMapManifest } from './manifests.ts';
import type { BuildInputs, ComponentBuilder } from './types.ts';
import { KONG_PROXY_PORT, KONG_PROXY_SSL_PORT } from './ports.ts';

/** Kong's admin API, on loopback only: `kong health` and debugging from inside the pod. */
export const KONG_ADMIN_LISTEN = '127.0.0.1:8001';

/** Plugins Kong loads: those the declarative configuration uses, as upstream enables them. */
export const KONG_PLUGINS =
  'request-transformer,cors,key-auth,acl,basic-auth,request-termination,ip-restriction,post-function';

const CONFIG_VOLUME = 'kong-config';

/**
 * Builds Kong's Deployment, Service and the ConfigMap with its declarative configuration.
 * @param project - the project
 * @param inputs - resolved inputs (Secret names)
 */
export const buildKong: ComponentBuilder = (project, inputs: BuildInputs) => {
  const configMapName = auxiliaryResourceName(project.metadata.name, 'kongConfig');
  const configMap: ConfigMapManifest = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: componentMetadata(project, 'kong', configMapName),
    data: {
      [KONG_CONFIG_KEYS.template]: kongConfigYaml(kongDeclarativeConfig(project)),
      [KONG_CONFIG_KEYS.entrypoint]: KONG_ENTRYPOINT,
      [KONG_CONFIG_KEYS.renderer]: KONG_RENDER_AWK,
    },
  };
  const v = KONG_CONFIG_VARIABLES;
  const dashboard = isComponentEnabled(project.spec, 'studio')
    ? [
        fromSecret(v.dashboardUsername, inputs.secrets.dashboard, DASHBOARD_SECRET_KEYS.username),
        fromSecret(v.dashboardPassword, inputs.secrets.dashboard, DASHBOARD_SECRET_KEYS.password),
      ]
    : [];
  return assembleComponent(project, {
    component: 'kong',
    ports: [
      { name: 'proxy', port: KONG_PROXY_PORT, service: true },
      { name: 'proxy-ssl', port: KONG_PROXY_SSL_PORT, service: true },
    ],
    // facts §2.2: the reference operator probes with `kong health` (the kong CLI checks that
    // Kong's nginx runs under its prefix). DB-less Kong exits when the declarative
    // configuration does not load, so a healthy Kong has loaded it.
    probes: execProbes(['kong', 'health']),
    command: ['/bin/sh', `${KONG_CONFIG_MOUNT}/${KONG_CONFIG_KEYS.entrypoint}`],
    env: [
      literal('KONG_DATABASE', 'off'),
      literal('KONG_DECLARATIVE_CONFIG', KONG_RENDERED_CONFIG),
      literal('KONG_ROUTER_FLAVOR', 'expressions'),
      literal('KONG_PROXY_ACCESS_LOG', '/dev/stdout combined'),
      literal('KONG_ADMIN_ACCESS_LOG', '/dev/stdout'),
      literal('KONG_PROXY_ERROR_LOG', '/dev/stderr'),
      literal('KONG_ADMIN_ERROR_LOG', '/dev/stderr'),
      literal('KONG_ADMIN_LISTEN', KONG_ADMIN_LISTEN),
      literal('KONG_DNS_ORDER', 'LAST,A,CNAME'),
      literal('KONG_DNS_NOT_FOUND_TTL', '1'),
      literal('KONG_PLUGINS', KONG_PLUGINS),
      literal('KONG_NGINX_PROXY_PROXY_BUFFER_SIZE', '160k'),
      literal('KONG_NGINX_PROXY_PROXY_BUFFERS', '64 160k'),
      ...jwtEnv('kong', inputs.secrets.jwt),
      ...dashboard,
    ],
    volumes: [{ name: CONFIG_VOLUME, configMap: { name: configMapName } }],
    volumeMounts: [{ name: CONFIG_VOLUME, mountPath: KONG_CONFIG_MOUNT, readOnly: true }],
    configMaps: [configMap],
  });
};
