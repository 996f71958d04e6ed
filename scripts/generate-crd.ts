/**
 * `npm run generate:crd`: writes the SupabaseProject CRD generated from the TypeBox
 * schemas in shared/api/ to deploy/crd/, and the admission policy refusing Secret references
 * to another namespace (one rule per Secret reference of those schemas) to deploy/admission/.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CRD_YAML_PATH,
  renderCrdYaml,
  renderSecretNamespacePolicyYaml,
  SECRET_NAMESPACE_POLICY_YAML_PATH,
} from '../shared/api/crd-yaml.ts';

for (const [path, render] of [
  [CRD_YAML_PATH, renderCrdYaml],
  [SECRET_NAMESPACE_POLICY_YAML_PATH, renderSecretNamespacePolicyYaml],
] as const) {
  const target = fileURLToPath(new URL(`../${path}`, import.meta.url));
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, render());
  console.log(`wrote ${path}`);
}
