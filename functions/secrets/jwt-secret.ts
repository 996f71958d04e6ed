/**
 * The plan for the Secret `<project>-jwt`:
 * - absent: generate every key and create it, owned by the project;
 * - ours: keep every good key, make only what is missing or broken (the API keys are
 *   re-signed only when they do not verify, or when the JWT secret is new), and rotate
 *   once per new value of the rotation annotation;
 * - the reference operator's (recognised exactly, shared/secrets/reference-operator.ts):
 *   adopted when the project carries the adoption annotation, else refused with a message
 *   naming it;
 * - a user's: check it and either use it as it is or report what is wrong; never write it.
 */
import { isDeepStrictEqual } from 'node:util';
import { formatKey } from '../../shared/k8s/objects.ts';
import {
  ADOPT_FROM_REFERENCE_OPERATOR,
  ADOPT_JWT_SECRET_ANNOTATION,
  REFERENCE_API_GROUP,
} from '../../shared/api/reference-operator.ts';
import type { SecretObject } from '../../shared/k8s/secrets.ts';
import { ConflictError, PermanentError } from '../../shared/runtime/errors.ts';
import { signApiKey, type ApiKeyPolicy } from '../../shared/secrets/api-keys.ts';
import type { GeneratedKind, KeyGenerator } from '../../shared/secrets/generate.ts';
import {
  ADOPTED_FROM_ANNOTATION,
  generatedSecretLabels,
  JWT_SECRET_KEYS,
  jwtSecretName,
  ROTATED_FOR_ANNOTATION,
  type JwtSecretKey,
} from '../../shared/secrets/names.ts';
import { isReferenceJwtSecret, referenceOwnerOf } from '../../shared/secrets/reference-operator.ts';
import type { Sensitive } from '../../shared/secrets/sensitive.ts';
import {
  API_KEY_ROLE_OF,
  describeKeyProblems,
  inspectJwtSecretData,
  SIGNED_KEYS,
} from '../../shared/secrets/validate.ts';
import type { SecretPlan } from './ensure-secret.ts';
import { ownershipOf, projectOwnerReference, type ProjectRef } from './ownership.ts';
import { REASON } from '../../shared/api/reasons.ts';

/** What the Secret `<project>-jwt` is once the plan is carried out (names, never values). */
export interface JwtSecretState {
  readonly name: string;
  /** Whether the reconciler manages it (generated and owned by the project). */
  readonly managed: boolean;
  /** The rotation request the Secret was last rotated (or created) for. */
  readonly rotatedFor?: string | undefined;
  /**
   * Whose Secret it was before the reconciler adopted it (the adoption annotation's value,
   * recorded on the Secret), until a rotation replaces every key.
   */
  readonly adoptedFrom?: string | undefined;
  /** True only for the run that adopts it (the one that records the Event). */
  readonly adoptedNow?: boolean;
}

/** What planning needs besides the Secret. */
export interface JwtPlanContext {
  readonly project: ProjectRef;
  readonly now: Date;
  readonly policy: ApiKeyPolicy;
  readonly generator: KeyGenerator;
}

/** Keys generated at random, with the kind of value each gets. */
const RANDOM_KEYS: readonly (readonly [JwtSecretKey, GeneratedKind])[] = [
  [JWT_SECRET_KEYS.pgMetaCryptoKey, 'pgMetaCryptoKey'],
  [JWT_SECRET_KEYS.realtimeSecretKeyBase, 'realtimeSecretKeyBase'],
  [JWT_SECRET_KEYS.realtimeDbEncKey, 'realtimeDbEncKey'],
];

/**
 * Plans the Secret `<project>-jwt`.
 * @param existing - the Secret as just read, or undefined
 * @param context - the project, the time, the key policy and the generator
 * @throws ConflictError when the Secret still belongs to a deleted project of the same name
 */
export async function planJwtSecret(
  existing: SecretObject | undefined,
  context: JwtPlanContext,
): Promise<SecretPlan<JwtSecretState>> {
  const { project } = context;
  const name = jwtSecretName(project.key.name);
  if (!existing) return planNew(name, context);
  switch (ownershipOf(existing, project)) {
    case 'ours':
      return planOwned(existing, context);
    case 'previousProject':
      // The API server's garbage collector removes it shortly; retrying then creates ours.
      throw new ConflictError(
        `Secret ${formatKey(existing.key)} still belongs to a deleted SupabaseProject of the same name; waiting for garbage collection`,
      );
    case 'foreign':
      if (await isReferenceJwtSecret(existing, project.key.name)) {
        return planReference(existing, context);
      }
      return planForeign(existing, context);
  }
}

async function planNew(
  name: string,
  { project, now, policy, generator }: JwtPlanContext,
): Promise<SecretPlan<JwtSecretState>> {
  const data = new Map<string, Sensitive>();
  const secret = generator.generate('jwtSecret');
  data.set(JWT_SECRET_KEYS.jwtSecret, secret);
  for (const key of SIGNED_KEYS) {
    data.set(key, await signApiKey(secret, API_KEY_ROLE_OF[key], now, policy.lifetimeSeconds));
  }
  for (const [key, kind] of RANDOM_KEYS) data.set(key, generator.generate(kind));
  // A Secret made after a rotation request already answers it: record that, so the
  // request does not rotate the brand-new secret on the next run.
  const annotations =
    project.rotationRequest === undefined
      ? {}
      : { [ROTATED_FOR_ANNOTATION]: project.rotationRequest };
  return {
    kind: 'create',
    draft: {
      key: { namespace: project.key.namespace, name },
      labels: generatedSecretLabels(project.key.name),
      annotations,
      ownerReferences: [projectOwnerReference(project)],
      type: 'Opaque',
      data: Object.fromEntries(data),
    },
    changedKeys: [...data.keys()],
    result: { name, managed: true, rotatedFor: project.rotationRequest },
  };
}

async function planOwned(
  existing: SecretObject,
  { project, now, policy, generator }: JwtPlanContext,
): Promise<SecretPlan<JwtSecretState>> {
  const data = new Map(existing.data);
  const changedKeys: string[] = [];
  const handled = existing.annotations[ROTATED_FOR_ANNOTATION];
  const request = project.rotationRequest;
  const rotate = request !== undefined && request !== handled;
  const problems = await inspectJwtSecretData(existing.data, now, policy);

  let secret = data.get(JWT_SECRET_KEYS.jwtSecret);
  const newSecret = rotate || !secret || problems.has(JWT_SECRET_KEYS.jwtSecret);
  if (newSecret || !secret) {
    secret = generator.generate('jwtSecret');
    data.set(JWT_SECRET_KEYS.jwtSecret, secret);
    changedKeys.push(JWT_SECRET_KEYS.jwtSecret);
  }
  for (const key of SIGNED_KEYS) {
    // A good key stays byte for byte: clients and Kong hold it.
    if (!newSecret && !problems.has(key)) continue;
    data.set(key, await signApiKey(secret, API_KEY_ROLE_OF[key], now, policy.lifetimeSeconds));
    changedKeys.push(key);
  }
  for (const [key, kind] of RANDOM_KEYS) {
    if (!problems.has(key)) continue;
    data.set(key, generator.generate(kind));
    changedKeys.push(key);
  }
  const labels = { ...existing.labels, ...generatedSecretLabels(project.key.name) };
  // A rotation replaces every key an adoption kept or re-signed: it is no longer news.
  const annotations = rotate
    ? withoutAdoption({ ...existing.annotations, [ROTATED_FOR_ANNOTATION]: request })
    : existing.annotations;
  const rotatedFor = rotate ? request : handled;
  const adoptedFrom = annotations[ADOPTED_FROM_ANNOTATION];
  const result: JwtSecretState = {
    name: existing.key.name,
    managed: true,
    rotatedFor,
    ...(adoptedFrom === undefined ? {} : { adoptedFrom }),
  };
  if (changedKeys.length === 0 && isDeepStrictEqual(labels, existing.labels)) {
    return { kind: 'keep', result };
  }
  return {
    kind: 'replace',
    draft: {
      key: existing.key,
      resourceVersion: existing.resourceVersion,
      labels,
      annotations,
      ownerReferences: existing.ownerReferences,
      type: existing.type,
      data: Object.fromEntries(data),
    },
    changedKeys,
    result,
  };
}

async function planForeign(
  existing: SecretObject,
  { now, policy }: JwtPlanContext,
): Promise<SecretPlan<JwtSecretState>> {
  const problems = await inspectJwtSecretData(existing.data, now, policy);
  if (problems.size === 0) {
    return {
      kind: 'keep',
      result: {
        name: existing.key.name,
        managed: false,
        rotatedFor: existing.annotations[ROTATED_FOR_ANNOTATION],
      },
    };
  }
  return {
    kind: 'invalid',
    error: new PermanentError(
      REASON.InvalidJwtSecret,
      `Secret ${formatKey(existing.key)} was not created by the reconciler, so it is used as it is and never changed, but it is not valid: ${describeKeyProblems(problems)}. Fix the Secret, or delete it to let the reconciler generate one.`,
    ),
  };
}

function withoutAdoption(annotations: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(annotations).filter(([key]) => key !== ADOPTED_FROM_ANNOTATION),
  );
}

/**
 * The reference operator's Secret: adopted when the project asks for it, else refused with
 * a message that says how to ask.
 */
async function planReference(
  existing: SecretObject,
  context: JwtPlanContext,
): Promise<SecretPlan<JwtSecretState>> {
  const request = context.project.adoptionRequest;
  if (request === ADOPT_FROM_REFERENCE_OPERATOR) return planAdoption(existing, context);
  const where = `Secret ${formatKey(existing.key)} was made by the reference operator (${REFERENCE_API_GROUP})`;
  const how = `annotate the project with ${ADOPT_JWT_SECRET_ANNOTATION}=${ADOPT_FROM_REFERENCE_OPERATOR} to adopt it (the JWT secret is kept, anon-key and service-role-key are re-signed with its text, which Supabase Auth uses, so clients need the new keys), or delete the Secret to let the reconciler generate a new one`;
  return {
    kind: 'invalid',
    error: new PermanentError(
      REASON.JwtSecretAdoptionRequired,
      request === undefined
        ? `${where}; its anon-key and service-role-key are signed with the base64-decoded jwt-secret, which Supabase Auth, Storage and Realtime reject. To move it over, ${how}`
        : `${where}, and the project's ${ADOPT_JWT_SECRET_ANNOTATION} is not "${ADOPT_FROM_REFERENCE_OPERATOR}", the only value it accepts; ${how}`,
    ),
  };
}

/**
 * Takes over the reference operator's Secret: the JWT secret and postgres-meta's crypto key
 * stay byte for byte; the API keys are signed again with the secret's text; Realtime's keys
 * are generated; the reference's owner reference gives way to the project's; the Secret
 * records where it came from. Written with the read resourceVersion, so a concurrent run
 * re-plans and finds it ours.
 */
async function planAdoption(
  existing: SecretObject,
  { project, now, policy, generator }: JwtPlanContext,
): Promise<SecretPlan<JwtSecretState>> {
  const data = new Map(existing.data);
  const secret = data.get(JWT_SECRET_KEYS.jwtSecret);
  if (!secret) throw new Error('a recognised reference Secret has a jwt-secret');
  const changedKeys: string[] = [];
  for (const key of SIGNED_KEYS) {
    data.set(key, await signApiKey(secret, API_KEY_ROLE_OF[key], now, policy.lifetimeSeconds));
    changedKeys.push(key);
  }
  for (const [key, kind] of RANDOM_KEYS) {
    if (data.has(key)) continue;
    data.set(key, generator.generate(kind));
    changedKeys.push(key);
  }
  const reference = referenceOwnerOf(existing, project.key.name);
  const from = ADOPT_FROM_REFERENCE_OPERATOR;
  return {
    kind: 'replace',
    draft: {
      key: existing.key,
      resourceVersion: existing.resourceVersion,
      labels: { ...existing.labels, ...generatedSecretLabels(project.key.name) },
      annotations: { ...existing.annotations, [ADOPTED_FROM_ANNOTATION]: from },
      ownerReferences: [
        ...existing.ownerReferences.filter((o) => o !== reference),
        projectOwnerReference(project),
      ],
      type: existing.type,
      data: Object.fromEntries(data),
    },
    changedKeys,
    result: {
      name: existing.key.name,
      managed: true,
      rotatedFor: existing.annotations[ROTATED_FOR_ANNOTATION],
      adoptedFrom: from,
      adoptedNow: true,
    },
  };
}
