/**
 * The rollout trigger: a pod-template annotation holding a SHA-256 of exactly what a
 * component consumes — its built pod template (without the annotation), the data of the
 * ConfigMaps it references and the values of the Secret keys it references. A change to any
 * of them changes the template, so the Deployment controller rolls that component, and only
 * that one. Values are hashed one by one before they are combined, so no secret value is ever
 * part of a string that could be logged; only the final hash leaves this module.
 */
import { createHash } from 'node:crypto';

/** The pod-template annotation carrying the hash. */
export const INPUTS_HASH_ANNOTATION = 'supabase.reconciler.dev/inputs-hash';

/** What a pod template reads from Secrets and ConfigMaps. */
export interface PodReferences {
  /** `secretKeyRef`s: Secret name and key. */
  readonly secretKeys: readonly { readonly name: string; readonly key: string }[];
  /** Secrets read whole (`envFrom`, volumes). */
  readonly secrets: readonly string[];
  /** ConfigMaps read (by key or whole): the whole data is hashed either way. */
  readonly configMaps: readonly string[];
}

type Json = Record<string, unknown>;

function asObject(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Json)
    : undefined;
}

function asArray(value: unknown): Json[] {
  return Array.isArray(value) ? value.map(asObject).filter((v): v is Json => v !== undefined) : [];
}

function nameOf(value: unknown): string | undefined {
  const name = asObject(value)?.name;
  return typeof name === 'string' ? name : undefined;
}

/**
 * Every Secret and ConfigMap a pod template references: containers' and init containers'
 * `env[].valueFrom`, `envFrom`, and the `secret`, `configMap` and `projected` volumes.
 * @param template - a Deployment's `spec.template`
 */
export function podReferences(template: unknown): PodReferences {
  const spec = asObject(asObject(template)?.spec) ?? {};
  const secretKeys = new Map<string, { name: string; key: string }>();
  const secrets = new Set<string>();
  const configMaps = new Set<string>();
  for (const container of [...asArray(spec.containers), ...asArray(spec.initContainers)]) {
    for (const env of asArray(container.env)) {
      const from = asObject(env.valueFrom);
      const secretRef = asObject(from?.secretKeyRef);
      const name = nameOf(secretRef);
      if (name !== undefined && typeof secretRef?.key === 'string') {
        secretKeys.set(`${name}\u0000${secretRef.key}`, { name, key: secretRef.key });
      }
      const configMap = nameOf(from?.configMapKeyRef);
      if (configMap !== undefined) configMaps.add(configMap);
    }
    for (const source of asArray(container.envFrom)) {
      const secret = nameOf(source.secretRef);
      if (secret !== undefined) secrets.add(secret);
      const configMap = nameOf(source.configMapRef);
      if (configMap !== undefined) configMaps.add(configMap);
    }
  }
  for (const volume of asArray(spec.volumes)) {
    const secretName = asObject(volume.secret)?.secretName;
    if (typeof secretName === 'string') secrets.add(secretName);
    const configMap = nameOf(volume.configMap);
    if (configMap !== undefined) configMaps.add(configMap);
    for (const source of asArray(asObject(volume.projected)?.sources)) {
      const secret = nameOf(source.secret);
      if (secret !== undefined) secrets.add(secret);
      const projected = nameOf(source.configMap);
      if (projected !== undefined) configMaps.add(projected);
    }
  }
  const byName = (a: string, b: string) => a.localeCompare(b);
  return {
    secretKeys: [...secretKeys.values()].sort(
      (a, b) => byName(a.name, b.name) || byName(a.key, b.key),
    ),
    secrets: [...secrets].sort(byName),
    configMaps: [...configMaps].sort(byName),
  };
}

/** JSON with object keys sorted, so equal values always give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const object = asObject(value);
  if (object) {
    const entries = Object.keys(object)
      .filter((key) => object[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key])}`);
    return `{${entries.join(',')}}`;
  }
  return value === undefined ? 'null' : JSON.stringify(value);
}

/** SHA-256, hex. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A value as it enters the hash: its own SHA-256, or `absent`. */
export type HashedValue = string;

/** What a component consumes, values already hashed one by one. */
export interface ConsumedInputs {
  /** `name/key` -> hashed value of each referenced Secret key. */
  readonly secretKeys: Readonly<Record<string, HashedValue>>;
  /** Secret name -> hashed canonical data of each Secret read whole. */
  readonly secrets: Readonly<Record<string, HashedValue>>;
  /** ConfigMap name -> hashed canonical data of each referenced ConfigMap. */
  readonly configMaps: Readonly<Record<string, HashedValue>>;
}

/** A pod template without the hash annotation (what the hash covers). */
export function withoutHashAnnotation(template: unknown): unknown {
  const copy = structuredClone(asObject(template) ?? {});
  const metadata = asObject(copy.metadata);
  const annotations = asObject(metadata?.annotations);
  if (metadata && annotations) {
    const rest = Object.fromEntries(
      Object.entries(annotations).filter(([key]) => key !== INPUTS_HASH_ANNOTATION),
    );
    if (Object.keys(rest).length === 0) delete metadata.annotations;
    else metadata.annotations = rest;
  }
  return copy;
}

/**
 * The inputs hash of one component.
 * @param template - its built pod template
 * @param consumed - the hashed values of what the template references
 */
export function inputsHash(template: unknown, consumed: ConsumedInputs): string {
  return sha256(canonicalJson({ template: withoutHashAnnotation(template), consumed }));
}

/**
 * A Deployment manifest with the hash annotation set on its pod template (a copy).
 * @param deployment - the built Deployment
 * @param hash - inputsHash of its template
 */
export function withInputsHash<T extends object>(deployment: T, hash: string): T {
  const copy = structuredClone(deployment) as unknown as Json;
  const spec = asObject(copy.spec) ?? {};
  const template = asObject(spec.template) ?? {};
  const metadata = asObject(template.metadata) ?? {};
  metadata.annotations = { ...asObject(metadata.annotations), [INPUTS_HASH_ANNOTATION]: hash };
  template.metadata = metadata;
  spec.template = template;
  copy.spec = spec;
  return copy as unknown as T;
}
