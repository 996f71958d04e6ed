/**
 * `supabase-reconciler migrate-from-strrl [--namespace <ns>]... [--apply]`: moves the
 * SupabaseProjects of the reference operator (`supabase.strrl.dev/v1alpha1`) over to this
 * reconciler's API.
 *
 * Without `--apply` (the default) it changes nothing: for each reference project it prints
 * the equivalent manifest as YAML, preceded by comments saying what carries over, what changes
 * meaning, what is dropped and why, and what blocks the move; when this reconciler's CRD is
 * installed, each manifest is also checked by a server-side dry-run apply. The output is a
 * valid multi-document YAML file. With `--apply` the manifests are server-side applied (field
 * manager {@link MIGRATE_FIELD_MANAGER}), each with the annotation asking the reconciler to
 * adopt the reference operator's `<project>-jwt` Secret. A second `--apply` changes nothing.
 *
 * Exit code: 0 when every project moved (or would move), 1 when one is blocked, refused or
 * left alone, or the reference CRD is not installed; 2 for bad arguments.
 */
import { stringify } from 'yaml';
import { CRD_NAME } from '../api/group-version.ts';
import { isNamespaceName } from '../k8s/names.ts';
import {
  REFERENCE_API_VERSION,
  REFERENCE_CRD_NAME,
  REFERENCE_KIND,
  type ReferenceProject,
} from './reference.ts';
import {
  translateReferenceProject,
  type MigrationNote,
  type ProjectManifest,
  type Translation,
} from './translate.ts';

/** The field manager of the projects the command applies. */
export const MIGRATE_FIELD_MANAGER = 'supabase-reconciler-migrate-from-strrl';

/** What a (dry-run) apply did. */
export type ApplyOutcome =
  | { readonly result: 'created' | 'updated' | 'unchanged' }
  | { readonly result: 'refused'; readonly message: string };

/** One of our projects as it exists already. */
export interface ExistingProject {
  /** The field managers of the object (metadata.managedFields). */
  readonly managers: readonly string[];
}

/** What the command needs of the cluster (kube.ts builds it from a kubeconfig). */
export interface MigrationCluster {
  /** Whether the reference operator's CRD is installed. */
  referenceCrdInstalled(): Promise<boolean>;
  /** Whether this reconciler's CRD is installed. */
  ourCrdInstalled(): Promise<boolean>;
  /** The reference projects of one namespace, or of all when none is given. */
  listReferenceProjects(namespace?: string): Promise<readonly ReferenceProject[]>;
  /** Our project of that name, if it exists. */
  existingProject(namespace: string, name: string): Promise<ExistingProject | undefined>;
  /** Server-side applies a manifest as MIGRATE_FIELD_MANAGER (dryRun: the server's dry run). */
  applyProject(manifest: ProjectManifest, dryRun: boolean): Promise<ApplyOutcome>;
  /**
   * The reference operator's objects of a project whose names this reconciler also uses
   * (`deployment/<p>-kong`, …): they stand in the way until deleted.
   */
  referenceObjectsInTheWay(namespace: string, name: string): Promise<readonly string[]>;
}

/** The command's options. */
export interface MigrateOptions {
  readonly apply: boolean;
  /** Only these namespaces; all when empty. */
  readonly namespaces: readonly string[];
}

/** Where the command writes. */
export interface MigrateIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const LABELS: Record<MigrationNote['kind'], string> = {
  carried: 'carried',
  changed: 'changed',
  dropped: 'dropped',
  blocker: 'BLOCKER',
};

/** The comment lines before a manifest. */
function describeTranslation(translation: Translation): string[] {
  const lines = [
    `# ${REFERENCE_API_VERSION} ${REFERENCE_KIND} ${translation.namespace}/${translation.name}`,
  ];
  const carried = translation.notes.filter((n) => n.kind === 'carried' && n.detail === '');
  if (carried.length > 0) {
    lines.push(`#   carried: ${carried.map((n) => n.field).join(', ')}`);
  }
  for (const note of translation.notes) {
    if (note.kind === 'carried' && note.detail === '') continue;
    lines.push(`#   ${LABELS[note.kind]}: ${note.field}: ${note.detail}`);
  }
  return lines;
}

/**
 * Runs the command against a cluster.
 * @param cluster - the cluster's operations
 * @param options - apply or not, which namespaces
 * @param io - where to write
 * @returns the exit code
 */
export async function migrateFromStrrl(
  cluster: MigrationCluster,
  options: MigrateOptions,
  io: MigrateIo,
): Promise<number> {
  const invalid = options.namespaces.find((ns) => !isNamespaceName(ns));
  if (invalid !== undefined) {
    io.err(`supabase-reconciler: --namespace "${invalid.slice(0, 100)}" is not a namespace name\n`);
    return 2;
  }
  if (!(await cluster.referenceCrdInstalled())) {
    io.err(
      `supabase-reconciler: the CRD ${REFERENCE_CRD_NAME} is not installed on this cluster, so there are no STRRL/supabase-operator projects to migrate (check the kubeconfig's cluster)\n`,
    );
    return 1;
  }
  const lists =
    options.namespaces.length > 0
      ? await Promise.all(options.namespaces.map((ns) => cluster.listReferenceProjects(ns)))
      : [await cluster.listReferenceProjects()];
  const projects = lists
    .flat()
    .sort((a, b) =>
      `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(
        `${b.metadata.namespace}/${b.metadata.name}`,
      ),
    );
  const where =
    options.namespaces.length > 0
      ? `namespace${options.namespaces.length > 1 ? 's' : ''} ${options.namespaces.join(', ')}`
      : 'all namespaces';
  const mode = options.apply ? 'apply' : 'dry run: nothing is changed; --apply applies';
  io.out(
    `# supabase-reconciler migrate-from-strrl (${mode}): ${String(projects.length)} ${REFERENCE_API_VERSION} SupabaseProject${projects.length === 1 ? '' : 's'} in ${where}\n`,
  );
  if (projects.length === 0) return 0;

  const ourCrd = await cluster.ourCrdInstalled();
  if (!ourCrd) {
    const message = `the CRD ${CRD_NAME} is not installed: install it first (kubectl apply -k deploy/crd)`;
    if (options.apply) {
      io.err(`supabase-reconciler: ${message}\n`);
      return 1;
    }
    io.out(`# ${message}; the manifests below were not checked by the API server\n`);
  }

  let failures = 0;
  for (const reference of projects) {
    const translation = translateReferenceProject(reference);
    const lines = describeTranslation(translation);
    const outcome = await settle(cluster, translation, options.apply, ourCrd);
    lines.push(`#   ${options.apply ? 'result' : 'check'}: ${outcome.line}`);
    if (!outcome.ok) failures += 1;
    const inTheWay = await cluster.referenceObjectsInTheWay(
      translation.namespace,
      translation.name,
    );
    if (inTheWay.length > 0) {
      lines.push(
        `#   in the way: the reference operator's ${inTheWay.join(', ')} have the names of this reconciler's objects; with the old operator stopped, delete them (the Secret ${translation.name}-jwt stays):`,
        `#     kubectl -n ${translation.namespace} delete ${inTheWay.join(' ')}`,
      );
    }
    io.out(`---\n${lines.join('\n')}\n${stringify(translation.manifest, { lineWidth: 0 })}`);
  }
  io.out(
    failures === 0
      ? `# ${options.apply ? 'applied' : 'ready to apply'}: ${String(projects.length)} of ${String(projects.length)}\n`
      : `# ${String(failures)} of ${String(projects.length)} cannot move as they are: see the BLOCKER and result lines above\n`,
  );
  return failures === 0 ? 0 : 1;
}

/** Applies (or dry-runs) one translation and says how it went. */
async function settle(
  cluster: MigrationCluster,
  translation: Translation,
  apply: boolean,
  ourCrd: boolean,
): Promise<{ readonly ok: boolean; readonly line: string }> {
  if (translation.blocked) {
    return { ok: false, line: 'not applied: fix the BLOCKER lines in the reference object first' };
  }
  if (!ourCrd) return { ok: true, line: 'not checked (no CRD)' };
  const existing = await cluster.existingProject(translation.namespace, translation.name);
  if (existing && !existing.managers.includes(MIGRATE_FIELD_MANAGER)) {
    return {
      ok: false,
      line: `left alone: ${CRD_NAME} ${translation.namespace}/${translation.name} exists already and was not made by this command`,
    };
  }
  const outcome = await cluster.applyProject(translation.manifest, !apply);
  if (outcome.result === 'refused') {
    return { ok: false, line: `refused by the API server: ${outcome.message}` };
  }
  if (!apply) {
    return {
      ok: true,
      line: `the API server accepts it (server-side dry run); --apply ${existing ? 'applies it again (made by this command before)' : 'creates it'}`,
    };
  }
  return { ok: true, line: outcome.result };
}
