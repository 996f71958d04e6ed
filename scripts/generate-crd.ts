/**
 * `npm run generate:crd`: writes the SupabaseProject CRD generated from the TypeBox
 * schemas in shared/api/ to deploy/crd/.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { CRD_YAML_PATH, renderCrdYaml } from '../shared/api/crd-yaml.ts';

const target = fileURLToPath(new URL(`../${CRD_YAML_PATH}`, import.meta.url));
await writeFile(target, renderCrdYaml());
console.log(`wrote ${CRD_YAML_PATH}`);
