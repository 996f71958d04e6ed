/**
 * The server binaries of the embedded environment: Go builds made by scripts/envtest-assets.sh
 * on first use and cached outside the repository (~/.cache/supabase-reconciler/envtest).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Which binaries: see scripts/envtest-assets.sh. */
export type AssetPart =
  'kube' | 'controllers' | 'kwok' | 's3' | 'kubectl' | 'knative-crds' | 'jaeger';

/** The prefix of the script's own lines (what it builds, what to install), not Go's output. */
const SCRIPT_LINE_PREFIX = 'envtest-assets:';

/** Options of resolveAssets. */
export interface ResolveAssetsOptions {
  /**
   * Receives the script's own progress lines (`building ... (first run only; takes minutes)`,
   * `built ... in N s`) without their prefix; Go's output is dropped. When absent, everything
   * the script writes goes to this process's stderr.
   */
  readonly progress?: (line: string) => void;
  /** Ends a build in progress (the script is killed) and rejects. */
  readonly signal?: AbortSignal;
  /** Names what needs the binaries in the error message ("the test environment" by default). */
  readonly neededBy?: string;
}

/**
 * Finds (or builds, on the first run) the directory holding the binaries of one part of
 * the environment: `kube` (kube-apiserver, etcd), `controllers` (kube-controller-manager,
 * kube-scheduler), `kwok` (kwok and its stages), `s3` (versitygw), `kubectl`, or `knative-crds`
 * (the Knative CRDs deploy/ is dry-run against; files, not binaries).
 * @param repoRoot - the repository root, where scripts/envtest-assets.sh lives
 * @param part - which binaries
 * @param options - where progress goes, cancellation, the wording of the error
 * @returns the directory of the binaries
 * @throws Error whose message says what to install or set when they cannot be had
 */
export async function resolveAssets(
  repoRoot: string,
  part: AssetPart,
  options: ResolveAssetsOptions = {},
): Promise<string> {
  try {
    // The script may build for minutes on a first run; its progress goes to stderr.
    const child = run('bash', [join(repoRoot, 'scripts/envtest-assets.sh'), part], {
      maxBuffer: 1 << 20,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const { stderr } = child.child;
    const { progress } = options;
    if (stderr && progress) {
      createInterface({ input: stderr }).on('line', (line) => {
        if (line.startsWith(SCRIPT_LINE_PREFIX))
          progress(line.slice(SCRIPT_LINE_PREFIX.length).trim());
      });
    } else {
      stderr?.pipe(process.stderr);
    }
    const { stdout } = await child;
    return stdout.trim();
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const stderr = (error as { stderr?: string }).stderr ?? '';
    const advice = stderr
      .split('\n')
      .filter((line) => line.startsWith(SCRIPT_LINE_PREFIX))
      .map((line) => line.slice(SCRIPT_LINE_PREFIX.length).trim())
      .join(' ');
    throw new Error(
      `The ${part} binaries of ${options.neededBy ?? 'the test environment'} are not available. ${advice || String(error)}`,
      { cause: error },
    );
  }
}
