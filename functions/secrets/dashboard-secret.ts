/**
 * The plan for the dashboard's basic-auth credentials (Kong's DASHBOARD_USERNAME and
 * DASHBOARD_PASSWORD). The reference operator falls back to a published password when the
 * spec names no Secret (facts §2.2, §4.3); here a random one is generated instead, in
 * `<project>-dashboard-basic-auth`, owned by the project. A Secret the spec names is the
 * user's: validate-deps checks it and this phase never touches it.
 */
import { isDeepStrictEqual } from 'node:util';
import { formatKey } from '../../shared/k8s/objects.ts';
import type { SecretObject } from '../../shared/k8s/secrets.ts';
import { ConflictError, PermanentError } from '../../shared/runtime/errors.ts';
import type { KeyGenerator } from '../../shared/secrets/generate.ts';
import {
  DASHBOARD_SECRET_KEYS,
  DEFAULT_DASHBOARD_USERNAME,
  generatedSecretLabels,
} from '../../shared/secrets/names.ts';
import { Sensitive } from '../../shared/secrets/sensitive.ts';
import type { SecretPlan } from './ensure-secret.ts';
import { ownershipOf, projectOwnerReference, type ProjectRef } from './ownership.ts';
import { REASON } from '../../shared/api/reasons.ts';

/** What the generated dashboard Secret is once the plan is carried out. */
export interface DashboardSecretState {
  readonly name: string;
  readonly managed: boolean;
}

/** The value each key gets when it is missing. */
function fresh(key: string, generator: KeyGenerator): Sensitive {
  return key === DASHBOARD_SECRET_KEYS.username
    ? new Sensitive(DEFAULT_DASHBOARD_USERNAME)
    : generator.generate('dashboardPassword');
}

/** Keys absent or blank. */
function missingKeys(data: ReadonlyMap<string, Sensitive>): string[] {
  return Object.values(DASHBOARD_SECRET_KEYS).filter((key) => {
    const value = data.get(key);
    return value === undefined || value.isBlank();
  });
}

/**
 * Plans the generated dashboard Secret.
 * @param existing - the Secret `<project>-dashboard-basic-auth` as just read, or undefined
 * @param context - the project and the generator
 * @param name - the Secret's name
 * @throws ConflictError when the Secret still belongs to a deleted project of the same name
 */
export function planDashboardSecret(
  existing: SecretObject | undefined,
  context: { readonly project: ProjectRef; readonly generator: KeyGenerator },
  name: string,
): Promise<SecretPlan<DashboardSecretState>> {
  const { project, generator } = context;
  const labels = generatedSecretLabels(project.key.name);
  if (!existing) {
    const data = Object.fromEntries(
      Object.values(DASHBOARD_SECRET_KEYS).map((key) => [key, fresh(key, generator)]),
    );
    return Promise.resolve({
      kind: 'create',
      draft: {
        key: { namespace: project.key.namespace, name },
        labels,
        ownerReferences: [projectOwnerReference(project)],
        type: 'Opaque',
        data,
      },
      changedKeys: Object.keys(data),
      result: { name, managed: true },
    });
  }
  const missing = missingKeys(existing.data);
  switch (ownershipOf(existing, project)) {
    case 'previousProject':
      throw new ConflictError(
        `Secret ${formatKey(existing.key)} still belongs to a deleted SupabaseProject of the same name; waiting for garbage collection`,
      );
    case 'foreign':
      return Promise.resolve(
        missing.length === 0
          ? { kind: 'keep', result: { name, managed: false } }
          : {
              kind: 'invalid',
              error: new PermanentError(
                REASON.InvalidDashboardSecret,
                `Secret ${formatKey(existing.key)} was not created by the reconciler, so it is used as it is and never changed, but it lacks ${missing.join(' and ')}. Add the keys, delete the Secret to let the reconciler generate one, or name your own Secret in spec.studio.dashboardBasicAuthSecretRef.`,
              ),
            },
      );
    case 'ours': {
      const merged = { ...existing.labels, ...labels };
      if (missing.length === 0 && isDeepStrictEqual(merged, existing.labels)) {
        return Promise.resolve({ kind: 'keep', result: { name, managed: true } });
      }
      const data = Object.fromEntries(existing.data);
      for (const key of missing) data[key] = fresh(key, generator);
      return Promise.resolve({
        kind: 'replace',
        draft: {
          key: existing.key,
          resourceVersion: existing.resourceVersion,
          labels: merged,
          annotations: existing.annotations,
          ownerReferences: existing.ownerReferences,
          type: existing.type,
          data,
        },
        changedKeys: missing,
        result: { name, managed: true },
      });
    }
  }
}
