/**
 * The API server's service-account token issuer, as its OIDC discovery publishes it: the
 * issuer name and the keys that sign tokens (`/.well-known/openid-configuration`,
 * `/openid/v1/jwks`). Read with the function's own credentials (in a pod, its service
 * account: Kubernetes binds `system:service-account-issuer-discovery` to every service
 * account by default), so no anonymous access is needed.
 */
import type { JSONWebKeySet } from 'jose';
import { apiCall } from './api-call.ts';
import { loadClient, type KubeClientOptions } from './client.ts';

/** What verifying a service-account token needs from the API server. */
export interface ServiceAccountIssuer {
  /** The `iss` of the tokens the API server issues. */
  readonly issuer: string;
  readonly keys: JSONWebKeySet;
}

/**
 * Reads the issuer and its current keys.
 * @throws ReconcilerError translated from the API server's answer
 */
export async function readServiceAccountIssuer(
  options: KubeClientOptions = {},
): Promise<ServiceAccountIssuer> {
  const { k8s, kubeConfig } = await loadClient(options);
  const wellKnown = kubeConfig.makeApiClient(k8s.WellKnownApi);
  const openid = kubeConfig.makeApiClient(k8s.OpenidApi);
  const discovery = await apiCall(
    { verb: 'get', resource: 'openid-configuration', action: 'read the OIDC discovery document' },
    () => wellKnown.getServiceAccountIssuerOpenIDConfiguration(),
  );
  const keys = await apiCall(
    { verb: 'get', resource: 'jwks', action: "read the service-account issuer's keys" },
    () => openid.getServiceAccountIssuerOpenIDKeyset(),
  );
  const issuer = (parse(discovery) as { issuer?: unknown }).issuer;
  const keySet = parse(keys) as Partial<JSONWebKeySet>;
  if (typeof issuer !== 'string' || !Array.isArray(keySet.keys)) {
    throw new Error("the API server's OIDC discovery document or key set has an unexpected shape");
  }
  return { issuer, keys: { keys: keySet.keys } };
}

/** The generated client returns these documents as text or as parsed JSON, by version. */
function parse(value: unknown): unknown {
  return typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
}
