/**
 * Bundles the echo function twice with esbuild, once per telemetry setup, into
 * .tmp/coldstart/, with the settings of the production build (scripts/build-options.ts: ESM,
 * a `require` shim, whitespace-only minification). One file per variant, no code splitting:
 * the echo function loads nothing on first use.
 */
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SHARED_BUILD_OPTIONS } from '../../scripts/build-options.ts';

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
    await build({ ...SHARED_BUILD_OPTIONS, entryPoints: [entry], outfile });
    out[name] = outfile;
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  const outputs = await buildBundles();
  console.log(outputs);
}
