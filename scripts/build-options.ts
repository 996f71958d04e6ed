/**
 * The esbuild settings every bundle of the project shares: `npm run build` (scripts/build.ts)
 * and the cold-start benchmark (bench/coldstart/build.ts), so the benchmark measures the form
 * that ships.
 *
 * - ESM for Node 24, every dependency bundled: the output needs no node_modules. What stays
 *   outside is node's builtins and the optional native add-ons that dependencies `require`
 *   inside try/catch and that are not installed (pg-native, ws's bufferutil/utf-8-validate):
 *   esbuild leaves those calls as they are, and they fail at run time as they would unbundled,
 *   into the dependency's pure-JavaScript path.
 * - A `require` made from `import.meta.url`: some dependencies are CommonJS and `require` node
 *   builtins, which an ESM bundle has no `require` for.
 * - Whitespace-only minification: full minification renames functions, and express's spans are
 *   named after its middleware functions (/work/shared/reference/stack-notes.md, "Which
 *   instrumentations survive bundling"). Nothing else changes names, so the http, express and
 *   pg instrumentations patch the bundled modules through their module definitions
 *   (shared/telemetry/instrumentations.ts) as they patch them unbundled.
 */
import type { BuildOptions } from 'esbuild';

/** Defines `require` in an ESM bundle, for the CommonJS dependencies inside it. */
export const REQUIRE_SHIM =
  "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);";

/** The options every bundle shares; callers add entry points, output and their own extras. */
export const SHARED_BUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  // ESM builds first: a CommonJS package imported with import() in a split bundle exposes only
  // `default` (found by test/build/build.test.ts: the S3 SDK's S3Client came out undefined),
  // whereas its ESM build keeps the named exports; ESM builds also tree-shake better.
  mainFields: ['module', 'main'],
  minifyWhitespace: true,
  legalComments: 'none',
  logLevel: 'warning',
  banner: { js: REQUIRE_SHIM },
} as const satisfies BuildOptions;
