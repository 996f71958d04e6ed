/**
 * The objects deploy-components makes itself (the components' own objects come from the
 * builders of shared/components): the Secret `<project>-db-urls` and the Ingress to Kong.
 * Both are owned by the project, so they go with it.
 */
import { API_GROUP_VERSION, KIND } from '../../shared/api/group-version.ts';
import { componentResourceName } from '../../shared/api/resource-names.ts';
import type { Manifest } from '../../shared/components/types.ts';
import type { ObjectRef } from '../../shared/k8s/apply.ts';
import type { LiveProject } from '../../shared/reconcile/project-store.ts';
import { generatedSecretLabels } from '../../shared/secrets/names.ts';
import type { Sensitive } from '../../shared/secrets/sensitive.ts';
import { connectionUrlsSecretName, KONG_PROXY_PORT } from './inputs.ts';

/** The controller reference that makes the project own an object. */
export function ownerReferenceOf(project: LiveProject): Readonly<Record<string, unknown>> {
  return {
    apiVersion: API_GROUP_VERSION,
    kind: KIND,
    name: project.metadata.name,
    uid: project.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * The Secret `<project>-db-urls` (values base64-encoded as `data`: server-side apply of
 * `stringData` would never compare equal to what is stored, and so would write every time).
 * @param urls - key -> rendered URL
 */
export function connectionUrlsSecret(
  project: LiveProject,
  urls: ReadonlyMap<string, Sensitive>,
): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: connectionUrlsSecretName(project.metadata.name),
      namespace: project.metadata.namespace,
      labels: generatedSecretLabels(project.metadata.name),
      ownerReferences: [ownerReferenceOf(project)],
    },
    type: 'Opaque',
    data: Object.fromEntries(
      [...urls].map(([key, value]) => [
        key,
        Buffer.from(value.reveal(), 'utf8').toString('base64'),
      ]),
    ),
  };
}

/** Where the project's Ingress is (named as Kong's Service, which it routes to). */
export function ingressRef(project: LiveProject): ObjectRef {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    namespace: project.metadata.namespace,
    name: componentResourceName(project.metadata.name, 'kong'),
  };
}

/**
 * The Ingress of `spec.ingress` routing every path of `host` to Kong's proxy port, with the
 * class, annotations and TLS Secret the spec names; undefined when the Ingress is disabled.
 * @param kongPort - the port of Kong's Service to route to (its proxy port)
 */
export function ingressManifest(
  project: LiveProject,
  kongPort: number = KONG_PROXY_PORT,
): Manifest | undefined {
  const ingress = project.spec.ingress;
  if (!ingress?.enabled || !ingress.host) return undefined;
  const ref = ingressRef(project);
  const kong = componentResourceName(project.metadata.name, 'kong');
  return {
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    metadata: {
      name: ref.name,
      namespace: ref.namespace,
      labels: {
        'app.kubernetes.io/name': 'kong',
        'app.kubernetes.io/instance': project.metadata.name,
        'app.kubernetes.io/part-of': 'supabase',
        'app.kubernetes.io/managed-by': 'supabase-reconciler',
      },
      ...(ingress.annotations && Object.keys(ingress.annotations).length > 0
        ? { annotations: { ...ingress.annotations } }
        : {}),
      ownerReferences: [ownerReferenceOf(project)],
    },
    spec: {
      ...(ingress.className ? { ingressClassName: ingress.className } : {}),
      ...(ingress.tlsSecretName
        ? { tls: [{ hosts: [ingress.host], secretName: ingress.tlsSecretName }] }
        : {}),
      rules: [
        {
          host: ingress.host,
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: kong, port: { number: kongPort } } },
              },
            ],
          },
        },
      ],
    },
  };
}
