/**
 * Bundles the echo function twice with esbuild, once per telemetry setup, into
 * .tmp/coldstart/. ESM output with a `require` shim: some dependencies are CommonJS
 * and require node builtins. Whitespace-only minification keeps function names, which
 * express's spans are named after.
 */
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');

/** The variants: output name → entry point. */
export const VARIANTS = {
  lean: join(root, 'test/fixtures/echo-function/index.ts'),
  nodesdk: join(here, 'nodesdk-entry.ts'),
} as const;

/** Builds every variant; returns output paths by variant. */
export async function buildBundles(): Promise<Record<keyof typeof VARIANTS, string>> {
  const out = {} as Record<keyof typeof VARIANTS, string>;
  for (const [name, entry] of Object.entries(VARIANTS) as [keyof typeof VARIANTS, string][]) {
    // Under .tmp/ (git-, lint- and prettier-ignored), not in the source tree.
    const outfile = join(root, '.tmp/coldstart', `${name}.mjs`);
    await build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      minifyWhitespace: true,
      legalComments: 'none',
      logLevel: 'warning',
      banner: {
        js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      },
    });
    out[name] = outfile;
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const outputs = await buildBundles();
  console.log(outputs);
}
