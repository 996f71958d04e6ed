/**
 * Turns one reference operator SupabaseProject (`supabase.strrl.dev/v1alpha1`) into the
 * equivalent `supabase.reconciler.dev/v1alpha1` manifest, field by field, with a note for
 * each decision: what carries over as it is, what changes meaning here, what is dropped and
 * why, and what blocks the move until the user fixes it (a value this API refuses and no
 * translation can repair without guessing). Pure: no I/O.
 */
import {
  ADOPT_FROM_REFERENCE_OPERATOR,
  ADOPT_JWT_SECRET_ANNOTATION,
} from '../api/reference-operator.ts';
import { COMPONENTS, type ComponentName } from '../api/components.ts';
import { DEFAULT_IMAGES } from '../api/default-images.ts';
import { API_GROUP_VERSION, KIND } from '../api/group-version.ts';
import { OWNED_ENV } from '../api/owned-env.ts';
import { projectNameProblem } from '../api/resource-names.ts';
import { DNS_LABEL_PATTERN, IMAGE_REFERENCE_PATTERN } from '../api/schema/cel.ts';
import { REPLICAS } from '../api/schema/common.ts';
import { MAX_CONNECTIONS, PROJECT_ID_MAX_LENGTH, SSL_MODES } from '../api/schema/spec.ts';
import { generatedDashboardSecretName } from '../secrets/names.ts';
import { REFERENCE_DEFAULT_IMAGES, type ReferenceProject } from './reference.ts';

/** What happens to one field. */
export type NoteKind = 'carried' | 'changed' | 'dropped' | 'blocker';

/** One decision about one field. */
export interface MigrationNote {
  readonly kind: NoteKind;
  /** The field's path in the reference object, e.g. `spec.kong.image`. */
  readonly field: string;
  /** Why (empty for a plain carry). */
  readonly detail: string;
}

/** The manifest to apply: plain JSON. */
export interface ProjectManifest {
  readonly apiVersion: typeof API_GROUP_VERSION;
  readonly kind: typeof KIND;
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations: Readonly<Record<string, string>>;
  };
  readonly spec: Readonly<Record<string, unknown>>;
}

/** The translation of one reference project. */
export interface Translation {
  readonly namespace: string;
  readonly name: string;
  readonly manifest: ProjectManifest;
  readonly notes: readonly MigrationNote[];
  /** True when a blocker note stops `--apply` for this project. */
  readonly blocked: boolean;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Annotations never carried: kubectl's copy of the last applied reference manifest. */
const DROPPED_ANNOTATIONS = new Set(['kubectl.kubernetes.io/last-applied-configuration']);

/** The Secret reference fields of each component (the reference's names and ours). */
const COMPONENT_SECRET_REFS: Partial<Record<ComponentName, readonly string[]>> = {
  auth: ['smtpSecretRef', 'oauthSecretRef'],
  studio: ['dashboardBasicAuthSecretRef'],
};

/** The fields every component has in both APIs. */
const COMMON_COMPONENT_FIELDS = ['image', 'replicas', 'resources', 'extraEnv'];

/** Extra fields of a component in both APIs that are carried as they are. */
const PLAIN_COMPONENT_FIELDS: Partial<Record<ComponentName, readonly string[]>> = {
  studio: ['publicUrl'],
};

/** Collects notes while the manifest is built. */
class Notes {
  readonly list: MigrationNote[] = [];
  carried(field: string, detail = ''): void {
    this.list.push({ kind: 'carried', field, detail });
  }
  changed(field: string, detail: string): void {
    this.list.push({ kind: 'changed', field, detail });
  }
  dropped(field: string, detail: string): void {
    this.list.push({ kind: 'dropped', field, detail });
  }
  blocker(field: string, detail: string): void {
    this.list.push({ kind: 'blocker', field, detail });
  }
}

/**
 * A Secret reference: the name is carried; a namespace other than the project's is dropped
 * (the reference operator's pods read the Secret of that name from the project's namespace
 * anyway, and Secrets are read only from there here).
 */
function secretRef(
  value: unknown,
  field: string,
  namespace: string,
  notes: Notes,
): Json | undefined {
  if (!isObject(value) || typeof value.name !== 'string' || value.name === '') {
    notes.blocker(
      `${field}.name`,
      'empty or missing; name the Secret (the reference operator refuses this too)',
    );
    return undefined;
  }
  const ref: Json = { name: value.name };
  if (typeof value.namespace === 'string' && value.namespace !== '') {
    if (value.namespace === namespace) {
      ref.namespace = value.namespace;
    } else {
      notes.dropped(
        `${field}.namespace`,
        `"${value.namespace}" is not the project's namespace: Secrets are read only from "${namespace}" (the reference operator's pods also read "${value.name}" from there; it only looked the Secret up in "${value.namespace}"); make sure "${value.name}" exists in "${namespace}"`,
      );
    }
  }
  notes.carried(field);
  return ref;
}

function image(component: ComponentName, value: unknown, field: string, notes: Notes) {
  if (typeof value !== 'string') return undefined;
  if (value === REFERENCE_DEFAULT_IMAGES[component]) {
    notes.dropped(
      field,
      `"${value}" is the reference operator's default, which its webhook writes into every object; left unset, ${component} runs this reconciler's default (${DEFAULT_IMAGES[component]}) and follows its upgrades`,
    );
    return undefined;
  }
  if (!new RegExp(IMAGE_REFERENCE_PATTERN).test(value)) {
    notes.blocker(
      field,
      `"${value}" is not an image reference with a tag or a digest, which this API requires (for example kong/kong:3.9.1)`,
    );
    return undefined;
  }
  notes.carried(field);
  return value;
}

function replicas(value: unknown, field: string, notes: Notes): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    notes.blocker(field, `${JSON.stringify(value)} is not an integer`);
    return undefined;
  }
  if (value === 0) {
    notes.changed(
      field,
      '0 becomes 1: the reference operator runs 1 pod for 0 (it treats 0 as 1), while 0 scales the component to zero here; set 0 again to do that',
    );
    return 1;
  }
  if (value < REPLICAS.minimum || value > REPLICAS.maximum) {
    notes.blocker(
      field,
      `${String(value)} is outside ${String(REPLICAS.minimum)} to ${String(REPLICAS.maximum)}`,
    );
    return undefined;
  }
  notes.carried(field);
  return value;
}

function resources(value: unknown, field: string, notes: Notes): Json | undefined {
  if (!isObject(value)) return undefined;
  const out: Json = {};
  for (const [key, entry] of Object.entries(value)) {
    if ((key === 'limits' || key === 'requests') && isObject(entry)) {
      out[key] = entry;
      notes.carried(`${field}.${key}`);
    } else {
      notes.dropped(
        `${field}.${key}`,
        key === 'claims'
          ? 'resource claims (dynamic resource allocation) are not part of this API'
          : 'not part of this API',
      );
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** extraEnv: core/v1 EnvVars; owned variables and earlier duplicates are dropped. */
function extraEnv(
  component: ComponentName,
  value: unknown,
  field: string,
  notes: Notes,
): Json[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const owned: readonly string[] = OWNED_ENV[component];
  const kept = new Map<string, Json>();
  value.forEach((entry: unknown, index) => {
    const at = `${field}[${String(index)}]`;
    if (!isObject(entry) || typeof entry.name !== 'string') {
      notes.dropped(at, 'an entry without a name');
      return;
    }
    const { name } = entry;
    if (owned.includes(name)) {
      notes.dropped(
        `${at} (${name})`,
        `the reconciler sets ${name} for ${component} itself and refuses it in extraEnv (the reference operator appended it after its own, so this value used to win)`,
      );
      return;
    }
    if (kept.has(name)) {
      notes.dropped(
        `${field} (${name})`,
        `set more than once; the last entry is kept, as Kubernetes used it (this API allows one entry per name)`,
      );
    }
    const env: Json = { name };
    if (entry.value !== undefined) env.value = entry.value;
    if (entry.valueFrom !== undefined) env.valueFrom = entry.valueFrom;
    kept.delete(name);
    kept.set(name, env);
  });
  if (kept.size === 0) return undefined;
  notes.carried(field);
  return [...kept.values()];
}

function component(
  name: ComponentName,
  value: Json,
  namespace: string,
  projectName: string,
  notes: Notes,
): Json {
  const field = `spec.${name}`;
  const out: Json = {};
  const set = (key: string, v: unknown) => {
    if (v !== undefined) out[key] = v;
  };
  set('image', image(name, value.image, `${field}.image`, notes));
  set('replicas', replicas(value.replicas, `${field}.replicas`, notes));
  set('resources', resources(value.resources, `${field}.resources`, notes));
  set('extraEnv', extraEnv(name, value.extraEnv, `${field}.extraEnv`, notes));
  for (const key of COMPONENT_SECRET_REFS[name] ?? []) {
    if (value[key] !== undefined) {
      set(key, secretRef(value[key], `${field}.${key}`, namespace, notes));
    }
  }
  for (const key of PLAIN_COMPONENT_FIELDS[name] ?? []) {
    if (value[key] !== undefined) {
      out[key] = value[key];
      notes.carried(`${field}.${key}`);
    }
  }
  const known = new Set([
    ...COMMON_COMPONENT_FIELDS,
    ...(COMPONENT_SECRET_REFS[name] ?? []),
    ...(PLAIN_COMPONENT_FIELDS[name] ?? []),
  ]);
  for (const key of Object.keys(value)) {
    if (!known.has(key)) notes.dropped(`${field}.${key}`, 'not part of either API');
  }
  if (name === 'auth') {
    if (out.smtpSecretRef) {
      notes.changed(
        `${field}.smtpSecretRef`,
        'the reference operator ignored it; here Auth sends mail through it and no longer confirms sign-ups automatically',
      );
    }
    if (out.oauthSecretRef) {
      notes.changed(
        `${field}.oauthSecretRef`,
        'the reference operator ignored it; it is not supported here yet: validate-deps refuses it (AuthReady False, OAuthSecretRefUnsupported); remove it and configure providers with auth.extraEnv (GOTRUE_EXTERNAL_*)',
      );
    }
  }
  if (name === 'studio' && out.dashboardBasicAuthSecretRef === undefined) {
    notes.changed(
      `${field}.dashboardBasicAuthSecretRef`,
      `unset: the reference operator protected the dashboard with its fixed, published default credentials; here they are generated into the Secret ${generatedDashboardSecretName(projectName)} (keys username, password)`,
    );
  }
  return out;
}

function database(value: unknown, namespace: string, notes: Notes): Json {
  const src = isObject(value) ? value : {};
  const out: Json = {};
  const ref = secretRef(src.secretRef, 'spec.database.secretRef', namespace, notes);
  if (ref) out.secretRef = ref;
  if (src.sslMode !== undefined) {
    if ((SSL_MODES as readonly unknown[]).includes(src.sslMode)) {
      out.sslMode = src.sslMode;
      notes.carried('spec.database.sslMode');
    } else {
      notes.blocker(
        'spec.database.sslMode',
        `${JSON.stringify(src.sslMode)} is not a libpq sslmode (${SSL_MODES.join(', ')})`,
      );
    }
  }
  const max = src.maxConnections;
  if (max !== undefined) {
    if (
      typeof max === 'number' &&
      Number.isInteger(max) &&
      max >= MAX_CONNECTIONS.minimum &&
      max <= MAX_CONNECTIONS.maximum
    ) {
      out.maxConnections = max;
      notes.changed(
        'spec.database.maxConnections',
        `carried; the reference operator ignored it, here it is each component's connection pool size`,
      );
    } else {
      notes.blocker(
        'spec.database.maxConnections',
        `${JSON.stringify(max)} is not an integer from ${String(MAX_CONNECTIONS.minimum)} to ${String(MAX_CONNECTIONS.maximum)}`,
      );
    }
  }
  for (const key of Object.keys(src)) {
    if (!['secretRef', 'sslMode', 'maxConnections'].includes(key)) {
      notes.dropped(`spec.database.${key}`, 'not part of the reference API');
    }
  }
  return out;
}

function storage(value: unknown, namespace: string, notes: Notes): Json {
  const src = isObject(value) ? value : {};
  const out: Json = {};
  const ref = secretRef(src.secretRef, 'spec.storage.secretRef', namespace, notes);
  if (ref) out.secretRef = ref;
  if (typeof src.forcePathStyle === 'boolean') {
    out.forcePathStyle = src.forcePathStyle;
    if (src.forcePathStyle) notes.carried('spec.storage.forcePathStyle');
    else {
      notes.changed(
        'spec.storage.forcePathStyle',
        'false is carried: the reference operator ignored it and always used path-style addressing; here false means virtual-hosted style (set true to keep what ran)',
      );
    }
  }
  for (const key of Object.keys(src)) {
    if (!['secretRef', 'forcePathStyle'].includes(key)) {
      notes.dropped(`spec.storage.${key}`, 'not part of the reference API');
    }
  }
  return out;
}

function ingress(value: unknown, notes: Notes): Json | undefined {
  if (!isObject(value)) return undefined;
  const out: Json = {};
  for (const key of ['enabled', 'className', 'annotations', 'host', 'tlsSecretName']) {
    if (value[key] !== undefined) {
      out[key] = value[key];
      notes.carried(`spec.ingress.${key}`);
    }
  }
  if (out.enabled === true) {
    notes.changed(
      'spec.ingress.enabled',
      'the reference operator created no Ingress (its ingress fields were unused); here enabled: true creates one for the API gateway',
    );
    if (typeof out.host !== 'string') {
      notes.blocker('spec.ingress.host', 'required when ingress.enabled is true');
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Translates one reference project.
 * @param reference - the object as listed from the API server
 * @returns the manifest (always, for display) and the notes; `blocked` when it cannot be applied
 */
export function translateReferenceProject(reference: ReferenceProject): Translation {
  const notes = new Notes();
  const { name, namespace } = reference.metadata;
  const nameProblem = projectNameProblem(name);
  if (nameProblem) {
    notes.blocker(
      'metadata.name',
      `${nameProblem}; the name cannot change in a move (the Secret ${name}-jwt is adopted by name): recreate the project under a valid name instead`,
    );
  }
  const src = reference.spec ?? {};
  const spec: Json = {};
  const projectId = src.projectId;
  if (
    typeof projectId === 'string' &&
    projectId.length <= PROJECT_ID_MAX_LENGTH &&
    new RegExp(DNS_LABEL_PATTERN).test(projectId)
  ) {
    spec.projectId = projectId;
    notes.carried('spec.projectId');
  } else {
    notes.blocker(
      'spec.projectId',
      `${JSON.stringify(projectId)} is not a DNS label of at most ${String(PROJECT_ID_MAX_LENGTH)} characters`,
    );
  }
  spec.database = database(src.database, namespace, notes);
  spec.storage = storage(src.storage, namespace, notes);
  for (const c of COMPONENTS) {
    const value = src[c];
    if (isObject(value)) {
      const translated = component(c, value, namespace, name, notes);
      if (Object.keys(translated).length > 0) spec[c] = translated;
    } else if (c === 'studio') {
      component(c, {}, namespace, name, notes);
    }
  }
  const translatedIngress = ingress(src.ingress, notes);
  if (translatedIngress) spec.ingress = translatedIngress;
  const known = new Set(['projectId', 'database', 'storage', 'ingress', ...COMPONENTS]);
  for (const key of Object.keys(src)) {
    if (!known.has(key)) notes.dropped(`spec.${key}`, 'not part of either API');
  }
  if (reference.status !== undefined) {
    notes.dropped('status', 'written by the reconciler, not carried');
  }

  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(reference.metadata.annotations ?? {})) {
    if (!DROPPED_ANNOTATIONS.has(key)) annotations[key] = value;
  }
  annotations[ADOPT_JWT_SECRET_ANNOTATION] = ADOPT_FROM_REFERENCE_OPERATOR;
  notes.changed(
    `metadata.annotations["${ADOPT_JWT_SECRET_ANNOTATION}"]`,
    `set to "${ADOPT_FROM_REFERENCE_OPERATOR}": the reconciler adopts the Secret ${name}-jwt the reference operator made (same JWT secret; the anon and service_role keys are signed again, so clients need the new keys)`,
  );
  const labels = reference.metadata.labels;
  const manifest: ProjectManifest = {
    apiVersion: API_GROUP_VERSION,
    kind: KIND,
    metadata: {
      name,
      namespace,
      ...(labels && Object.keys(labels).length > 0 ? { labels: { ...labels } } : {}),
      annotations,
    },
    spec,
  };
  return {
    namespace,
    name,
    manifest,
    notes: notes.list,
    blocked: notes.list.some((n) => n.kind === 'blocker'),
  };
}
