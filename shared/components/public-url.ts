/**
 * The URL clients reach a project's API gateway (Kong) at, and the URLs of the APIs behind
 * it. deploy-components gives the URL to the components (GoTrue's API_EXTERNAL_URL,
 * SITE_URL); health-aggregate reports the same URLs in `status.endpoints`, so both derive
 * them here, from the spec alone.
 */
import { componentResourceName } from '../api/resource-names.ts';
import { isComponentEnabled } from '../api/enabled-components.ts';
import type { Endpoints, SupabaseProjectSpec } from '../api/types.ts';
import { KONG_PROXY_PORT } from './ports.ts';

/** Where the public URL comes from, for status messages and the README. */
export type PublicUrlSource = 'studio.publicUrl' | 'ingress.host' | 'in-cluster';

/** What the URL is derived from: the project's name, namespace and spec. */
export interface PublicUrlProject {
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly spec: SupabaseProjectSpec;
}

/**
 * The URL clients reach Kong at: `studio.publicUrl`, else `https://<ingress.host>` when the
 * Ingress is enabled, else Kong's in-cluster Service URL. Never localhost: a browser or a
 * GoTrue e-mail link pointing at localhost reaches nothing.
 * @param project - the project
 */
export function publicUrlOf(project: PublicUrlProject): { url: string; source: PublicUrlSource } {
  const publicUrl = project.spec.studio?.publicUrl?.trim();
  if (publicUrl) return { url: publicUrl.replace(/\/+$/, ''), source: 'studio.publicUrl' };
  const ingress = project.spec.ingress;
  if (ingress?.enabled && ingress.host) {
    return { url: `https://${ingress.host}`, source: 'ingress.host' };
  }
  const kong = componentResourceName(project.metadata.name, 'kong');
  return {
    url: `http://${kong}.${project.metadata.namespace}.svc:${KONG_PROXY_PORT}`,
    source: 'in-cluster',
  };
}

/**
 * The project's URLs (`status.endpoints`): the gateway, the APIs Kong routes by path prefix
 * (shared/components/kong-config.ts), and Studio, which Kong serves at `/` (behind the
 * dashboard's basic auth) when it is enabled.
 * @param project - the project
 */
export function endpointsOf(project: PublicUrlProject): Endpoints {
  const { url } = publicUrlOf(project);
  return {
    api: url,
    auth: `${url}/auth/v1`,
    rest: `${url}/rest/v1`,
    realtime: `${url}/realtime/v1`,
    storage: `${url}/storage/v1`,
    ...(isComponentEnabled(project.spec, 'studio') ? { studio: `${url}/` } : {}),
  };
}
