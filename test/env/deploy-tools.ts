/**
 * What the tests of deploy/ need besides the API server: `kubectl` (renders the kustomize
 * overlays, dry-runs them) and the Knative CRDs the overlays use. Both come from
 * scripts/envtest-assets.sh (parts `kubectl` and `knative-crds`), fetched only when a test asks
 * for them, and cached like the test binaries: a warm cache fetches nothing, a cold one builds
 * kubectl (minutes) and downloads the Knative modules with a progress line on stderr.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { resolveAssets, type AssetPart } from '../../shared/local/embedded/assets.ts';
import { kube, kubeConnection } from './clients.ts';
import { installCrd, type CrdManifest } from './crd.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');

const resolved = new Map<AssetPart, Promise<string>>();

/** The folder of one part, resolved once per test process; progress lines go to stderr. */
function assetDir(part: AssetPart, neededBy: string): Promise<string> {
  let dir = resolved.get(part);
  if (!dir) {
    dir = resolveAssets(repoRoot, part, {
      neededBy,
      progress: (line) => process.stderr.write(`envtest-assets: ${line}\n`),
    });
    resolved.set(part, dir);
  }
  return dir;
}

/** The output of a kubectl run. */
export interface KubectlResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** A kubectl run that exited non-zero: its output is kept for the assertion's message. */
export class KubectlError extends Error {
  override readonly name = 'KubectlError';
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  constructor(args: readonly string[], code: number | null, stdout: string, stderr: string) {
    super(`kubectl ${args.join(' ')} exited ${String(code)}:\n${stderr || stdout}`);
    this.code = code;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

/**
 * Runs kubectl (v1.36.3, the API server's release) against the test API server as the
 * administrator.
 * @param args - the arguments, e.g. `['kustomize', 'deploy/overlays/knative']`
 * @param input - written to its stdin (`-f -`)
 * @throws KubectlError with its output when it exits non-zero; Error when kubectl cannot be had
 */
export async function kubectl(args: readonly string[], input?: string): Promise<KubectlResult> {
  const bin = join(await assetDir('kubectl', 'the deploy manifests tests'), 'kubectl');
  const env = { ...process.env, KUBECONFIG: kubeConnection().kubeconfigPath };
  return new Promise((resolve, reject) => {
    const child = execFile(
      bin,
      [...args],
      { env, cwd: repoRoot, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        if (error) {
          const code = typeof error.code === 'number' ? error.code : null;
          reject(new KubectlError(args, code, stdout, stderr));
        } else resolve({ stdout, stderr });
      },
    );
    child.stdin?.end(input ?? '');
  });
}

/** The Knative CRDs of the knative-crds part (Serving's Service; Eventing's Broker, ...). */
export async function knativeCrds(): Promise<CrdManifest[]> {
  const dir = await assetDir('knative-crds', 'the deploy manifests tests');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
  const crds: CrdManifest[] = [];
  for (const file of files) {
    for (const document of parseAllDocuments(await readFile(join(dir, file), 'utf8'))) {
      const object = document.toJS() as CrdManifest | null;
      if (object?.kind === 'CustomResourceDefinition') crds.push(object);
    }
  }
  return crds;
}

/**
 * Installs the Knative CRDs into the test API server and waits until each is Established.
 * Idempotent and safe to race: a server-side apply with one field manager, as the
 * SupabaseProject CRD is installed (other test files may install them at the same time).
 */
export async function installKnativeCrds(timeoutMs = 60_000): Promise<void> {
  const crds = await knativeCrds();
  await Promise.all(crds.map((crd) => installCrd(kube().apiExtensions, crd, timeoutMs)));
}
