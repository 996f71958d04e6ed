/**
 * Files a process reads at run time (init-db's SQL migrations, the Trigger manifests the local
 * runtime routes by), found the same way from the sources and from `npm run build`'s output.
 *
 * The build (scripts/build.ts) bundles every entry point into one folder and copies each such
 * folder under it at the path it has in the repository. So paths are written relative to the
 * repository's root, and the root is: the repository, when this module runs as a TypeScript
 * source file (tsx, node's type stripping; it sits two folders down); the bundle's own folder,
 * when it runs bundled (esbuild keeps `import.meta.url`, which is then the bundle's URL).
 */

/** The root the paths of runtimeFile are relative to, for a module at `moduleUrl`. */
export function runtimeRoot(moduleUrl: string = import.meta.url): URL {
  return moduleUrl.endsWith('.ts') ? new URL('../../', moduleUrl) : new URL('./', moduleUrl);
}

/**
 * Where a file or folder that ships with the reconciler is, from the sources or the build.
 * @param path - relative to the repository's root, e.g. `shared/db/migrations/` (a folder
 *   ends with `/`)
 */
export function runtimeFile(path: string): URL {
  return new URL(path, runtimeRoot());
}
